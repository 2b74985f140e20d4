"""Run `mosaico-ros` as a user does: real processes, real servers, a clean environment."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

MOSAICO_ENV = (
    'MOSAICO_DAEMON_URL',
    'MOSAICO_API_KEY',
    'MOSAICO_TLS',
    'MOSAICO_CERT_PATH',
    'MOSAICO_TLS_CERT_FILE',
    'MOSAICO_PROFILE',
    'MOSAICO_CONFIG_PATH',
    'MOSAICO_STORE',
)


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """An environment with no Mosaico settings, HOME and XDG dirs under `home`.

    `mosaico-ros` on PATH runs this checkout with this interpreter, as the
    official `mosaico` CLI finds its extensions on PATH.
    """
    bin_dir = home / 'bin'
    bin_dir.mkdir(parents=True, exist_ok=True)
    shim = bin_dir / 'mosaico-ros'
    shim.write_text(f'#!/bin/sh\nexec {sys.executable} -m mosaico_ros "$@"\n')
    shim.chmod(0o755)
    env = {key: value for key, value in os.environ.items() if key not in MOSAICO_ENV}
    env.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / '.local' / 'share'),
        XDG_STATE_HOME=str(home / '.local' / 'state'),
        PATH=f'{bin_dir}{os.pathsep}{env.get("PATH", "")}',
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get('PYTHONPATH')])),
        PYTHONUNBUFFERED='1',
        COLUMNS='200',
    )
    env.update(extra)
    return env


def run(
    args: list[str], env: Mapping[str, str], timeout: float = 120, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """Run `mosaico-ros ARGS` and capture its output."""
    return subprocess.run(
        [sys.executable, '-m', 'mosaico_ros', *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **kwargs,
    )


def free_port() -> int:
    """A TCP port free right now on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve(store: Path, env: Mapping[str, str]) -> Iterator[int]:
    """Run `mosaico-ros serve` on a store until the block ends; yield its port."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, '-m', 'mosaico_ros', 'serve', '--store', str(store), '--port', str(port)],
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_answering(port, process)
        yield port
    finally:
        process.terminate()
        process.communicate(timeout=30)


def wait_answering(port: int, process: subprocess.Popen[str] | None = None) -> None:
    """Wait until a Flight server answers `info` on the port."""
    import pyarrow.flight as flight

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            output = process.stdout.read() if process.stdout else ''
            raise RuntimeError(f'server exited with {process.returncode}: {output}')
        try:
            with flight.connect(f'grpc://127.0.0.1:{port}') as client:
                list(client.do_action(flight.Action('info', b'{}')))
                return
        except flight.FlightError:
            time.sleep(0.05)
    raise TimeoutError(f'no server on port {port}')


def sdk_contents(port: int, **connect: Any) -> dict[str, dict[str, int]]:
    """Every sequence the official SDK sees, with each topic's row count.

    Opens every sequence and topic handler, so a half-made sequence the SDK
    cannot open fails here.
    """
    from mosaicolabs import MosaicoClient as PeerClient

    contents: dict[str, dict[str, int]] = {}
    with PeerClient.connect('127.0.0.1', port, **connect) as peer:
        for name in peer.list_sequences():
            handler = peer.sequence_handler(name)
            assert handler is not None, f'the SDK cannot open sequence {name}'
            topics: dict[str, int] = {}
            for topic in handler.topics:
                topic_handler = peer.topic_handler(name, topic)
                assert topic_handler is not None, f'the SDK cannot open {name}/{topic}'
                topics[topic] = sum(1 for _ in topic_handler.get_data_streamer())
            contents[name] = topics
    return contents
