"""MCAP channels in JSON, stored through a schema derived from their jsonschema.

Objects become structs, arrays lists, base64 strings (`contentEncoding`)
binary, integers int64 and numbers float64; anything the schema does not
describe is kept as JSON text, so no value is lost. The tag is
``json:<schema name>``: the prefix keeps it apart from every ontology tag and
from ROS generic tags.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa


def _arrow_from_jsonschema(schema: Any, defs: Mapping[str, Any]) -> pa.DataType:
    """Map a jsonschema node to an Arrow type; unknown shapes stay JSON text."""
    if not isinstance(schema, dict):
        return pa.string()
    if '$ref' in schema:
        ref = str(schema['$ref']).rsplit('/', 1)[-1]
        return _arrow_from_jsonschema(defs.get(ref), defs)
    kind = schema.get('type')
    if isinstance(kind, list):
        kinds = [k for k in kind if k != 'null']
        kind = kinds[0] if len(kinds) == 1 else None
    if kind == 'object' and isinstance(schema.get('properties'), dict):
        return pa.struct(
            [
                pa.field(name, _arrow_from_jsonschema(sub, defs))
                for name, sub in schema['properties'].items()
            ],
        )
    if kind == 'array':
        return pa.list_(_arrow_from_jsonschema(schema.get('items', {}), defs))
    if kind == 'string':
        return pa.binary() if schema.get('contentEncoding') == 'base64' else pa.string()
    if kind == 'integer':
        return pa.int64()
    if kind == 'number':
        return pa.float64()
    if kind == 'boolean':
        return pa.bool_()
    return pa.string()


def _conform(value: Any, arrow_type: pa.DataType) -> Any:
    """Shape one decoded JSON value to `arrow_type` (bytes decoded, odd values as text)."""
    if value is None:
        return None
    if pa.types.is_struct(arrow_type):
        if not isinstance(value, dict):
            return None
        return {f.name: _conform(value.get(f.name), f.type) for f in arrow_type}
    if pa.types.is_list(arrow_type):
        if not isinstance(value, list):
            return None
        return [_conform(item, arrow_type.value_type) for item in value]
    if pa.types.is_binary(arrow_type):
        return base64.b64decode(value) if isinstance(value, str) else None
    if pa.types.is_string(arrow_type):
        return value if isinstance(value, str) else json.dumps(value)
    if pa.types.is_boolean(arrow_type):
        return value if isinstance(value, bool) else None
    if pa.types.is_int64(arrow_type):
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if pa.types.is_float64(arrow_type):
        return float(value) if isinstance(value, (int, float)) else None
    return None


class JsonChannelAdapter:
    """Stores JSON-encoded MCAP channels with a schema derived from their jsonschema.

    The tag is ``json:<schema name>``: the prefix keeps it apart from every
    ontology tag and from ROS generic tags.
    """

    def __init__(self, schema_name: str, jsonschema: str = '') -> None:
        """Derive the Arrow struct from the channel's jsonschema (if any).

        Args:
            schema_name: Name of the channel's schema.
            jsonschema: The schema's JSON text; '' when the channel has none.

        """
        self.name = 'json'
        self.msgtype = schema_name
        self.tag = f'json:{schema_name}'
        self.serialization_format = 'default'
        schema: Any = None
        if jsonschema:
            try:
                schema = json.loads(jsonschema)
            except ValueError:
                schema = None
        defs = {}
        if isinstance(schema, dict):
            defs = {**schema.get('definitions', {}), **schema.get('$defs', {})}
        struct = _arrow_from_jsonschema(schema, defs)
        if not pa.types.is_struct(struct) or struct.num_fields == 0:
            struct = pa.struct([pa.field('json', pa.string())])
            self._raw = True
        else:
            self._raw = False
        self.struct_type: pa.StructType = struct

    def decode(self, data: bytes | memoryview) -> Any:
        """Parse one payload."""
        return json.loads(bytes(data))

    def to_arrow(self, msgs: Sequence[Any], msgtype: str) -> pa.StructArray:
        """Convert parsed JSON documents into one struct array."""
        del msgtype
        if self._raw:
            rows: list[Any] = [{'json': json.dumps(m)} for m in msgs]
        else:
            rows = [_conform(m, self.struct_type) or {} for m in msgs]
        return pa.array(rows, type=self.struct_type)
