"""Shared fixtures: the shared spec/bag folder, an embedded server, ROS isolation."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from colcon_build import ColconInstall

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get('MOSAICO_SHARED', REPO.parent / 'shared'))

# DDS must never leave loopback, and parallel runs must never hear each other.
os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
os.environ.setdefault('ROS_DOMAIN_ID', str(100 + os.getpid() % 100))


def shared_path(*parts: str) -> Path:
    """Return a path inside `../shared`, skipping the test when it is absent.

    A user's clone has no `../shared`; CI always has it.
    """
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f'{path} is absent: the shared spec and bags live beside the repo in CI only')
    return path


@pytest.fixture(scope='session')
def spec_dir() -> Path:
    """`../shared/spec`."""
    return shared_path('spec')


@pytest.fixture(scope='session')
def bags_dir() -> Path:
    """`../shared/data/bags`."""
    return shared_path('data', 'bags')


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    """An empty store directory for an embedded server."""
    path = tmp_path / 'store'
    path.mkdir()
    return path


@pytest.fixture
def server(store_dir: Path) -> Iterator[object]:
    """An embedded Mosaico server on 127.0.0.1 with a fresh store.

    Yields the running server; `.port` is its TCP port.
    """
    from mosaico_ros.server import EmbeddedServer

    with EmbeddedServer(store_dir, host='127.0.0.1', port=0) as running:
        yield running


@pytest.fixture
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the CLI's tables print whole names instead of folding them."""
    from mosaico_ros import cli

    monkeypatch.setattr(cli.console, 'width', 200)


@pytest.fixture(scope='session')
def colcon_install(tmp_path_factory: pytest.TempPathFactory) -> ColconInstall:
    """This package built by `colcon build` in a temporary ament workspace, once per session."""
    pytest.importorskip('colcon_core', reason='colcon (in the test extra) builds the package')
    from colcon_build import colcon_build

    return colcon_build(REPO, tmp_path_factory.mktemp('colcon_ws'))
