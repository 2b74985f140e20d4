"""Errors of the adapter layer."""

from __future__ import annotations


class AdapterError(ValueError):
    """A ROS message or an Arrow row cannot be converted by an adapter."""


class AdapterNotFoundError(AdapterError, LookupError):
    """No adapter is registered for a ROS type, an ontology tag or a name."""


class AdapterRegistrationError(AdapterError):
    """An adapter class is malformed or clashes with one already registered."""


class UnsupportedDefinitionError(AdapterError):
    """A ROS message definition uses a construct the generic adapter cannot map."""
