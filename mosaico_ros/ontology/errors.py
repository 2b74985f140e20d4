"""Errors raised by the ontology layer."""

from __future__ import annotations


class OntologyError(Exception):
    """Base class for every ontology error."""


class SchemaError(OntologyError, TypeError):
    """A model declaration cannot be mapped to an Arrow type."""


class DuplicateTagError(OntologyError, ValueError):
    """A second class tried to register under a registry key already taken."""


class ConversionError(OntologyError, ValueError):
    """Messages and Arrow data could not be converted into each other."""
