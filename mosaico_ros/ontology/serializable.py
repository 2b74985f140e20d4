"""`Serializable`: the base of every ontology model, registered when its class is defined."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import pyarrow as pa
from pydantic import BaseModel

from .arrow_schema import build_struct, fingerprint
from .registry import register as register_model

if TYPE_CHECKING:
    from typing_extensions import Self

    from .query import QueryProxy

SerializationFormatName = Literal['default', 'ragged', 'image']
"""The `serialization_format` strings the protocol allows."""


class SerializationFormat(str, Enum):
    """Storage hint a topic declares at creation; members compare equal to their strings."""

    Default = 'default'
    Ragged = 'ragged'
    Image = 'image'


class Serializable(BaseModel):
    """Base of ontology models: an Arrow struct, a tag, a fingerprint and a `.Q` proxy.

    Subclassing registers the class under `__ontology_tag__` (its class name unless the body
    sets one). The tag is inherited, so a subclass of a registered model needs its own
    `__ontology_tag__`, otherwise registration fails with a duplicate-tag error.

    Class keywords:
        register: False keeps the class out of the registry (dynamic classes).
    """

    __ontology_tag__: ClassVar[str | None] = None
    __serialization_format__: ClassVar[SerializationFormatName] = 'default'
    __registry_key__: ClassVar[str]
    __schema_fingerprint__: ClassVar[str]
    __arrow_struct__: ClassVar[pa.StructType]
    Q: ClassVar[QueryProxy]

    def __init_subclass__(cls, *, register: bool = True, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)

    @classmethod
    def __pydantic_init_subclass__(cls, *, register: bool = True, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        from .query import QueryProxy

        cls.__arrow_struct__ = cls._declared_struct()
        cls.__schema_fingerprint__ = fingerprint(cls.__arrow_struct__)
        cls.__ontology_tag__ = cls.__ontology_tag__ or cls.__name__
        cls.__registry_key__ = cls.__ontology_tag__
        cls.Q = QueryProxy(cls.__ontology_tag__, cls.__arrow_struct__)
        if register:
            register_model(cls.__registry_key__, cls)

    @classmethod
    def _declared_struct(cls) -> pa.StructType:
        return build_struct(cls)

    @classmethod
    def arrow_struct(cls) -> pa.StructType:
        """Return the Arrow struct of the model's fields, with field descriptions.

        Returns:
            The struct type.

        """
        return cls.__arrow_struct__

    @classmethod
    def schema_fingerprint(cls) -> str:
        """Return the fingerprint a topic's schema must have to be read as this class.

        Returns:
            Ten hex digits.

        """
        return cls.__schema_fingerprint__

    @classmethod
    def ontology_tag(cls) -> str:
        """Return the tag the platform knows the model by.

        Returns:
            The tag.

        """
        return cls.__ontology_tag__ or cls.__name__

    def to_dict(self) -> dict[str, Any]:
        """Return the model as nested plain Python values (enums kept, bytes kept).

        Returns:
            The field values.

        """
        return self.model_dump()

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Self:
        """Build a validated model from nested plain values.

        Args:
            values: Field values, nested models as dicts.

        Returns:
            The model.

        """
        return cls.model_validate(values)
