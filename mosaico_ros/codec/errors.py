"""Errors of the columnar codec."""

from __future__ import annotations


class CodecError(ValueError):
    """A batch cannot be decoded or encoded at all."""


class UnsupportedTypeError(CodecError):
    """A message definition uses a construct no plan can be compiled for.

    The caller decodes such a type per message with rosbags instead.
    """
