"""Plans compiled once per type and serialization, kept by whoever owns the typestore."""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING

from mosaico_ros.codec.errors import UnsupportedTypeError
from mosaico_ros.codec.plan import Plan, compile_plan

if TYPE_CHECKING:
    from rosbags.typesys.store import Typestore


class CodecCache:
    """The plans of one typestore, compiled on first use, the least recently used dropped.

    A type no plan can be compiled for is remembered too, so asking again
    raises at once. Not thread-safe: give each thread its own cache.

    Args:
        typestore: Holds the definitions; types may be registered later.
        maxsize: Most plans (and unsupported types) kept.

    """

    def __init__(self, typestore: Typestore, maxsize: int = 256) -> None:
        if maxsize < 1:
            raise ValueError('maxsize must be positive')
        self.typestore = typestore
        self.maxsize = maxsize
        self._plans: OrderedDict[tuple[str, bool], Plan | UnsupportedTypeError] = OrderedDict()

    def __len__(self) -> int:
        """Return the number of types kept."""
        return len(self._plans)

    def plan(self, msgtype: str, *, ros1: bool = False) -> Plan:
        """Return the plan of a type, compiling it on first use.

        Args:
            msgtype: ROS type, ``pkg/msg/Name``.
            ros1: ROS 1 serialization, else CDR.

        Returns:
            The plan.

        Raises:
            UnsupportedTypeError: No plan can be compiled for the type.

        """
        key = (msgtype, ros1)
        found = self._plans.get(key)
        if found is None:
            try:
                found = compile_plan(self.typestore, msgtype, ros1=ros1)
            except UnsupportedTypeError as err:
                found = err
            self._plans[key] = found
            if len(self._plans) > self.maxsize:
                self._plans.popitem(last=False)
        else:
            self._plans.move_to_end(key)
        if isinstance(found, UnsupportedTypeError):
            raise found
        return found
