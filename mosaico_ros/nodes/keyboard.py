"""Keyboard controls of a playback, as ``ros2 bag play`` has them: space pauses, right arrow steps.

Active only when stdin is a terminal; the terminal is put in cbreak mode
(keys arrive one by one, unechoed) and restored on exit.
"""

from __future__ import annotations

import os
import select
import sys
import threading
from collections.abc import Callable, Mapping
from typing import Any

SPACE = ' '
RIGHT_ARROW = '\x1b[C'


class KeyboardControls:
    """Reads keys in a thread and calls their actions; a context manager.

    Args:
        actions: Key (`SPACE`, `RIGHT_ARROW`) -> what it does.
        enabled: False does nothing (``--disable-keyboard-controls``).

    """

    def __init__(self, actions: Mapping[str, Callable[[], Any]], enabled: bool = True) -> None:
        """Keep the actions; nothing happens before `__enter__`."""
        self._actions = dict(actions)
        self._enabled = enabled
        self._saved: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def active(self) -> bool:
        """Whether keys are being read."""
        return self._thread is not None

    def __enter__(self) -> KeyboardControls:
        if not self._enabled or not sys.stdin.isatty():
            return self
        import termios
        import tty

        fd = sys.stdin.fileno()
        self._saved = termios.tcgetattr(fd)
        tty.setcbreak(fd)
        self._thread = threading.Thread(target=self._read, args=(fd,), daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(1.0)
        if self._saved is not None:
            import termios

            termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, self._saved)

    def _read(self, fd: int) -> None:
        pending = ''
        while not self._stop.is_set():
            ready, _, _ = select.select([fd], [], [], 0.1)
            if not ready:
                pending = ''
                continue
            pending += os.read(fd, 16).decode(errors='replace')
            while pending:
                key = next((k for k in self._actions if pending.startswith(k)), None)
                if key is not None:
                    pending = pending[len(key) :]
                    self._actions[key]()
                elif any(k.startswith(pending) for k in self._actions):
                    break  # the start of an escape sequence: wait for the rest
                else:
                    pending = pending[1:]
