"""``geometry_msgs``: every plain, Stamped and WithCovariance flavour.

The flavours of one type collapse into one ontology model, as in the SDK: the
adapter unwraps the nested ``pose``/``twist``/``accel``/... field, puts a Stamped
header on the top-level model and a WithCovariance matrix on the model's own
``covariance`` (only when an element is > 0). Going back, each topic returns to
the flavour recorded in ``_ros_.msgtype``; a dropped covariance comes back as
zeros and a missing header as stamp 0 / frame ``''``.

``TransformStamped.child_frame_id`` becomes ``target_frame_id`` only when
non-empty (SDK convention; an empty child frame is stored as null).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import numpy as np

from mosaico_ros.adapters import columns, rows
from mosaico_ros.adapters.errors import AdapterError
from mosaico_ros.adapters.registry import RosAdapter, normalize_msgtype, register_adapter
from mosaico_ros.ontology import (
    Acceleration,
    ForceTorque,
    Inertia,
    Point3d,
    Polygon,
    Pose,
    Quaternion,
    Transform,
    Vector3d,
    Velocity,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pyarrow as pa
    from numpy.typing import NDArray
    from rosbags.typesys.store import Typestore

XYZ = ('x', 'y', 'z')
XYZW = ('x', 'y', 'z', 'w')


# -- ROS -> Arrow building blocks, shared with the other message packages ---------------------


def vector_array(
    objs: Sequence[Any],
    stype: pa.StructType,
    keys: Sequence[str] = XYZ,
    *,
    covariances: Sequence[Any] | NDArray[np.float64] | None = None,
    covariance_types: Sequence[int] | None = None,
    valid: NDArray[np.bool_] | None = None,
) -> pa.StructArray:
    """Vector3d/Point3d/Quaternion structs from ROS objects with `keys` attributes.

    Args:
        objs: ROS objects (Vector3, Point, Point32, Quaternion, ...).
        stype: Ontology struct type.
        keys: Component attributes, in order.
        covariances: Per-row ROS covariance arrays (kept only if an element > 0).
        covariance_types: Per-row ``covariance_type``, set where the covariance is kept.
        valid: Row validity.

    Returns:
        The struct array (``header`` null).

    """
    children: dict[str, Any] = {key: columns.pluck(objs, key) for key in keys}
    if covariances is not None:
        cov = columns.covariance_array(covariances, stype.field('covariance').type)
        children['covariance'] = cov
        if covariance_types is not None:
            kept = rows.valid(cov)
            children['covariance_type'] = [
                value if keep else None for value, keep in zip(covariance_types, kept, strict=True)
            ]
    return columns.struct_array(stype, len(objs), children, valid)


def pose_array(
    poses: Sequence[Any],
    stype: pa.StructType,
    covariances: Sequence[Any] | None = None,
    headers: Sequence[Any] | None = None,
) -> pa.StructArray:
    """Pose structs from ROS ``Pose`` objects."""
    children: dict[str, Any] = {
        'position': vector_array(
            columns.pluck(poses, 'position'), columns.child_type(stype, 'position')
        ),
        'orientation': vector_array(
            columns.pluck(poses, 'orientation'), columns.child_type(stype, 'orientation'), XYZW
        ),
    }
    if covariances is not None:
        children['covariance'] = columns.covariance_array(
            covariances, columns.child_type(stype, 'covariance')
        )
    if headers is not None:
        children['header'] = columns.header_array(headers, columns.child_type(stype, 'header'))
    return columns.struct_array(stype, len(poses), children)


def twist_array(
    twists: Sequence[Any],
    stype: pa.StructType,
    covariances: Sequence[Any] | None = None,
) -> pa.StructArray:
    """Velocity/Acceleration structs from ROS ``Twist``/``Accel`` objects."""
    children: dict[str, Any] = {
        'linear': vector_array(
            columns.pluck(twists, 'linear'), columns.child_type(stype, 'linear')
        ),
        'angular': vector_array(
            columns.pluck(twists, 'angular'), columns.child_type(stype, 'angular')
        ),
    }
    if covariances is not None:
        children['covariance'] = columns.covariance_array(
            covariances, columns.child_type(stype, 'covariance')
        )
    return columns.struct_array(stype, len(twists), children)


def transform_array(
    transforms: Sequence[Any],
    stype: pa.StructType,
    headers: Sequence[Any] | None = None,
    child_frames: Sequence[str] | None = None,
) -> pa.StructArray:
    """Transform structs from ROS ``Transform`` objects (+ Stamped header/child frame)."""
    children: dict[str, Any] = {
        'translation': vector_array(
            columns.pluck(transforms, 'translation'), columns.child_type(stype, 'translation')
        ),
        'rotation': vector_array(
            columns.pluck(transforms, 'rotation'), columns.child_type(stype, 'rotation'), XYZW
        ),
    }
    if headers is not None:
        children['header'] = columns.header_array(headers, columns.child_type(stype, 'header'))
    if child_frames is not None:
        children['target_frame_id'] = [frame or None for frame in child_frames]
    return columns.struct_array(stype, len(transforms), children)


# -- Arrow -> ROS building blocks: leaf path -> values, for RosFactory.assemble ---------------


def vector_values(
    arr: pa.Array,
    prefix: str,
    keys: Sequence[str] = XYZ,
    mask: NDArray[np.bool_] | None = None,
    fill: float = 0.0,
) -> dict[str, list[Any]]:
    """``{prefix.key: values}`` of a vector/point/quaternion struct column."""
    ok = rows.valid(arr) if mask is None else rows.valid(arr) & mask
    return {f'{prefix}{key}': rows.numbers(arr.field(key), fill, ok) for key in keys}


def covariance_values(
    arr: pa.Array,
    size: int,
    mask: NDArray[np.bool_] | None = None,
    fill: float = 0.0,
) -> list[NDArray[np.float64]]:
    """Per-row covariance arrays; null => `size` elements of `fill`."""
    return rows.arrays(arr, np.float64, size, fill, mask)


def pose_values(
    arr: pa.Array,
    prefix: str,
    mask: NDArray[np.bool_] | None = None,
) -> dict[str, list[Any]]:
    """Leaf values of a Pose struct column, as a ROS ``Pose`` at `prefix`."""
    ok = rows.valid(arr) if mask is None else rows.valid(arr) & mask
    return {
        **vector_values(arr.field('position'), f'{prefix}position.', XYZ, ok),
        **vector_values(arr.field('orientation'), f'{prefix}orientation.', XYZW, ok),
    }


def twist_values(
    arr: pa.Array,
    prefix: str,
    mask: NDArray[np.bool_] | None = None,
) -> dict[str, list[Any]]:
    """Leaf values of a Velocity/Acceleration struct column, as a ROS Twist/Accel."""
    ok = rows.valid(arr) if mask is None else rows.valid(arr) & mask
    return {
        **vector_values(arr.field('linear'), f'{prefix}linear.', XYZ, ok),
        **vector_values(arr.field('angular'), f'{prefix}angular.', XYZ, ok),
    }


def transform_values(
    arr: pa.Array,
    prefix: str,
    mask: NDArray[np.bool_] | None = None,
) -> dict[str, list[Any]]:
    """Leaf values of a Transform struct column, as a ROS ``Transform`` at `prefix`."""
    ok = rows.valid(arr) if mask is None else rows.valid(arr) & mask
    return {
        **vector_values(arr.field('translation'), f'{prefix}translation.', XYZ, ok),
        **vector_values(arr.field('rotation'), f'{prefix}rotation.', XYZW, ok),
    }


# -- Flavoured adapters ------------------------------------------------------------------------


class Flavour(NamedTuple):
    """Where a ROS flavour keeps its parts (dotted paths, None = absent)."""

    header: str | None
    body: str
    covariance: str | None = None


def _prefixed(body: str) -> str:
    return f'{body}.' if body else ''


class FlavouredAdapter(RosAdapter):
    """Base of adapters whose ROS types are plain/Stamped/WithCovariance flavours."""

    flavours: ClassVar[dict[str, Flavour]]
    covariance_size: ClassVar[int] = 36

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if 'flavours' in cls.__dict__:
            cls.ros_types = tuple(cls.flavours)

    def flavour(self, msgtype: str) -> Flavour:
        """Return the flavour of `msgtype`.

        Raises:
            AdapterError: The type is not handled.

        """
        try:
            return self.flavours[normalize_msgtype(msgtype)]
        except KeyError:
            raise AdapterError(f'{type(self).__name__} does not handle {msgtype}') from None

    def body_columns(self, bodies: Sequence[Any]) -> dict[str, Any]:
        """Model columns built from the unwrapped ROS bodies."""
        raise NotImplementedError

    def body_values(self, arr: pa.StructArray, prefix: str) -> dict[str, list[Any]]:
        """ROS leaf values (paths below `prefix`) from the model rows."""
        raise NotImplementedError

    def to_arrow(self, msgs: Sequence[Any], msgtype: str) -> pa.StructArray:
        """Unwrap the flavour, then build the model columns."""
        flavour = self.flavour(msgtype)
        stype = self.struct_type
        bodies = columns.pluck(msgs, flavour.body) if flavour.body else list(msgs)
        children = self.body_columns(bodies)
        if flavour.header:
            children['header'] = columns.header_array(
                columns.pluck(msgs, flavour.header), columns.child_type(stype, 'header')
            )
        if flavour.covariance:
            children['covariance'] = columns.covariance_array(
                columns.pluck(msgs, flavour.covariance), columns.child_type(stype, 'covariance')
            )
        return columns.struct_array(stype, len(msgs), children)

    def from_arrow(self, data: Any, msgtype: str, typestore: Typestore) -> list[Any]:
        """Rebuild the flavour named by `msgtype` (default: the plain type)."""
        arr = rows.as_struct(data)
        target = self.target_msgtype(msgtype)
        flavour = self.flavour(target)
        factory = rows.RosFactory(typestore)
        values = self.body_values(arr, _prefixed(flavour.body))
        if flavour.header:
            values[flavour.header] = factory.headers(arr.field('header'), len(arr))
        if flavour.covariance:
            values[flavour.covariance] = covariance_values(
                arr.field('covariance'), self.covariance_size
            )
        return factory.assemble(target, values, len(arr))


def _flavours(
    pkg_name: str, body: str, *, stamped: bool = True, covariance: bool = False
) -> dict[str, Flavour]:
    base = f'geometry_msgs/msg/{pkg_name}'
    out = {base: Flavour(None, '')}
    if stamped:
        out[f'{base}Stamped'] = Flavour('header', body)
    if covariance:
        out[f'{base}WithCovariance'] = Flavour(None, body, 'covariance')
        out[f'{base}WithCovarianceStamped'] = Flavour(
            'header', f'{body}.{body}', f'{body}.covariance'
        )
    return out


class _VectorLike(FlavouredAdapter):
    keys: ClassVar[tuple[str, ...]] = XYZ

    def body_columns(self, bodies: Sequence[Any]) -> dict[str, Any]:
        return {key: columns.pluck(bodies, key) for key in self.keys}

    def body_values(self, arr: pa.StructArray, prefix: str) -> dict[str, list[Any]]:
        return vector_values(arr, prefix, self.keys)


@register_adapter
class Vector3Adapter(_VectorLike):
    """``Vector3[Stamped]`` <-> ``Vector3d``."""

    model = Vector3d
    flavours = _flavours('Vector3', 'vector')


@register_adapter
class PointAdapter(_VectorLike):
    """``Point[Stamped]`` <-> ``Point3d``."""

    model = Point3d
    flavours = _flavours('Point', 'point')


@register_adapter
class QuaternionAdapter(_VectorLike):
    """``Quaternion[Stamped]`` <-> ``Quaternion``."""

    model = Quaternion
    keys = XYZW
    flavours = _flavours('Quaternion', 'quaternion')


@register_adapter
class PoseAdapter(FlavouredAdapter):
    """``Pose[Stamped|WithCovariance|WithCovarianceStamped]`` <-> ``Pose``."""

    model = Pose
    flavours = _flavours('Pose', 'pose', covariance=True)

    def body_columns(self, bodies: Sequence[Any]) -> dict[str, Any]:
        """Position and orientation."""
        pose = pose_array(bodies, self.struct_type)
        return {'position': pose.field('position'), 'orientation': pose.field('orientation')}

    def body_values(self, arr: pa.StructArray, prefix: str) -> dict[str, list[Any]]:
        """ROS ``Pose`` leaves."""
        return pose_values(arr, prefix)


class _TwistLike(FlavouredAdapter):
    def body_columns(self, bodies: Sequence[Any]) -> dict[str, Any]:
        twist = twist_array(bodies, self.struct_type)
        return {'linear': twist.field('linear'), 'angular': twist.field('angular')}

    def body_values(self, arr: pa.StructArray, prefix: str) -> dict[str, list[Any]]:
        return twist_values(arr, prefix)


@register_adapter
class TwistAdapter(_TwistLike):
    """``Twist[Stamped|WithCovariance|WithCovarianceStamped]`` <-> ``Velocity``."""

    model = Velocity
    flavours = _flavours('Twist', 'twist', covariance=True)


@register_adapter
class AccelAdapter(_TwistLike):
    """``Accel[Stamped|WithCovariance|WithCovarianceStamped]`` <-> ``Acceleration``."""

    model = Acceleration
    flavours = _flavours('Accel', 'accel', covariance=True)


@register_adapter
class WrenchAdapter(FlavouredAdapter):
    """``Wrench[Stamped]`` <-> ``ForceTorque``."""

    model = ForceTorque
    flavours = _flavours('Wrench', 'wrench')

    def body_columns(self, bodies: Sequence[Any]) -> dict[str, Any]:
        """Force and torque vectors."""
        return {
            name: vector_array(
                columns.pluck(bodies, name), columns.child_type(self.struct_type, name)
            )
            for name in ('force', 'torque')
        }

    def body_values(self, arr: pa.StructArray, prefix: str) -> dict[str, list[Any]]:
        """ROS ``Wrench`` leaves."""
        return {
            **vector_values(arr.field('force'), f'{prefix}force.'),
            **vector_values(arr.field('torque'), f'{prefix}torque.'),
        }


INERTIA_KEYS = ('ixx', 'ixy', 'ixz', 'iyy', 'iyz', 'izz')


@register_adapter
class InertiaAdapter(FlavouredAdapter):
    """``Inertia[Stamped]`` <-> ``Inertia`` (``m``, ``com``, six tensor elements)."""

    model = Inertia
    flavours = _flavours('Inertia', 'inertia')

    def body_columns(self, bodies: Sequence[Any]) -> dict[str, Any]:
        """Mass, centre of mass and ``[ixx, ixy, ixz, iyy, iyz, izz]``."""
        tensor = (
            np.column_stack(
                [np.asarray(columns.pluck(bodies, key), np.float64) for key in INERTIA_KEYS]
            )
            if bodies
            else np.empty((0, 6))
        )
        return {
            'mass': columns.pluck(bodies, 'm'),
            'center_of_mass': vector_array(
                columns.pluck(bodies, 'com'), columns.child_type(self.struct_type, 'center_of_mass')
            ),
            'inertia': columns.fixed_list_array(
                list(tensor), columns.child_type(self.struct_type, 'inertia')
            ),
        }

    def body_values(self, arr: pa.StructArray, prefix: str) -> dict[str, list[Any]]:
        """ROS ``Inertia`` leaves."""
        tensor = rows.arrays(arr.field('inertia'), np.float64, 6)
        stacked = np.stack(tensor) if tensor else np.empty((0, 6))
        values = {f'{prefix}{key}': stacked[:, i].tolist() for i, key in enumerate(INERTIA_KEYS)}
        values[f'{prefix}m'] = rows.numbers(arr.field('mass'))
        values.update(vector_values(arr.field('center_of_mass'), f'{prefix}com.'))
        return values


@register_adapter
class PolygonAdapter(FlavouredAdapter):
    """``Polygon[Stamped]`` <-> ``Polygon`` (Point32 float32 -> Point3d float64)."""

    model = Polygon
    flavours = _flavours('Polygon', 'polygon')

    def body_columns(self, bodies: Sequence[Any]) -> dict[str, Any]:
        """Build the point list."""
        return {
            'points': columns.nested_list_array(
                columns.pluck(bodies, 'points'),
                columns.child_type(self.struct_type, 'points'),
                vector_array,
            )
        }

    def body_values(self, arr: pa.StructArray, prefix: str) -> dict[str, list[Any]]:
        """ROS ``Polygon.points`` as Point32 objects."""
        raise NotImplementedError

    def from_arrow(self, data: Any, msgtype: str, typestore: Typestore) -> list[Any]:
        """Rebuild polygons; points are nested messages, so they are built first."""
        arr = rows.as_struct(data)
        target = self.target_msgtype(msgtype)
        flavour = self.flavour(target)
        factory = rows.RosFactory(typestore)
        points = point_lists(arr.field('points'), factory, 'geometry_msgs/msg/Point32')
        values: dict[str, list[Any]] = {f'{_prefixed(flavour.body)}points': points}
        if flavour.header:
            values[flavour.header] = factory.headers(arr.field('header'), len(arr))
        return factory.assemble(target, values, len(arr))


def point_lists(arr: pa.Array, factory: rows.RosFactory, msgtype: str) -> list[list[Any]]:
    """Per-row lists of ROS points from a ``list<Point3d>`` column."""
    parts = rows.list_parts(arr)
    flat = parts.values
    return parts.split(factory.assemble(msgtype, vector_values(flat, ''), len(flat)))


@register_adapter
class TransformAdapter(FlavouredAdapter):
    """``Transform[Stamped]`` <-> ``Transform`` (child frame -> ``target_frame_id``)."""

    model = Transform
    flavours = _flavours('Transform', 'transform')

    def body_columns(self, bodies: Sequence[Any]) -> dict[str, Any]:
        """Build translation and rotation."""
        built = transform_array(bodies, self.struct_type)
        return {'translation': built.field('translation'), 'rotation': built.field('rotation')}

    def body_values(self, arr: pa.StructArray, prefix: str) -> dict[str, list[Any]]:
        """ROS ``Transform`` leaves."""
        return transform_values(arr, prefix)

    def to_arrow(self, msgs: Sequence[Any], msgtype: str) -> pa.StructArray:
        """As the base, plus the Stamped child frame."""
        built = super().to_arrow(msgs, msgtype)
        if not self.flavour(msgtype).header:
            return built
        children = {name: built.field(name) for name in self.struct_type.names}
        children['target_frame_id'] = [
            frame or None for frame in columns.pluck(msgs, 'child_frame_id')
        ]
        return columns.struct_array(self.struct_type, len(msgs), children)

    def from_arrow(self, data: Any, msgtype: str, typestore: Typestore) -> list[Any]:
        """As the base, plus the Stamped child frame."""
        target = self.target_msgtype(msgtype)
        if not self.flavour(target).header:
            return super().from_arrow(data, target, typestore)
        arr = rows.as_struct(data)
        factory = rows.RosFactory(typestore)
        values = transform_values(arr, 'transform.')
        values['header'] = factory.headers(arr.field('header'), len(arr))
        values['child_frame_id'] = rows.strings(arr.field('target_frame_id'))
        return factory.assemble(target, values, len(arr))
