"""Process-wide registry of ontology model classes by registry key (normally the tag)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import DuplicateTagError

if TYPE_CHECKING:
    from .serializable import Serializable

_MODELS: dict[str, type[Serializable]] = {}


def register(key: str, model: type[Serializable]) -> None:
    """Register `model` under `key`.

    Args:
        key: Registry key, the ontology tag for every hand-written model.
        model: The class.

    Raises:
        DuplicateTagError: Another class holds the key already.

    """
    taken = _MODELS.get(key)
    if taken is not None:
        raise DuplicateTagError(
            f'ontology tag {key!r} of {model.__module__}.{model.__qualname__} is already '
            f'registered by {taken.__module__}.{taken.__qualname__}; set __ontology_tag__ '
            'to a new tag',
        )
    _MODELS[key] = model


def get_model(tag: str) -> type[Serializable] | None:
    """Return the class registered under `tag`, or None.

    Args:
        tag: Ontology tag.

    Returns:
        The registered class, if any.

    """
    return _MODELS.get(tag)


def registered_tags() -> list[str]:
    """Return every registered tag, sorted.

    Returns:
        The tags.

    """
    return sorted(_MODELS)
