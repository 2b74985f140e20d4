"""Columnar CDR and ROS 1 serialization: whole batches to and from Arrow, with numpy.

A `Plan` is compiled once per message type and serialization from the
typestore's definition (`compile_plan`, or a `CodecCache` that keeps them).
`decode` turns a batch of payloads into the Arrow struct array the generic
adapter builds from rosbags' messages, reporting payloads that do not fit
one by one; `encode` turns such an array back into payloads, byte for byte
what rosbags serializes. Neither builds a Python object per message.

Every batch costs a fixed few hundred to few thousand numpy and pyarrow calls
(half a millisecond to a few, by type and machine): from about 100 messages
per batch the codec beats rosbags per message, and from 1000 it is 5 to 35
times faster on structured messages (`bench/codec.py`). Feed it whole batches;
for a handful of messages, as a live topic at a low rate cut by latency
yields, rosbags per message is faster.

This package uses only numpy, pyarrow and rosbags' definitions, so every
layer of mosaico_ros can use it.
"""

from mosaico_ros.codec.cache import CodecCache
from mosaico_ros.codec.decode import DecodedBatch, PayloadFailure, decode
from mosaico_ros.codec.encode import encode
from mosaico_ros.codec.errors import CodecError, UnsupportedTypeError
from mosaico_ros.codec.plan import Plan, compile_plan

__all__ = [
    'CodecCache',
    'CodecError',
    'DecodedBatch',
    'PayloadFailure',
    'Plan',
    'UnsupportedTypeError',
    'compile_plan',
    'decode',
    'encode',
]
