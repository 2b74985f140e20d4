"""`MosaicoField`: a pydantic field that also states its Arrow nullability."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

NULLABLE_KEY = 'nullable'


def MosaicoField(
    default: Any = PydanticUndefined,
    *,
    description: str | None = None,
    nullable: bool = False,
    **kwargs: Any,
) -> Any:
    """Declare a model field.

    The Arrow column is nullable when `default` is None, otherwise when `nullable` is True.
    `nullable=True` without a None default gives a column Arrow may hold nulls in while
    pydantic still requires a value, which is how the x/y/z/w components are declared.

    Args:
        default: Default value; None makes the field optional and nullable.
        description: Stored as the Arrow field metadata `description`.
        nullable: Arrow nullability when the default is not None.
        **kwargs: Passed to `pydantic.Field`.

    Returns:
        A pydantic `FieldInfo`.

    """
    extra = dict(kwargs.pop('json_schema_extra', None) or {})
    extra[NULLABLE_KEY] = nullable
    return Field(default, description=description, json_schema_extra=extra, **kwargs)


def arrow_nullable(info: FieldInfo) -> bool:
    """Return whether the Arrow column of a pydantic field is nullable.

    Args:
        info: The field's pydantic info.

    Returns:
        True for an optional column.

    """
    extra = info.json_schema_extra
    if isinstance(extra, dict) and NULLABLE_KEY in extra:
        return info.default is None or bool(extra[NULLABLE_KEY])
    return not info.is_required()
