"""``nmea_msgs``: Sentence -> ``NMEASentence``.

``nmea_msgs`` is not in the stock rosbags typestores; bags usually embed the
definition, otherwise register `SENTENCE_MSGDEF` with
`mosaico_ros.adapters.generic.register_msgdef`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mosaico_ros.adapters import columns, rows
from mosaico_ros.adapters.registry import register_adapter
from mosaico_ros.adapters.sensor_msgs import _HeaderedAdapter
from mosaico_ros.ontology import NMEASentence

if TYPE_CHECKING:
    import pyarrow as pa
    from rosbags.typesys.store import Typestore

SENTENCE_MSGDEF = 'std_msgs/Header header\nstring sentence\n'
"""The ``nmea_msgs/msg/Sentence`` definition (ROS 1 and ROS 2 agree)."""


@register_adapter
class NMEASentenceAdapter(_HeaderedAdapter):
    """``nmea_msgs/msg/Sentence`` <-> ``NMEASentence``."""

    ros_types = ('nmea_msgs/msg/Sentence',)
    model = NMEASentence
    columnar = True

    def to_arrow(self, msgs: columns.Batch, msgtype: str) -> pa.StructArray:
        """Header and sentence text."""
        return self.build(msgs, {'sentence': columns.pluck(msgs, 'sentence')})

    def from_arrow(self, data: Any, msgtype: str, typestore: Typestore) -> list[Any]:
        """Rebuild sentences."""
        arr = rows.as_struct(data)
        return self.assemble(
            arr, msgtype, typestore, {'sentence': rows.strings(arr.field('sentence'))}
        )
