"""Errors of the pipeline.

Each names the topic, and where it applies the file and offset of the data,
so that a person can find what failed.
"""

from __future__ import annotations


class PipelineError(Exception):
    """Base of every error the pipeline raises on purpose."""


class ConversionError(PipelineError):
    """A batch could not be converted at all: a worker died or the converter broke."""


class SinkError(PipelineError):
    """The session sink could not create or write what a batch needs."""
