"""Build this package with a real `colcon build` in a temporary ament workspace.

colcon runs as `python -m colcon` with the interpreter running the tests
(colcon from PyPI, in the `test` extra): a system colcon would build with
the system's Python. `ColconInstall` says where things were installed and
gives the environment `source install/setup.bash` would, so installed
executables run as `ros2 run` runs them.

Use the session fixture `colcon_install` (in `conftest.py`)::

    def test_player_is_installed(colcon_install: ColconInstall) -> None:
        assert colcon_install.executable('player').is_file()
        result = colcon_install.run('player', '--help')
"""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PACKAGE = 'mosaico_ros'

IGNORED = shutil.ignore_patterns(
    '.git',
    'build',
    'install',
    'log',
    '__pycache__',
    '*.egg-info',
    '.mypy_cache',
    '.ruff_cache',
    '.pytest_cache',
    'test',
    'bench',
)
"""What a workspace copy of the package leaves out."""


class ColconBuildError(RuntimeError):
    """`colcon build` failed; the text holds its output."""


@dataclass(frozen=True)
class ColconInstall:
    """A built workspace.

    Attributes:
        workspace: The workspace root (holding `src`, `build`, `install`, `log`).
        prefix: The package's install prefix, `install/mosaico_ros`.

    """

    workspace: Path
    prefix: Path

    def executable(self, name: str) -> Path:
        """An installed executable, as `ros2 run mosaico_ros NAME` finds it."""
        return self.prefix / 'lib' / PACKAGE / name

    def share(self, *parts: str) -> Path:
        """A path under `share/mosaico_ros`."""
        return self.prefix.joinpath('share', PACKAGE, *parts)

    def site_packages(self) -> Path:
        """Where the Python package was installed."""
        version = f'python{sys.version_info.major}.{sys.version_info.minor}'
        return self.prefix / 'lib' / version / 'site-packages'

    def console_scripts(self) -> list[str]:
        """The executables the package declares (its installed `console_scripts` entry points)."""
        (entry_points,) = self.site_packages().glob('*.egg-info/entry_points.txt')
        parser = configparser.ConfigParser()
        parser.read(entry_points)
        return sorted(parser['console_scripts']) if parser.has_section('console_scripts') else []

    def env(self, base: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
        """The environment after `source install/setup.bash` (prefix paths and PYTHONPATH)."""
        env = dict(os.environ if base is None else base)
        env['AMENT_PREFIX_PATH'] = os.pathsep.join(
            filter(None, [str(self.prefix), env.get('AMENT_PREFIX_PATH')])
        )
        env['COLCON_PREFIX_PATH'] = str(self.workspace / 'install')
        # The installed package, not a checkout, must be imported.
        env['PYTHONPATH'] = str(self.site_packages())
        env.update(extra)
        return env

    def run(
        self,
        name: str,
        *args: str,
        env: Mapping[str, str] | None = None,
        timeout: float = 120,
        **kwargs: Any,
    ) -> subprocess.CompletedProcess[str]:
        """Run an installed executable by its path, as `ros2 run` does."""
        return subprocess.run(
            [str(self.executable(name)), *args],
            env=self.env(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            **kwargs,
        )

    def popen(
        self, name: str, *args: str, env: Mapping[str, str] | None = None, **kwargs: Any
    ) -> subprocess.Popen[str]:
        """Start an installed executable (e.g. a node or a server) in the background."""
        return subprocess.Popen(
            [str(self.executable(name)), *args], env=self.env(env), text=True, **kwargs
        )


def colcon_build(source: Path, workspace: Path) -> ColconInstall:
    """Copy the package at `source` into `workspace/src` and `colcon build` it.

    Args:
        source: The package (the repository root, holding `package.xml`).
        workspace: An empty directory to build in.

    Returns:
        Where it was installed.

    Raises:
        ColconBuildError: The build failed.

    """
    shutil.copytree(source, workspace / 'src' / PACKAGE, ignore=IGNORED)
    result = subprocess.run(
        [
            sys.executable,
            '-m',
            'colcon',
            'build',
            '--event-handlers',
            'console_direct+',
            '--packages-select',
            PACKAGE,
        ],
        cwd=workspace,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, 'PYTHONDONTWRITEBYTECODE': '1'},
    )
    if result.returncode != 0:
        raise ColconBuildError(f'colcon build failed:\n{result.stdout}\n{result.stderr}')
    return ColconInstall(workspace, workspace / 'install' / PACKAGE)
