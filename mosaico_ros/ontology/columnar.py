"""Column-at-a-time conversion between `Message` lists and Arrow record batches.

Each model class gets, once, a tree of column codecs mirroring its Arrow struct. Encoding walks
the tree with one attribute getter per field over all rows; decoding converts each leaf column
to Python in one call and assembles model instances without re-validating them.

The encoded arrays are byte-identical to `pa.RecordBatch.from_pydict(model_dump rows)`, the
platform SDK's writer: below a null struct, children hold Arrow's "empty" value (0, '', [],
a valid empty struct), not nulls; the `empty` attribute of each codec is that value.
"""

from __future__ import annotations

import gc
import types
import typing
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from enum import Enum
from functools import lru_cache
from itertools import accumulate, chain, compress, repeat
from operator import attrgetter, itemgetter, methodcaller
from typing import Annotated, Any, get_args, get_origin

import pyarrow as pa
import pyarrow.types as pat
from pydantic import BaseModel

from .errors import ConversionError
from .message import TIMESTAMP_COLUMN, Message, topic_schema
from .serializable import Serializable
from .unmodeled import Unmodeled

_UNION_ORIGINS = (typing.Union, types.UnionType)


def _unwrap(annotation: Any) -> Any:
    """Strip `Annotated` and `Optional` down to the declared type."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in _UNION_ORIGINS:
            members = [arg for arg in get_args(annotation) if arg is not type(None)]
            annotation = members[0] if len(members) == 1 else None
        else:
            return annotation


def _element_annotation(annotation: Any) -> Any:
    core = _unwrap(annotation)
    if get_origin(core) in (list, typing.List):  # noqa: UP006
        args = get_args(core)
        return args[0] if args else None
    return None


def _has_struct(arrow_type: pa.DataType) -> bool:
    if pat.is_struct(arrow_type):
        return True
    if (
        pat.is_list(arrow_type)
        or pat.is_large_list(arrow_type)
        or pat.is_fixed_size_list(
            arrow_type,
        )
    ):
        return _has_struct(arrow_type.value_type)
    return False


def _empty_scalar(arrow_type: pa.DataType) -> Any:
    """Return the value Arrow's builders append as an 'empty' slot of `arrow_type`."""
    if pat.is_integer(arrow_type):
        return 0
    if pat.is_floating(arrow_type):
        return 0.0
    if pat.is_boolean(arrow_type):
        return False
    if (
        pat.is_string(arrow_type)
        or pat.is_large_string(arrow_type)
        or pat.is_string_view(
            arrow_type,
        )
    ):
        return ''
    if (
        pat.is_binary(arrow_type)
        or pat.is_large_binary(arrow_type)
        or pat.is_binary_view(
            arrow_type,
        )
    ):
        return b''
    if pat.is_fixed_size_list(arrow_type):
        return [_empty_scalar(arrow_type.value_type)] * arrow_type.list_size
    if pat.is_list(arrow_type) or pat.is_large_list(arrow_type) or pat.is_map(arrow_type):
        return []
    return None


class _Codec:
    """Converts one column (all rows of one field path) in both directions."""

    path: str
    arrow_type: pa.DataType
    empty: Any

    def encode(self, values: list[Any]) -> pa.Array:
        """Return the Arrow array of `values` (None = null)."""
        raise NotImplementedError

    def decode(self, array: pa.Array) -> list[Any]:
        """Return the Python values of `array`."""
        raise NotImplementedError


class _LeafCodec(_Codec):
    """A column with no struct inside: Arrow's own converters do it whole."""

    def __init__(self, path: str, arrow_type: pa.DataType, enum: type[Enum] | None) -> None:
        self.path = path
        self.arrow_type = arrow_type
        self.empty = _empty_scalar(arrow_type)
        self.enum_members = {member.value: member for member in enum} if enum else None
        self.numeric = (
            pat.is_integer(arrow_type) or pat.is_floating(arrow_type) or pat.is_boolean(arrow_type)
        )
        self.is_map = pat.is_map(arrow_type)

    def encode(self, values: list[Any]) -> pa.Array:
        try:
            return pa.array(values, type=self.arrow_type)
        except (pa.ArrowException, TypeError, ValueError, OverflowError) as err:
            raise ConversionError(self._locate(values, err)) from err

    def _locate(self, values: list[Any], err: Exception) -> str:
        for row, value in enumerate(values):
            try:
                pa.array([value], type=self.arrow_type)
            except (pa.ArrowException, TypeError, ValueError, OverflowError):
                return f'{self.path} ({self.arrow_type}): row {row} holds {value!r}: {err}'
        return f'{self.path} ({self.arrow_type}): {err}'

    def decode(self, array: pa.Array) -> list[Any]:
        if self.numeric and array.null_count == 0:
            # NumPy's tolist builds the Python scalars in C, several times faster than Arrow's.
            values: list[Any] = array.to_numpy(zero_copy_only=False).tolist()
        elif self.is_map:
            values = array.to_pylist(maps_as_pydicts='strict')
        else:
            values = array.to_pylist()
        if self.enum_members is not None:
            members = self.enum_members
            try:
                return [None if value is None else members[value] for value in values]
            except KeyError as err:
                raise ConversionError(f'{self.path}: {err.args[0]!r} is not a valid value') from err
        return values


class _ListCodec(_Codec):
    """A list (or fixed-size list) whose elements contain structs: offsets plus flat values."""

    def __init__(self, path: str, arrow_type: pa.DataType, element: _Codec) -> None:
        self.path = path
        self.arrow_type = arrow_type
        self.element = element
        self.fixed_size = arrow_type.list_size if pat.is_fixed_size_list(arrow_type) else None
        self.empty = [] if self.fixed_size is None else [element.empty] * self.fixed_size

    def encode(self, values: list[Any]) -> pa.Array:
        nulls = [value is None for value in values]
        has_nulls = True in nulls
        mask = pa.array(nulls, pa.bool_()) if has_nulls else None
        if self.fixed_size is not None:
            # A null fixed-size list still owns `list_size` child slots, all null.
            blank = [None] * self.fixed_size
            rows = [blank if value is None else value for value in values] if has_nulls else values
            flat = self.element.encode(list(chain.from_iterable(rows)))
            return pa.FixedSizeListArray.from_arrays(flat, type=self.arrow_type, mask=mask)
        rows = [[] if value is None else value for value in values] if has_nulls else values
        offsets = pa.array(accumulate(map(len, rows), initial=0), pa.int32())
        flat = self.element.encode(list(chain.from_iterable(rows)))
        return pa.ListArray.from_arrays(offsets, flat, type=self.arrow_type, mask=mask)

    def decode(self, array: pa.Array) -> list[Any]:
        count = len(array)
        if self.fixed_size is not None:
            size = self.fixed_size
            flat = self.element.decode(array.values.slice(array.offset * size, count * size))
            bounds: Iterable[int] = range(0, (count + 1) * size, size)
        else:
            flat = self.element.decode(array.values)
            bounds = array.offsets.to_pylist()
        starts, ends = _pairwise_bounds(bounds)
        lists = [flat[start:end] for start, end in zip(starts, ends, strict=True)]
        if array.null_count:
            valid = array.is_valid().to_pylist()
            return [row if ok else None for row, ok in zip(lists, valid, strict=True)]
        return lists


def _pairwise_bounds(bounds: Iterable[int]) -> tuple[list[int], list[int]]:
    edges = list(bounds)
    return edges[:-1], edges[1:]


_INSTANCE_DICT = attrgetter('__dict__')
_SET_DICT = BaseModel.__dict__['__dict__'].__set__
_SET_FIELDS_SET = BaseModel.__dict__['__pydantic_fields_set__'].__set__
_SET_EXTRA = BaseModel.__dict__['__pydantic_extra__'].__set__
_SET_PRIVATE = BaseModel.__dict__['__pydantic_private__'].__set__


@lru_cache(maxsize=1024)
def dict_builder(names: tuple[str, ...]) -> Callable[..., list[dict[str, Any]]]:
    """Return a function turning one list per field into one dict per row.

    The function is generated so that each row is a dict display in a comprehension, about
    three times faster than `dict(zip(names, row))`. Keys enter the source through `repr` and
    the columns as positional parameters, so field names cannot inject code.

    Args:
        names: Field names, in column order.

    Returns:
        `build(column_0, column_1, ...) -> list[dict]`.

    """
    if not names:
        return lambda: []
    params = ', '.join(f'c{index}' for index in range(len(names)))
    items = ', '.join(f'{name!r}: v{index}' for index, name in enumerate(names))
    loop = ', '.join(f'v{index}' for index in range(len(names)))
    source = f'lambda {params}: [{{{items}}} for {loop}, in zip({params}, strict=True)]'
    return typing.cast(Callable[..., list[dict[str, Any]]], eval(source))


def construct_models(
    model: type[BaseModel],
    names: Sequence[str],
    columns: Sequence[list[Any]],
) -> list[Any]:
    """Build model instances from already-valid field columns, skipping validation.

    Does what `model_construct` does for a model without defaults to fill, aliases or private
    attributes, but as C-level passes over all rows instead of a Python call per row.

    Args:
        model: The pydantic model class.
        names: Field names.
        columns: One list of values per field, all of the same length.

    Returns:
        The instances.

    """
    values = dict_builder(tuple(names))(*columns)
    count = len(values)
    instances = list(map(object.__new__, repeat(model, count)))
    fields_set = set(names)
    deque(map(_SET_DICT, instances, values), maxlen=0)
    deque(map(_SET_FIELDS_SET, instances, repeat(fields_set, count)), maxlen=0)
    deque(map(_SET_EXTRA, instances, repeat(None, count)), maxlen=0)
    deque(map(_SET_PRIVATE, instances, repeat(None, count)), maxlen=0)
    return instances


class _StructCodec(_Codec):
    """A struct column: one child codec per field, rows are models or (unmodeled) dicts."""

    def __init__(
        self,
        path: str,
        arrow_type: pa.StructType,
        model: type[BaseModel] | None,
        children: list[_Codec],
    ) -> None:
        self.path = path
        self.arrow_type = arrow_type
        self.model = model
        self.children = children
        self.fields = list(arrow_type)
        self.names = [field.name for field in self.fields]
        self.getters: list[Callable[[Any], Any]]
        self.row_getter: Callable[[Any], Any] = (
            itemgetter(*self.names) if self.names else (lambda _: ())
        )
        if model is not None:
            self.getters = [attrgetter(name) for name in self.names]
            self.empty: Any = types.SimpleNamespace(
                **{name: child.empty for name, child in zip(self.names, children, strict=True)},
            )
        else:
            self.getters = [methodcaller('get', name) for name in self.names]
            self.empty = {
                name: child.empty for name, child in zip(self.names, children, strict=True)
            }

    def encode_children(self, rows: list[Any]) -> list[pa.Array]:
        """Return one array per field of `rows` (none of which is None)."""
        try:
            columns = self._columns(rows)
        except (AttributeError, KeyError) as err:
            raise ConversionError(f'{self.path}: a value lacks a field: {err}') from err
        return [child.encode(column) for child, column in zip(self.children, columns, strict=True)]

    def _columns(self, rows: list[Any]) -> list[Any]:
        if self.model is None:
            return [list(map(getter, rows)) for getter in self.getters]
        if not rows:
            return [[] for _ in self.names]
        # Reading every field of a row from its __dict__ in one itemgetter call, then
        # transposing, beats one attribute lookup pass per field.
        records = map(_INSTANCE_DICT, rows)
        if len(self.names) == 1:
            return [list(map(self.row_getter, records))]
        return list(zip(*map(self.row_getter, records), strict=True))

    def encode(self, values: list[Any]) -> pa.Array:
        nulls = [value is None for value in values]
        if True in nulls:
            empty = self.empty
            rows = [empty if value is None else value for value in values]
            mask = pa.array(nulls, pa.bool_())
        else:
            rows, mask = values, None
        if not self.fields:
            return pa.array([{}] * len(values), type=self.arrow_type, mask=mask)
        arrays = self.encode_children(rows)
        return pa.StructArray.from_arrays(arrays, fields=self.fields, mask=mask)

    def decode_columns(
        self,
        columns: list[list[Any]],
        count: int,
        valid: list[bool] | None,
    ) -> list[Any]:
        """Assemble rows from decoded child columns; rows not `valid` become None."""
        if valid is not None:
            columns = [list(compress(column, valid)) for column in columns]
            count = len(columns[0]) if columns else valid.count(True)
        if self.model is not None:
            built = construct_models(self.model, self.names, columns)
        elif columns:
            built = dict_builder(tuple(self.names))(*columns)
        else:
            built = [{} for _ in range(count)]
        if valid is None:
            return built
        filled = iter(built)
        return [next(filled) if ok else None for ok in valid]

    def decode(self, array: pa.Array) -> list[Any]:
        columns = [child.decode(array.field(index)) for index, child in enumerate(self.children)]
        valid = array.is_valid().to_pylist() if array.null_count else None
        return self.decode_columns(columns, len(array), valid)


def _compile(path: str, arrow_type: pa.DataType, annotation: Any) -> _Codec:
    core = _unwrap(annotation)
    if pat.is_struct(arrow_type):
        model = core if isinstance(core, type) and issubclass(core, BaseModel) else None
        hints = model.model_fields if model is not None else {}
        children = []
        for field in arrow_type:
            info = hints.get(field.name)
            children.append(
                _compile(f'{path}.{field.name}', field.type, info.annotation if info else None),
            )
        return _StructCodec(path, arrow_type, model, children)
    if _has_struct(arrow_type):
        element = _compile(f'{path}[]', arrow_type.value_type, _element_annotation(annotation))
        return _ListCodec(path, arrow_type, element)
    enum = core if isinstance(core, type) and issubclass(core, Enum) else None
    return _LeafCodec(path, arrow_type, enum)


class ModelCodec:
    """Converts `Message`s of one model class to record batches and back."""

    def __init__(self, model_cls: type[Serializable]) -> None:
        self.model_cls = model_cls
        self.schema = topic_schema(model_cls)
        self.unmodeled = issubclass(model_cls, Unmodeled)
        struct = model_cls.arrow_struct()
        tag = model_cls.ontology_tag()
        root = _compile(tag, struct, None if self.unmodeled else model_cls)
        assert isinstance(root, _StructCodec)
        self.root = root

    def encode(self, messages: Sequence[Message]) -> pa.RecordBatch:
        """Return the record batch of `messages`, all holding `model_cls` data."""
        data = [message.data for message in messages]
        foreign = set(map(type, data)) - {self.model_cls}
        if foreign:
            names = ', '.join(sorted(cls.__qualname__ for cls in foreign))
            raise ConversionError(
                f'messages for {self.model_cls.ontology_tag()} also hold {names} data',
            )
        if self.unmodeled:
            data = [record.raw_data for record in data]  # type: ignore[attr-defined]
        timestamps = pa.array([message.timestamp_ns for message in messages], pa.int64())
        arrays = self.root.encode_children(data) if self.root.fields else []
        return pa.RecordBatch.from_arrays([timestamps, *arrays], schema=self.schema)

    def decode(self, batch: pa.RecordBatch) -> list[Message]:
        """Return the messages of `batch`, whose columns must be this model's."""
        names = batch.schema.names
        if names[:1] != [TIMESTAMP_COLUMN] or names[1:] != self.root.names:
            raise ConversionError(
                f'batch columns {names} do not match {self.model_cls.ontology_tag()} columns '
                f'{[TIMESTAMP_COLUMN, *self.root.names]}',
            )
        columns = [
            child.decode(batch.column(index + 1)) for index, child in enumerate(self.root.children)
        ]
        if self.unmodeled:
            records = self.root.decode_columns(columns, batch.num_rows, None)
            data = construct_models(self.model_cls, ['raw_data'], [records])
        else:
            data = self.root.decode_columns(columns, batch.num_rows, None)
        timestamps = batch.column(0).to_numpy(zero_copy_only=False).tolist()
        return construct_models(Message, ['timestamp_ns', 'data'], [timestamps, data])


@contextmanager
def gc_paused() -> Iterator[None]:
    """Suspend the cyclic garbage collector for the duration of the block.

    Building a batch's worth of objects would otherwise trigger collections that rescan every
    object created so far; the objects made here hold no reference cycles.

    Yields:
        Nothing.

    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@lru_cache(maxsize=512)
def codec_for(model_cls: type[Serializable]) -> ModelCodec:
    """Return the cached codec of a model class.

    Args:
        model_cls: The ontology model class.

    Returns:
        Its codec.

    """
    return ModelCodec(model_cls)


def messages_to_batch(
    messages: Sequence[Message],
    model_cls: type[Serializable] | None = None,
) -> pa.RecordBatch:
    """Encode messages of one model class into a record batch of the topic schema.

    Args:
        messages: The messages.
        model_cls: Their data class; taken from the first message when omitted.

    Returns:
        A batch whose schema is `Message.arrow_schema(model_cls)`.

    Raises:
        ConversionError: No class is known, data of another class is mixed in, or a value does
            not fit its column (the error names the field path and row).

    """
    if model_cls is None:
        if not messages:
            raise ConversionError('no messages and no model class: the schema is unknown')
        model_cls = type(messages[0].data)
    codec = codec_for(model_cls)
    with gc_paused():
        return codec.encode(messages)


def batch_to_messages(batch: pa.RecordBatch, model_cls: type[Serializable]) -> list[Message]:
    """Decode a record batch of a topic into messages, without re-validating the values.

    Args:
        batch: A batch of the topic schema of `model_cls`.
        model_cls: The data class, e.g. from `resolve_model`.

    Returns:
        One message per row.

    Raises:
        ConversionError: The batch columns are not those of `model_cls`.

    """
    codec = codec_for(model_cls)
    with gc_paused():
        return codec.decode(batch)
