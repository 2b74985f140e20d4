"""Errors of the protocol layer."""


class ProtocolError(ValueError):
    """A document on the wire does not have the shape the protocol requires."""
