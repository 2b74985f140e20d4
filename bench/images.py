"""Measure how `Image` rows are best stored: PNG-packed, or raw under the chunk's zstd.

Both are `Image` formats the official SDK reads. For each set of images:

- every ``sensor_msgs/msg/Image`` of the shared bags whose buffer is whole
  (real cameras and test fixtures, a handful of frames);
- the benchmarks' generated 640x480 rgb8 frames (`mosaico_ros.demo.recording`,
  a repeated byte pattern: the easiest case for any compressor);
- generated camera-like 640x480 rgb8 frames: smooth gradients under sensor
  noise (the hardest case: noise does not compress),

both formats of `ImageAdapter` are timed and sized on the same decoded
columns, as the pipeline and the embedded server handle them:

- convert: ``to_arrow`` (PNG packs every image; raw copies no pixel);
- sent: Arrow bytes of the rows, what DoPut carries to the server;
- stored: the rows written as the embedded server writes a chunk (Parquet,
  zstd), its bytes and the time it takes;
- read: the chunk read back and turned into ROS messages (``from_arrow``).

Run: python bench/images.py [--frames 60] [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from rosbags.typesys import Stores, get_typestore

from mosaico_ros.adapters.sensor_msgs import ImageAdapter, PngImageAdapter
from mosaico_ros.codec import compile_plan, decode
from mosaico_ros.demo.recording import RecordingSpec, _MessageFactory

IMAGE = 'sensor_msgs/msg/Image'
SHARED = Path(os.environ.get('MOSAICO_SHARED', Path(__file__).resolve().parents[2] / 'shared'))


@dataclass
class ImageSet:
    """Decoded images of one kind: their ROS-shaped columns and the typestore that reads them."""

    label: str
    columns: pa.StructArray
    typestore: Any

    @property
    def raw_bytes(self) -> int:
        return int(np.sum(np.asarray(pa.compute.list_value_length(self.columns.field('data')))))


def shared_images() -> ImageSet | None:
    """Every Image of the shared bags, decoded with the codec."""
    from mosaico_ros.bags import open_bag

    bags = SHARED / 'data' / 'bags'
    if not bags.exists():
        return None
    humble = get_typestore(Stores.ROS2_HUMBLE)
    parts = []
    for path in sorted(p for p in bags.glob('*/*') if not p.name.endswith('.md')):
        try:
            reader = open_bag(path)
        except Exception:  # damaged bags are other benchmarks' business
            continue
        with reader:
            wanted = [c for c in reader.connections if c.msgtype == IMAGE]
            if not wanted:
                continue
            for conn in wanted:
                ros1 = conn.encoding == 'ros1'
                payloads = [bytes(m.data) for m in reader.messages([conn])]
                plan = compile_plan(reader.typestore() if ros1 else humble, IMAGE, ros1=ros1)
                blob = b''.join(payloads)
                batch = decode(plan, blob, np.cumsum([len(p) for p in payloads]).tolist())
                parts.append(batch.struct.cast(compile_plan(humble, IMAGE).arrow_type))
    if not parts:
        return None
    images = pa.concat_arrays(parts)
    sizes = np.asarray(pa.compute.list_value_length(images.field('data')))
    expected = np.asarray(images.field('height'), np.int64) * np.asarray(images.field('step'))
    whole = (sizes == expected) & (sizes > 0)  # test bags hold a few stubs no adapter stores
    return ImageSet('shared bags', images.filter(pa.array(whole)), humble)


def generated_images(frames: int, camera_like: bool) -> ImageSet:
    """Frames of 640x480 rgb8: the demo recording's, or noisy gradients."""
    spec = RecordingSpec(image_width=640, image_height=480)
    factory = _MessageFactory(Stores.ROS2_HUMBLE, spec)
    rng = np.random.default_rng(11)
    y, x = np.mgrid[0:480, 0:640]
    payloads = []
    for index in range(frames):
        msg = factory.image(index, 1_700_000_000_000_000_000 + index)
        if camera_like:
            base = np.stack([x * 0.3 + index, y * 0.4, (x + y) * 0.2], axis=-1)
            noisy = base + rng.normal(0.0, 3.0, base.shape)
            msg.data = np.clip(noisy, 0, 255).astype(np.uint8).reshape(-1)
        payloads.append(bytes(factory.typestore.serialize_cdr(msg, IMAGE)))
    plan = compile_plan(factory.typestore, IMAGE)
    batch = decode(plan, b''.join(payloads), np.cumsum([len(p) for p in payloads]).tolist())
    label = 'camera-like 640x480' if camera_like else 'demo pattern 640x480'
    return ImageSet(label, batch.struct, factory.typestore)


def best(repeat: int, run: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return min(times), result


def measure(images: ImageSet, adapter: ImageAdapter, repeat: int) -> dict[str, float]:
    count = len(images.columns)
    convert_s, rows = best(repeat, lambda: adapter.to_arrow(images.columns, IMAGE))
    table = pa.Table.from_struct_array(rows)

    def store() -> bytes:
        sink = io.BytesIO()
        pq.write_table(table, sink, compression='zstd', row_group_size=65_536)
        return sink.getvalue()

    store_s, chunk = best(repeat, store)

    def read() -> list[Any]:
        back = pq.read_table(io.BytesIO(chunk))
        return adapter.from_arrow(back, IMAGE, images.typestore)

    read_s, _ = best(repeat, read)
    return {
        'convert_ms': 1e3 * convert_s / count,
        'sent': rows.nbytes,
        'stored': len(chunk),
        'store_ms': 1e3 * store_s / count,
        'read_ms': 1e3 * read_s / count,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--frames', type=int, default=60, help='generated frames per set')
    parser.add_argument('--repeat', type=int, default=3, help='runs; the best counts')
    args = parser.parse_args()
    sets = [
        shared_images(),
        generated_images(args.frames, camera_like=False),
        generated_images(args.frames, camera_like=True),
    ]
    print(
        f'{"images":<24} {"n":>4} {"raw MB":>7} {"format":>6} {"convert ms":>10} '
        f'{"sent MB":>8} {"stored MB":>9} {"store ms":>8} {"write ms":>8} {"read ms":>8}'
    )
    for images in sets:
        if images is None:
            continue
        for adapter in (PngImageAdapter(), ImageAdapter()):
            rates = measure(images, adapter, args.repeat)
            print(
                f'{images.label:<24} {len(images.columns):>4} {images.raw_bytes / 1e6:>7.1f} '
                f'{adapter.image_format:>6} {rates["convert_ms"]:>10.2f} '
                f'{rates["sent"] / 1e6:>8.1f} {rates["stored"] / 1e6:>9.2f} '
                f'{rates["store_ms"]:>8.2f} '
                f'{rates["convert_ms"] + rates["store_ms"]:>8.2f} {rates["read_ms"]:>8.2f}'
            )


if __name__ == '__main__':
    main()
