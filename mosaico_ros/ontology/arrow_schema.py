"""Mapping of pydantic model declarations to Arrow types, and the schema fingerprint."""

from __future__ import annotations

import hashlib
import types
import typing
from enum import Enum
from typing import Annotated, Any, get_args, get_origin

import pyarrow as pa
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from .errors import SchemaError
from .field_types import ListShape
from .fields import arrow_nullable

DESCRIPTION_KEY = 'description'

_PLAIN_TYPES: dict[type, pa.DataType] = {
    bool: pa.bool_(),
    int: pa.int64(),
    float: pa.float64(),
    str: pa.string(),
    bytes: pa.binary(),
}

_UNION_ORIGINS = (typing.Union, types.UnionType)


def arrow_type_of(annotation: Any, where: str) -> pa.DataType:
    """Return the Arrow type a field annotation maps to.

    Args:
        annotation: The field's Python annotation.
        where: `Model.field` for error messages.

    Returns:
        The Arrow data type.

    Raises:
        SchemaError: The annotation has no Arrow equivalent.

    """
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *metadata = get_args(annotation)
        for item in metadata:
            if isinstance(item, pa.DataType):
                return item
        for item in metadata:
            if isinstance(item, ListShape):
                (element,) = get_args(base) or (None,)
                if element is None:
                    raise SchemaError(f'{where}: list_() needs an element type, got {base!r}')
                value_type = arrow_type_of(element, where)
                return pa.list_(value_type, -1 if item.list_size is None else item.list_size)
        return arrow_type_of(base, where)
    if origin in _UNION_ORIGINS:
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(members) != 1:
            raise SchemaError(f'{where}: a union of several types has no Arrow type: {annotation}')
        return arrow_type_of(members[0], where)
    if origin in (list, typing.List):  # noqa: UP006
        (element,) = get_args(annotation) or (None,)
        if element is None:
            raise SchemaError(f'{where}: a bare list has no element type')
        return pa.list_(arrow_type_of(element, where))
    if origin in (dict, typing.Dict):  # noqa: UP006
        key, value = get_args(annotation) or (None, None)
        if key is None:
            raise SchemaError(f'{where}: a bare dict has no key and value types')
        return pa.map_(arrow_type_of(key, where), arrow_type_of(value, where))
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return model_struct(annotation)
        if issubclass(annotation, Enum):
            for base in annotation.__mro__[1:]:
                if base in _PLAIN_TYPES and not issubclass(base, Enum):
                    return _PLAIN_TYPES[base]
            raise SchemaError(f'{where}: enum {annotation.__name__} has no str/int base')
        for python_type, arrow_type in _PLAIN_TYPES.items():
            if annotation is python_type:
                return arrow_type
    raise SchemaError(f'{where}: no Arrow type for annotation {annotation!r}')


def field_annotation(info: FieldInfo) -> Any:
    """Return a field's annotation with the `Annotated` metadata pydantic moved out of it.

    Args:
        info: The field's pydantic info.

    Returns:
        The annotation as declared.

    """
    if info.metadata:
        declared = (info.annotation, *info.metadata)
        return typing.cast(Any, Annotated)[declared]
    return info.annotation


def model_struct(model: type[BaseModel]) -> pa.StructType:
    """Return the Arrow struct of a pydantic model, field by field in declaration order.

    `Serializable` classes answer from their cache; other models are mapped on each call.

    Args:
        model: The model class.

    Returns:
        The struct type, with field descriptions as field metadata.

    """
    cached = model.__dict__.get('__arrow_struct__')
    if isinstance(cached, pa.StructType):
        return cached
    return build_struct(model)


def build_struct(model: type[BaseModel]) -> pa.StructType:
    """Map every field of `model` to an Arrow field.

    Args:
        model: The model class.

    Returns:
        The struct type.

    """
    fields = []
    for name, info in model.model_fields.items():
        arrow_type = arrow_type_of(field_annotation(info), f'{model.__name__}.{name}')
        metadata = {DESCRIPTION_KEY: info.description} if info.description else None
        fields.append(pa.field(name, arrow_type, arrow_nullable(info), metadata=metadata))
    return pa.struct(fields)


_NORMALISED: dict[pa.DataType, pa.DataType] = {
    pa.large_string(): pa.string(),
    pa.string_view(): pa.string(),
    pa.large_binary(): pa.binary(),
    pa.binary_view(): pa.binary(),
}


def fingerprint(struct_or_schema: pa.StructType | pa.Schema) -> str:
    """Return the schema fingerprint the platform matches a topic to a model class with.

    Top-level large/view string and binary types count as their plain forms, so a topic stays
    recognised whichever of them a producer used. Field metadata does not count.

    Args:
        struct_or_schema: A data struct, or a topic schema (its `timestamp_ns` is left out).

    Returns:
        The first 10 hex digits of the SHA-1 of the normalised struct's text.

    """
    fields = list(struct_or_schema)
    if isinstance(struct_or_schema, pa.Schema):
        fields = [field for field in fields if field.name != 'timestamp_ns']
    normalised = pa.struct(
        [field.with_type(_NORMALISED.get(field.type, field.type)) for field in fields],
    )
    return hashlib.sha1(str(normalised).encode()).hexdigest()[:10]


def data_struct(struct_or_schema: pa.StructType | pa.Schema) -> pa.StructType:
    """Return the data struct of a topic schema (every column but `timestamp_ns`).

    Args:
        struct_or_schema: A topic schema, or a struct which is returned unchanged.

    Returns:
        The data struct.

    """
    if isinstance(struct_or_schema, pa.StructType):
        return struct_or_schema
    return pa.struct([field for field in struct_or_schema if field.name != 'timestamp_ns'])
