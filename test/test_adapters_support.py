"""Shared helpers of the adapter tests."""

from __future__ import annotations

from typing import Any

import numpy as np


def plain(obj: Any) -> Any:
    """A rosbags message as plain data, as the vectors' JSON shows it.

    Constants and ``__msgtype__`` are left out and numpy arrays become lists,
    so two messages compare equal exactly when their field values do.
    """
    if hasattr(obj, '__dataclass_fields__'):
        return {
            name: plain(getattr(obj, name))
            for name in obj.__dataclass_fields__
            if name != '__msgtype__' and not name.isupper()
        }
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, list):
        return [plain(item) for item in obj]
    return obj
