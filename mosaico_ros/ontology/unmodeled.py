"""Models built at run time for topics whose tag or schema no registered class matches."""

from __future__ import annotations

import re
import types
import typing
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.types as pat
from pydantic import model_validator

from .arrow_schema import data_struct, fingerprint
from .registry import get_model
from .serializable import Serializable, SerializationFormatName


class Unmodeled(Serializable, register=False):
    """A record of a schema no Python class declares; the row lives in `raw_data`.

    Concrete variants come from `make_unmodeled_class`; this base has an empty schema.
    """

    __unmodeled_struct__: ClassVar[pa.StructType] = pa.struct([])

    raw_data: dict[str, Any]

    @classmethod
    def _declared_struct(cls) -> pa.StructType:
        return cls.__unmodeled_struct__

    @model_validator(mode='after')
    def _check_raw_data(self) -> Unmodeled:
        _check_record(self.raw_data, self.__unmodeled_struct__, self.ontology_tag())
        return self


def _check_record(record: Any, struct: pa.StructType, where: str) -> None:
    if not isinstance(record, dict):
        raise TypeError(f'{where}: expected a dict for a struct, got {type(record).__name__}')
    names = {field.name for field in struct}
    unknown = sorted(set(record) - names)
    if unknown:
        raise ValueError(f'{where}: unknown fields {unknown}')
    for field in struct:
        value = record.get(field.name)
        if value is None:
            if not field.nullable:
                raise ValueError(f'{where}.{field.name}: required field is missing or null')
            continue
        if pat.is_struct(field.type):
            _check_record(value, field.type, f'{where}.{field.name}')


_DYNAMIC: dict[tuple[str, str], type[Unmodeled]] = {}


def make_unmodeled_class(
    tag: str,
    struct: pa.StructType,
    serialization_format: SerializationFormatName = 'default',
) -> type[Unmodeled]:
    """Create an unregistered `Unmodeled` class reporting `tag` with `struct` as schema.

    Args:
        tag: The tag the class reports to the platform.
        struct: Data struct, used verbatim.
        serialization_format: Storage hint sent at topic creation.

    Returns:
        The new class.

    """
    name = 'Unmodeled_' + re.sub(r'\W', '_', tag)

    def body(namespace: dict[str, Any]) -> None:
        namespace['__module__'] = __name__
        namespace['__qualname__'] = name
        namespace['__ontology_tag__'] = tag
        namespace['__unmodeled_struct__'] = struct
        namespace['__serialization_format__'] = serialization_format

    model = typing.cast(
        type[Unmodeled],
        types.new_class(name, (Unmodeled,), {'register': False}, body),
    )
    model.__registry_key__ = f'{tag}__{model.__schema_fingerprint__}'
    return model


def resolve_model(tag: str, struct_or_schema: pa.StructType | pa.Schema) -> type[Serializable]:
    """Return the class to read a topic of `tag` with this schema.

    The registered class when its fingerprint matches; otherwise a dynamic `Unmodeled` class,
    created once per (tag, fingerprint), whose records keep each row in `raw_data`.

    Args:
        tag: The topic's ontology tag.
        struct_or_schema: The topic schema (with `timestamp_ns`) or its data struct.

    Returns:
        The class.

    """
    struct = data_struct(struct_or_schema)
    digest = fingerprint(struct)
    registered = get_model(tag)
    if registered is not None and registered.schema_fingerprint() == digest:
        return registered
    model = _DYNAMIC.get((tag, digest))
    if model is None:
        model = make_unmodeled_class(tag, struct)
        _DYNAMIC[tag, digest] = model
    return model
