"""Recognize a storage file by its first bytes, never by its name."""

from __future__ import annotations

import shutil
import tempfile
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import zstandard

from mosaico_ros.bags.errors import BagCorruptError, BagFormatError
from mosaico_ros.bags.mcapfile import McapReader
from mosaico_ros.bags.ros1 import Ros1Reader
from mosaico_ros.bags.sqlite import Db3Reader

if TYPE_CHECKING:
    from mosaico_ros.bags.reader import BagReader

ROS1_MAGIC = b'#ROSBAG V2.0'
ROS1_ANY_MAGIC = b'#ROSBAG V'
MCAP_MAGIC = b'\x89MCAP0\r\n'
SQLITE_MAGIC = b'SQLite format 3\x00'
ZSTD_MAGIC = b'\x28\xb5\x2f\xfd'


class FileFormat(Enum):
    """Storage formats we read."""

    ROS1 = 'ros1'
    MCAP = 'mcap'
    SQLITE = 'sqlite3'
    ZSTD = 'zstd'


def sniff(path: Path) -> FileFormat:
    """Return the format of a file from its magic bytes.

    Args:
        path: File to look at.

    Returns:
        The format.

    Raises:
        BagFormatError: Empty, unreadable or of no format we read.

    """
    try:
        with path.open('rb') as fh:
            head = fh.read(16)
    except OSError as exc:
        msg = f'{path}: cannot be read: {exc.strerror or exc}'
        raise BagFormatError(msg) from exc
    if not head:
        msg = f'{path}: empty file (0 bytes), no bag format to read'
        raise BagFormatError(msg)
    if head.startswith(ROS1_MAGIC):
        return FileFormat.ROS1
    if head.startswith(ROS1_ANY_MAGIC):
        version = head.split(b'\n')[0].decode(errors='replace')
        msg = f'{path}: ROS 1 bag version {version!r} is not supported, only V2.0'
        raise BagFormatError(msg)
    if head.startswith(MCAP_MAGIC):
        return FileFormat.MCAP
    if head.startswith(SQLITE_MAGIC):
        return FileFormat.SQLITE
    if head.startswith(ZSTD_MAGIC):
        return FileFormat.ZSTD
    msg = (
        f'{path}: unknown format: first bytes {head!r} are not a ROS 1 bag, MCAP,'
        ' SQLite or zstd magic'
    )
    raise BagFormatError(msg)


def decompress_zstd(path: Path, target_dir: Path) -> Path:
    """Stream-decompress a whole-file zstd storage file into target_dir.

    Args:
        path: Compressed file (`*.mcap.zstd`, `*.db3.zstd`).
        target_dir: Directory for the decompressed copy.

    Returns:
        Path of the decompressed copy.

    Raises:
        BagCorruptError: The zstd stream is damaged or cut short.

    """
    name = path.name.removesuffix('.zstd').removesuffix('.zst') or 'storage'
    target = target_dir / name
    try:
        with path.open('rb') as src, target.open('wb') as dst:
            zstandard.ZstdDecompressor().copy_stream(src, dst)
    except zstandard.ZstdError as exc:
        raise BagCorruptError(f'zstd stream does not decompress: {exc}', file=path) from exc
    return target


def open_file(path: Path, *, strict: bool = False, display_path: Path | None = None) -> BagReader:
    """Open a single storage file by content.

    Args:
        path: File to open.
        strict: Raise on damage instead of recording problems.
        display_path: Name reported for the file.

    Returns:
        Reader for the file.

    Raises:
        BagFormatError: Unknown or nested-compressed format.

    """
    fmt = sniff(path)
    shown = display_path or path
    if fmt is FileFormat.ROS1:
        return Ros1Reader(path, strict=strict, display_path=shown)
    if fmt is FileFormat.MCAP:
        return McapReader(path, strict=strict, display_path=shown)
    if fmt is FileFormat.SQLITE:
        return Db3Reader(path, strict=strict, display_path=shown)
    if display_path is not None:
        msg = f'{shown}: zstd inside zstd is not a bag format'
        raise BagFormatError(msg)
    tmp = Path(tempfile.mkdtemp(prefix='mosaico-bag-'))
    try:
        inner = decompress_zstd(path, tmp)
        reader = open_file(inner, strict=strict, display_path=path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    reader.size_bytes = path.stat().st_size
    reader.on_close(lambda: shutil.rmtree(tmp, ignore_errors=True))
    return reader
