"""Shared data builders for the embedded-server tests (no tests here).

Messages are built with the real `mosaicolabs` 0.7.0 models, so what the
server receives is exactly what the SDK sends.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

T0 = 1_700_000_000_000_000_000
IMU_STEP = 10_000_000
GPS_STEP = 30_000_000
IMAGE_STEP = 100_000_000

SEQUENCE_METADATA = {
    'project': 'Apollo',
    'driver': {'driver_id': 'drv_017', 'role': 'validation'},
    'environment': {'visibility': 40, 'weather': 'fog'},
    'tags': ['night', 'urban'],
}
IMU_METADATA = {'vendor': 'inertix', 'calibrated': 'false', 'update_rate_hz': 100}
GPS_METADATA = {'role': 'primary_gps', 'interface': {'type': 'UART', 'baudrate': 115200}}


def sdk() -> Any:
    """Import the peer SDK, skipping when it is not installed."""
    return pytest.importorskip('mosaicolabs', reason='the peer SDK mosaicolabs 0.7.0 is absent')


def connect(port: int, **kwargs: Any) -> Any:
    """A `MosaicoClient` on 127.0.0.1."""
    return sdk().MosaicoClient.connect('127.0.0.1', port, **kwargs)


def imu_message(index: int, stamp: int | None = None) -> Any:
    """IMU sample `index`; acceleration.z crosses 9.0 in two bursts."""
    mc = sdk()
    stamp = T0 + index * IMU_STEP if stamp is None else stamp
    z = 9.5 if (50 <= index < 80 or 200 <= index < 210) else 8.0
    return mc.Message(
        timestamp_ns=stamp,
        data=mc.IMU(
            header=mc.Header(
                timestamp=mc.Time(seconds=stamp // 10**9, nanoseconds=stamp % 10**9),
                frame_id='imu_link',
                sample_counter=index,
            ),
            acceleration=mc.Vector3d(
                x=float(index),
                y=-float(index),
                z=z,
                covariance=[0.01 * index, 0.5, 2.0],
            ),
            angular_velocity=mc.Vector3d(x=0.1, y=0.2, z=0.3),
            orientation=mc.Quaternion(x=0.0, y=0.0, z=0.0, w=1.0),
        ),
    )


def gps_message(index: int) -> Any:
    """GPS sample `index`."""
    mc = sdk()
    stamp = T0 + index * GPS_STEP
    return mc.Message(
        timestamp_ns=stamp,
        data=mc.GPS(
            position=mc.Point3d(x=45.0 + index * 1e-5, y=9.0, z=120.0),
            status=mc.GPSStatus(status=0, service=1, satellites=4 + index % 8),
        ),
    )


def image_message(index: int) -> Any:
    """Small raw mono8 Image `index`."""
    mc = sdk()
    pixels = [(index + i) % 256 for i in range(16 * 8)]
    image = mc.Image.from_linear_pixels(
        data=pixels,
        stride=16,
        height=8,
        width=16,
        encoding='mono8',
        format=mc.ImageFormat.RAW,
    )
    return mc.Message(timestamp_ns=T0 + index * IMAGE_STEP, data=image)


def compressed_message(index: int) -> Any:
    """CompressedImage `index` with arbitrary bytes."""
    mc = sdk()
    payload = bytes((index * 7 + i) % 256 for i in range(64 + index))
    return mc.Message(
        timestamp_ns=T0 + index * IMAGE_STEP + 5,
        data=mc.CompressedImage(data=payload, format=mc.ImageFormat.JPEG),
    )


def write_drive(client: Any, name: str, imu: int = 2000, gps: int = 600, images: int = 20) -> None:
    """Write IMU, GPS, Image and CompressedImage topics as one new sequence."""
    mc = sdk()
    with client.sequence_create(name, SEQUENCE_METADATA) as writer:
        imu_writer = writer.topic_create('sensors/imu', IMU_METADATA, mc.IMU)
        gps_writer = writer.topic_create('/sensors/gps', GPS_METADATA, mc.GPS)
        image_writer = writer.topic_create('camera/raw', {'lens': 'wide'}, mc.Image)
        jpeg_writer = writer.topic_create('camera/jpeg', {}, mc.CompressedImage)
        for index in range(imu):
            imu_writer.push(imu_message(index))
            if index % 3 == 0 and index // 3 < gps:
                gps_writer.push(gps_message(index // 3))
            if index % 10 == 0 and index // 10 < images:
                image_writer.push(image_message(index // 10))
                jpeg_writer.push(compressed_message(index // 10))


def imu_tuple(message: Any) -> tuple[Any, ...]:
    """Comparable content of an IMU message."""
    data = message.data
    acc = data.acceleration
    return (
        message.timestamp_ns,
        data.header.frame_id,
        data.header.sample_counter,
        acc.x,
        acc.y,
        acc.z,
        tuple(acc.covariance),
        data.orientation.w,
    )


SERVER_SCRIPT = """
import sys
from pathlib import Path
from mosaico_ros.server import EmbeddedServer
server = EmbeddedServer(
    Path(sys.argv[1]), '127.0.0.1', int(sys.argv[2]),
    max_message_size=64 * 1024, chunk_max_bytes=16 * 1024,
)
server.serve_forever()
"""


def free_port() -> int:
    """A TCP port free right now on 127.0.0.1."""
    import socket

    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def server_process(store: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """Run `EmbeddedServer.serve_forever` in a child process until it answers."""
    process = subprocess.Popen(
        [sys.executable, '-c', SERVER_SCRIPT, str(store), str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, 'PYTHONUNBUFFERED': '1'},
    )
    try:
        wait_listening(port, process)
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()
        if process.stderr:
            process.stderr.close()


def wait_listening(port: int, process: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until a Flight server answers `info` on the port."""
    import pyarrow.flight as flight

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(
                f'server exited: {process.stderr.read().decode() if process.stderr else ""}'
            )
        try:
            with flight.connect(f'grpc://127.0.0.1:{port}') as client:
                list(client.do_action(flight.Action('info', b'{}')))
                return
        except flight.FlightError:
            time.sleep(0.05)
    raise TimeoutError(f'no server on port {port}')
