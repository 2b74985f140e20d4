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

from mosaico_ros.adapters import columns, ros_columns, rows
from mosaico_ros.adapters.errors import AdapterError
from mosaico_ros.adapters.msgtype import normalize_msgtype
from mosaico_ros.adapters.registry import RosAdapter, register_adapter
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

Parts = tuple[tuple[str, tuple[str, ...]], ...]
"""Vector fields of a composite type, each with its component keys."""

POSE: Parts = (('position', XYZ), ('orientation', XYZW))
TWIST: Parts = (('linear', XYZ), ('angular', XYZ))
TRANSFORM: Parts = (('translation', XYZ), ('rotation', XYZW))
WRENCH: Parts = (('force', XYZ), ('torque', XYZ))


# -- ROS -> Arrow building blocks, shared with the other message packages ---------------------


def vector_array(
    objs: columns.Batch,
    stype: pa.StructType,
    keys: Sequence[str] = XYZ,
    *,
    covariances: columns.Batch | NDArray[np.float64] | None = None,
    valid: NDArray[np.bool_] | None = None,
) -> pa.StructArray:
    """Vector3d/Point3d/Quaternion structs from ROS objects with `keys` attributes.

    Args:
        objs: ROS objects (Vector3, Point, Point32, Quaternion, ...), or their column.
        stype: Ontology struct type.
        keys: Component attributes, in order.
        covariances: Per-row ROS covariance arrays (kept only if an element > 0).
        valid: Row validity.

    Returns:
        The struct array (``header`` null).

    """
    children: dict[str, Any] = {key: columns.pluck(objs, key) for key in keys}
    if covariances is not None:
        children['covariance'] = columns.covariance_array(
            covariances, stype.field('covariance').type
        )
    return columns.struct_array(stype, len(objs), children, valid)


def composite_array(
    objs: columns.Batch,
    stype: pa.StructType,
    parts: Parts,
    *,
    covariances: columns.Batch | None = None,
    headers: columns.Batch | None = None,
    child_frames: columns.Batch | None = None,
) -> pa.StructArray:
    """Pose/Velocity/Acceleration/Transform/ForceTorque structs, one vector struct per part.

    Args:
        objs: ROS ``Pose``/``Twist``/``Accel``/``Transform``/``Wrench`` objects, or their column.
        stype: Ontology struct type.
        parts: The vector fields, e.g. `POSE`.
        covariances: WithCovariance matrices, for the model's ``covariance``.
        headers: Stamped headers, for the model's ``header``.
        child_frames: ``TransformStamped.child_frame_id``; empty ones become null.

    Returns:
        The struct array.

    """
    children: dict[str, Any] = {
        name: vector_array(columns.pluck(objs, name), columns.child_type(stype, name), keys)
        for name, keys in parts
    }
    if covariances is not None:
        children['covariance'] = columns.covariance_array(
            covariances, columns.child_type(stype, 'covariance')
        )
    if headers is not None:
        children['header'] = columns.header_array(headers, columns.child_type(stype, 'header'))
    if child_frames is not None:
        children['target_frame_id'] = target_frames(child_frames, stype)
    return columns.struct_array(stype, len(objs), children)


def target_frames(child_frames: columns.Batch, stype: pa.StructType) -> pa.Array:
    """``target_frame_id`` of child frames: null where empty."""
    dtype = columns.child_type(stype, 'target_frame_id')
    return columns.masked(child_frames, columns.empty_strings(child_frames), dtype)


# -- Arrow -> ROS building blocks: leaf path -> values, for RosFactory.assemble ---------------


def vector_values(
    arr: pa.Array,
    prefix: str,
    keys: Sequence[str] = XYZ,
    mask: NDArray[np.bool_] | None = None,
    fill: float = 0.0,
) -> dict[str, list[Any]]:
    """``{prefix.key: values}`` of a vector/point/quaternion struct column."""
    ok = rows.valid(arr, mask)
    return {f'{prefix}{key}': rows.numbers(arr.field(key), fill, ok) for key in keys}


def covariance_values(
    arr: pa.Array,
    size: int,
    mask: NDArray[np.bool_] | None = None,
    fill: float = 0.0,
) -> list[NDArray[np.float64]]:
    """Per-row covariance arrays; null => `size` elements of `fill`."""
    return rows.arrays(arr, np.float64, size, fill, mask)


def composite_values(
    arr: pa.Array,
    prefix: str,
    parts: Parts,
    mask: NDArray[np.bool_] | None = None,
) -> dict[str, list[Any]]:
    """Leaf values of a composite struct column, as the ROS object at `prefix`."""
    ok = rows.valid(arr, mask)
    values: dict[str, list[Any]] = {}
    for name, keys in parts:
        values.update(vector_values(arr.field(name), f'{prefix}{name}.', keys, ok))
    return values


def vector_columns(
    arr: pa.Array,
    prefix: str,
    keys: Sequence[str] = XYZ,
    mask: NDArray[np.bool_] | None = None,
    fill: float = 0.0,
) -> dict[str, pa.Array]:
    """`vector_values` as columns."""
    ok = rows.valid(arr, mask)
    return {f'{prefix}{key}': ros_columns.numbers(arr.field(key), fill, ok) for key in keys}


def covariance_columns(
    arr: pa.Array,
    size: int,
    mask: NDArray[np.bool_] | None = None,
    fill: float = 0.0,
) -> pa.ListArray:
    """`covariance_values` as a list column."""
    return ros_columns.arrays(arr, np.float64, size, fill, mask)


def composite_columns(
    arr: pa.Array,
    prefix: str,
    parts: Parts,
    mask: NDArray[np.bool_] | None = None,
) -> dict[str, pa.Array]:
    """`composite_values` as columns."""
    ok = rows.valid(arr, mask)
    values: dict[str, pa.Array] = {}
    for name, keys in parts:
        values.update(vector_columns(arr.field(name), f'{prefix}{name}.', keys, ok))
    return values


# -- Flavoured adapters ------------------------------------------------------------------------


class Flavour(NamedTuple):
    """Where a ROS flavour keeps its parts (dotted paths, None = absent)."""

    header: str | None
    body: str
    covariance: str | None = None
    child_frame: str | None = None


def _prefixed(body: str) -> str:
    return f'{body}.' if body else ''


class FlavouredAdapter(RosAdapter):
    """Base of adapters whose ROS types are plain/Stamped/WithCovariance flavours.

    By default the body is a composite of the vector fields in `parts`;
    adapters of other bodies override `body_columns` and `body_values`.
    """

    flavours: ClassVar[dict[str, Flavour]]
    parts: ClassVar[Parts] = ()
    covariance_size: ClassVar[int] = 36

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if 'flavours' in cls.__dict__:
            cls.ros_types = tuple(cls.flavours)
        if 'body_values' in cls.__dict__ and 'body_ros_columns' not in cls.__dict__:
            cls.columnar_reverse = False

    def flavour(self, msgtype: str) -> Flavour:
        """Return the flavour of `msgtype`.

        Raises:
            AdapterError: The type is not handled.

        """
        try:
            return self.flavours[normalize_msgtype(msgtype)]
        except KeyError:
            raise AdapterError(f'{type(self).__name__} does not handle {msgtype}') from None

    def body_columns(self, bodies: columns.Batch) -> dict[str, Any]:
        """Model columns built from the unwrapped ROS bodies (objects or their column)."""
        return {
            name: vector_array(
                columns.pluck(bodies, name), columns.child_type(self.struct_type, name), keys
            )
            for name, keys in self.parts
        }

    def body_values(
        self, arr: pa.StructArray, prefix: str, factory: rows.RosFactory
    ) -> dict[str, list[Any]]:
        """ROS leaf values (paths below `prefix`) from the model rows."""
        return composite_values(arr, prefix, self.parts)

    def body_ros_columns(self, arr: pa.StructArray, prefix: str) -> dict[str, pa.Array]:
        """`body_values` as columns (a subclass changing one changes both, or neither)."""
        return composite_columns(arr, prefix, self.parts)

    columnar = True

    def to_arrow(self, msgs: columns.Batch, msgtype: str) -> pa.StructArray:
        """Unwrap the flavour, then build the model columns."""
        flavour = self.flavour(msgtype)
        stype = self.struct_type
        bodies = columns.pluck(msgs, flavour.body) if flavour.body else msgs
        children = self.body_columns(bodies)
        if flavour.header:
            children['header'] = columns.header_array(
                columns.pluck(msgs, flavour.header), columns.child_type(stype, 'header')
            )
        if flavour.covariance:
            children['covariance'] = columns.covariance_array(
                columns.pluck(msgs, flavour.covariance), columns.child_type(stype, 'covariance')
            )
        if flavour.child_frame:
            children['target_frame_id'] = target_frames(
                columns.pluck(msgs, flavour.child_frame), stype
            )
        return columns.struct_array(stype, len(msgs), children)

    def from_arrow(self, data: Any, msgtype: str, typestore: Typestore) -> list[Any]:
        """Rebuild the flavour named by `msgtype` (default: the plain type)."""
        arr = rows.as_struct(data)
        target = self.target_msgtype(msgtype)
        flavour = self.flavour(target)
        factory = rows.RosFactory(typestore)
        values = self.body_values(arr, _prefixed(flavour.body), factory)
        if flavour.header:
            values[flavour.header] = factory.headers(arr.field('header'), len(arr))
        if flavour.covariance:
            values[flavour.covariance] = covariance_values(
                arr.field('covariance'), self.covariance_size
            )
        if flavour.child_frame:
            values[flavour.child_frame] = rows.strings(arr.field('target_frame_id'))
        return factory.assemble(target, values, len(arr))

    columnar_reverse = True

    def to_ros_columns(self, data: Any, msgtype: str, typestore: Typestore) -> pa.StructArray:
        """`from_arrow` as columns."""
        arr = rows.as_struct(data)
        flavour = self.flavour(self.target_msgtype(msgtype))
        values = self.body_ros_columns(arr, _prefixed(flavour.body))
        if flavour.header:
            values[flavour.header] = ros_columns.headers(arr.field('header'), len(arr))
        if flavour.covariance:
            values[flavour.covariance] = covariance_columns(
                arr.field('covariance'), self.covariance_size
            )
        if flavour.child_frame:
            values[flavour.child_frame] = ros_columns.strings(arr.field('target_frame_id'))
        return ros_columns.assemble(values)


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

    def body_columns(self, bodies: columns.Batch) -> dict[str, Any]:
        return {key: columns.pluck(bodies, key) for key in self.keys}

    def body_values(
        self, arr: pa.StructArray, prefix: str, factory: rows.RosFactory
    ) -> dict[str, list[Any]]:
        return vector_values(arr, prefix, self.keys)

    def body_ros_columns(self, arr: pa.StructArray, prefix: str) -> dict[str, pa.Array]:
        return vector_columns(arr, prefix, self.keys)


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
    parts = POSE
    flavours = _flavours('Pose', 'pose', covariance=True)


@register_adapter
class TwistAdapter(FlavouredAdapter):
    """``Twist[Stamped|WithCovariance|WithCovarianceStamped]`` <-> ``Velocity``."""

    model = Velocity
    parts = TWIST
    flavours = _flavours('Twist', 'twist', covariance=True)


@register_adapter
class AccelAdapter(FlavouredAdapter):
    """``Accel[Stamped|WithCovariance|WithCovarianceStamped]`` <-> ``Acceleration``."""

    model = Acceleration
    parts = TWIST
    flavours = _flavours('Accel', 'accel', covariance=True)


@register_adapter
class WrenchAdapter(FlavouredAdapter):
    """``Wrench[Stamped]`` <-> ``ForceTorque``."""

    model = ForceTorque
    parts = WRENCH
    flavours = _flavours('Wrench', 'wrench')


@register_adapter
class TransformAdapter(FlavouredAdapter):
    """``Transform[Stamped]`` <-> ``Transform`` (child frame -> ``target_frame_id``)."""

    model = Transform
    parts = TRANSFORM
    flavours = {
        **_flavours('Transform', 'transform'),
        'geometry_msgs/msg/TransformStamped': Flavour(
            'header', 'transform', child_frame='child_frame_id'
        ),
    }


INERTIA_KEYS = ('ixx', 'ixy', 'ixz', 'iyy', 'iyz', 'izz')


@register_adapter
class InertiaAdapter(FlavouredAdapter):
    """``Inertia[Stamped]`` <-> ``Inertia`` (``m``, ``com``, six tensor elements)."""

    model = Inertia
    flavours = _flavours('Inertia', 'inertia')

    def body_columns(self, bodies: columns.Batch) -> dict[str, Any]:
        """Mass, centre of mass and ``[ixx, ixy, ixz, iyy, iyz, izz]``."""
        tensor = (
            np.column_stack(
                [columns.numbers(columns.pluck(bodies, key), np.float64) for key in INERTIA_KEYS]
            )
            if len(bodies)
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

    def body_values(
        self, arr: pa.StructArray, prefix: str, factory: rows.RosFactory
    ) -> dict[str, list[Any]]:
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

    def body_columns(self, bodies: columns.Batch) -> dict[str, Any]:
        """Build the point list."""
        return {
            'points': columns.nested_list_array(
                columns.pluck(bodies, 'points'),
                columns.child_type(self.struct_type, 'points'),
                vector_array,
            )
        }

    def body_values(
        self, arr: pa.StructArray, prefix: str, factory: rows.RosFactory
    ) -> dict[str, list[Any]]:
        """ROS ``Polygon.points`` as Point32 objects (nested messages, so built here)."""
        return {
            f'{prefix}points': point_lists(
                arr.field('points'), factory, 'geometry_msgs/msg/Point32'
            )
        }


def point_lists(arr: pa.Array, factory: rows.RosFactory, msgtype: str) -> list[list[Any]]:
    """Per-row lists of ROS points from a ``list<Point3d>`` column."""
    parts = rows.list_parts(arr)
    flat = parts.values
    return parts.split(factory.assemble(msgtype, vector_values(flat, ''), len(flat)))
