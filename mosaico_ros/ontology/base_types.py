"""Single-value models: integers, floats, booleans and strings."""

from .field_types import MosaicoType
from .fields import MosaicoField
from .serializable import Serializable


class Integer8(Serializable):
    """A single signed 8-bit integer."""

    data: MosaicoType.int8 = MosaicoField(description='8-bit Integer data.')


class Integer16(Serializable):
    """A single signed 16-bit integer."""

    data: MosaicoType.int16 = MosaicoField(description='16-bit Integer data.')


class Integer32(Serializable):
    """A single signed 32-bit integer."""

    data: MosaicoType.int32 = MosaicoField(description='32-bit Integer data.')


class Integer64(Serializable):
    """A single signed 64-bit integer."""

    data: MosaicoType.int64 = MosaicoField(description='64-bit Integer data.')


class Unsigned8(Serializable):
    """A single unsigned 8-bit integer."""

    data: MosaicoType.uint8 = MosaicoField(description='8-bit Unsigned data.')


class Unsigned16(Serializable):
    """A single unsigned 16-bit integer."""

    data: MosaicoType.uint16 = MosaicoField(description='16-bit Unsigned data.')


class Unsigned32(Serializable):
    """A single unsigned 32-bit integer."""

    data: MosaicoType.uint32 = MosaicoField(description='32-bit Unsigned data.')


class Unsigned64(Serializable):
    """A single unsigned 64-bit integer."""

    data: MosaicoType.uint64 = MosaicoField(description='64-bit Unsigned data.')


class Floating16(Serializable):
    """A single half-precision float."""

    data: MosaicoType.float16 = MosaicoField(description='16-bit Floating-point data.')


class Floating32(Serializable):
    """A single single-precision float."""

    data: MosaicoType.float32 = MosaicoField(description='32-bit Floating-point data.')


class Floating64(Serializable):
    """A single double-precision float."""

    data: MosaicoType.float64 = MosaicoField(description='64-bit Floating-point data.')


class Boolean(Serializable):
    """A single boolean."""

    data: MosaicoType.bool = MosaicoField(description='Boolean data.')


class String(Serializable):
    """A single UTF-8 string."""

    data: MosaicoType.string = MosaicoField(description='String data.')
