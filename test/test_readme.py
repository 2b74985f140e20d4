"""The README's Python example runs as written (against a test server's port)."""

from __future__ import annotations

import contextlib
import io
import re
from typing import Any

from conftest import REPO


def test_python_example_runs(server: Any) -> None:
    readme = (REPO / 'README.md').read_text(encoding='utf-8')
    blocks = re.findall(r'```python\n(.*?)```', readme, flags=re.S)
    assert len(blocks) == 1
    code = blocks[0].replace("connect('127.0.0.1', 6726)", f"connect('127.0.0.1', {server.port})")
    assert str(server.port) in code

    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(code, 'README.md', 'exec'), {})

    assert output.getvalue().startswith('/imu 1700000000000000000 ')
    assert 'z=9.81' in output.getvalue()
