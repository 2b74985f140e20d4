"""The code base stays ruff and mypy clean."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, '-m', *args], cwd=REPO, capture_output=True, text=True, check=False
    )


def test_ruff_clean() -> None:
    result = _run('ruff', 'check', 'mosaico_ros', 'test', 'bench')
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_formatted() -> None:
    result = _run('ruff', 'format', '--check', 'mosaico_ros', 'test', 'bench')
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_clean() -> None:
    result = _run('mypy')
    assert result.returncode == 0, result.stdout + result.stderr
