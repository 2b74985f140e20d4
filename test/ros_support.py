"""Helpers of the live ROS tests: a fresh DDS domain per test, processes, stored rows.

Every process of a test (publishers, the recorder, the player, the test's own
rclpy context) shares one ROS domain id no other test uses, on loopback only.
"""

from __future__ import annotations

import json
import os
import pickle
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

HERE = Path(__file__).resolve().parent
_RANDOM = random.SystemRandom()
_USED: set[int] = set()
_STARTED: list[Process] = []


@pytest.fixture
def ros_domain(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """A ROS domain id of this test alone (inherited by every process it starts).

    Every process the test started and left running is killed when it ends.
    """
    # Random, so that concurrent test sessions on one machine rarely meet; never reused here.
    domain = _RANDOM.choice(sorted(set(range(1, 233)) - _USED))
    _USED.add(domain)
    monkeypatch.setenv('ROS_DOMAIN_ID', str(domain))
    monkeypatch.setenv('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    yield domain
    while _STARTED:
        process = _STARTED.pop()
        if process.popen.poll() is None:
            process.kill()


class Process:
    """A child process whose output is collected in the background."""

    def __init__(
        self, command: Sequence[str], cwd: Path | None = None, *, new_session: bool = False
    ) -> None:
        self.command = list(command)
        self.popen = subprocess.Popen(
            self.command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            start_new_session=new_session,  # a group of its own, as a terminal gives
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        _STARTED.append(self)

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for raw in self.popen.stdout:
            self.lines.append(raw.decode(errors='replace').rstrip('\n'))

    @property
    def output(self) -> str:
        return '\n'.join(self.lines)

    def wait_for(self, text: str, timeout: float = 60.0) -> None:
        """Wait until a line containing `text` was printed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return
            if self.popen.poll() is not None:
                self._reader.join(2)
                if any(text in line for line in self.lines):
                    return
                raise AssertionError(f'{self.command[:4]} ended before {text!r}:\n{self.output}')
            time.sleep(0.05)
        raise AssertionError(
            f'no {text!r} after {timeout} s from {self.command[:4]}:\n{self.output}'
        )

    def stop(self, sig: int = signal.SIGINT, timeout: float = 120.0, *, group: bool = False) -> int:
        """Send `sig` (to its whole process group, as a terminal's Ctrl-C, when `group`).

        Waits for the process to end and returns its status.
        """
        if self.popen.poll() is None:
            if group:
                os.killpg(self.popen.pid, sig)
            else:
                self.popen.send_signal(sig)
        try:
            status = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            raise AssertionError(f'{self.command[:4]} did not stop:\n{self.output}') from None
        self._reader.join(5)
        return status

    def finish(self, timeout: float = 120.0) -> int:
        """Wait for the process to end by itself; return its status."""
        try:
            status = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            raise AssertionError(f'{self.command[:4]} did not end:\n{self.output}') from None
        self._reader.join(5)
        return status

    def kill(self) -> None:
        """SIGKILL, no cleanup."""
        self.popen.kill()
        self.popen.wait(30)


@contextmanager
def publisher(spec: dict[str, Any], folder: Path) -> Iterator[Process]:
    """Run `ros_publisher.py` with a spec; the process is stopped on exit."""
    spec_path = folder / f'publisher_{time.monotonic_ns()}.json'
    spec_path.write_text(json.dumps(spec))
    out = spec_path.with_suffix('.pkl')
    process = Process([sys.executable, str(HERE / 'ros_publisher.py'), str(spec_path), str(out)])
    process.out = out  # type: ignore[attr-defined]
    try:
        yield process
    finally:
        if process.popen.poll() is None:
            process.stop(signal.SIGTERM, timeout=30)


def published(process: Process, timeout: float = 120.0) -> dict[str, list[bytes]]:
    """Wait for a publisher to finish and return what it published, per topic."""
    process.wait_for('published', timeout)
    with open(process.out, 'rb') as handle:  # type: ignore[attr-defined]
        return pickle.load(handle)


@contextmanager
def subscriber(spec: dict[str, Any], folder: Path) -> Iterator[Process]:
    """Run `ros_subscriber.py` with a spec; the process is stopped on exit."""
    spec_path = folder / f'subscriber_{time.monotonic_ns()}.json'
    spec_path.write_text(json.dumps(spec))
    out = spec_path.with_suffix('.pkl')
    process = Process([sys.executable, str(HERE / 'ros_subscriber.py'), str(spec_path), str(out)])
    process.out = out  # type: ignore[attr-defined]
    try:
        yield process
    finally:
        if process.popen.poll() is None:
            process.stop(signal.SIGTERM, timeout=30)


def received(process: Process, timeout: float = 120.0) -> dict[str, list[tuple[int, int, bytes]]]:
    """Wait for a subscriber to finish; per topic, (receive ns, publish ns, CDR bytes)."""
    process.wait_for('received', timeout)
    with open(process.out, 'rb') as handle:  # type: ignore[attr-defined]
        return pickle.load(handle)


def mosaico_ros(*args: str, cwd: Path | None = None, new_session: bool = False) -> Process:
    """Start ``mosaico-ros ARGS`` (this interpreter, this checkout)."""
    command = [sys.executable, '-m', 'mosaico_ros', *args]
    return Process(command, cwd=cwd, new_session=new_session)


def stored_rows(client: Any, sequence: str, topic: str) -> pa.Table:
    """Every stored row of a topic."""
    handler = client.topic_handler(sequence, topic)
    assert handler is not None, f'no topic {topic} in {sequence}'
    return pa.Table.from_batches(list(handler.iter_batches()), schema=handler.schema)


def expected_rows(msgtype: str, payloads: list[bytes]) -> list[dict[str, Any]]:
    """What the adapters make of published CDR payloads (rosbags decodes them)."""
    from rosbags.typesys import Stores, get_typestore

    from mosaico_ros.adapters import default_registry
    from mosaico_ros.pipeline.envelope import TopicInfo
    from mosaico_ros.pipeline.types import TypeResolver

    resolver = TypeResolver()
    resolver.add([TopicInfo('', msgtype, 'cdr')])
    store = (
        resolver.typestore
        if msgtype in resolver.typestore.fielddefs
        else get_typestore(Stores.ROS2_HUMBLE)
    )
    adapter = default_registry.resolve(msgtype, store)
    messages = [store.deserialize_cdr(payload, msgtype) for payload in payloads]
    return adapter.to_arrow(messages, msgtype).to_pylist()


class DiagnosticsListener:
    """Collects ``/diagnostics`` in the test process (its own rclpy context)."""

    def __init__(self) -> None:
        import rclpy
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.executors import SingleThreadedExecutor

        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node('test_diagnostics', context=self.context)
        self.arrays: list[Any] = []
        self.node.create_subscription(DiagnosticArray, '/diagnostics', self.arrays.append, 100)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def values(self, name_part: str) -> list[dict[str, str]]:
        """Key/values of every received status whose name contains `name_part`."""
        return [
            {kv.key: kv.value for kv in status.values}
            for array in list(self.arrays)
            for status in array.status
            if name_part in status.name
        ]

    def close(self) -> None:
        import rclpy

        self.executor.shutdown(timeout_sec=2)
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)


class ServiceCaller:
    """Calls a node's ``std_srvs/Trigger`` services from the test process."""

    def __init__(self, node_name: str) -> None:
        import rclpy

        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        from rclpy.executors import SingleThreadedExecutor

        self.node = rclpy.create_node('test_services', context=self.context)
        self.node_name = node_name
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)

    def call(self, service: str, timeout: float = 20.0) -> Any:
        from std_srvs.srv import Trigger

        client = self.node.create_client(Trigger, f'/{self.node_name}/{service}')
        assert client.wait_for_service(timeout_sec=timeout), f'no service {service}'
        future = client.call_async(Trigger.Request())
        self.executor.spin_until_future_complete(future, timeout_sec=timeout)
        assert future.done(), f'{service} did not answer'
        self.node.destroy_client(client)
        return future.result()

    def set_parameters(self, timeout: float = 20.0, **values: Any) -> list[Any]:
        """Set the node's parameters (rcl_interfaces SetParameters); return each result."""
        from rcl_interfaces.srv import SetParameters
        from rclpy.parameter import Parameter

        client = self.node.create_client(SetParameters, f'/{self.node_name}/set_parameters')
        assert client.wait_for_service(timeout_sec=timeout), 'no set_parameters service'
        request = SetParameters.Request(
            parameters=[
                Parameter(name, value=value).to_parameter_msg() for name, value in values.items()
            ]
        )
        future = client.call_async(request)
        self.executor.spin_until_future_complete(future, timeout_sec=timeout)
        assert future.done(), 'set_parameters did not answer'
        self.node.destroy_client(client)
        return list(future.result().results)

    def close(self) -> None:
        import rclpy

        self.executor.shutdown(timeout_sec=2)
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)
