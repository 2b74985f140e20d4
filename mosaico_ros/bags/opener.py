"""`open_bag`: one entry point for every bag format."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mosaico_ros.bags.detect import open_file
from mosaico_ros.bags.errors import BagFormatError
from mosaico_ros.bags.rosbag2 import Rosbag2Reader

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mosaico_ros.bags.reader import BagReader


def open_bag(
    path: Path | str,
    *,
    msg_paths: Sequence[Path | str] = (),
    distro: str | None = None,
    strict: bool = False,
) -> BagReader:
    """Open a bag of any supported format, recognized by content.

    A directory with metadata.yaml is a rosbag2 bag (whatever its name, even
    `*.bag`); a path to that metadata.yaml opens its directory. A file is
    recognized by its magic: ROS 1 bag V2.0, MCAP, SQLite (bare `.db3`) or
    whole-file zstd (decompressed to a temporary file removed on close).

    Args:
        path: File or rosbag2 directory.
        msg_paths: Directories with `<pkg>/msg/<Name>.msg` or `.idl` files, used
            by `BagReader.typestore()`.
        distro: ROS distro of the stock typestore ('humble', 'noetic', ...),
            used by `BagReader.typestore()`.
        strict: Raise `BagCorruptError` at the first damage instead of
            recording it in `problems`.

    Returns:
        An open reader; use it as a context manager.

    Raises:
        BagFormatError: Nothing at path, empty file, or unknown format.

    """
    path = Path(path)
    if path.name == 'metadata.yaml' and path.is_file():
        path = path.parent
    if path.is_dir():
        if not (path / 'metadata.yaml').is_file():
            msg = f'{path}: a directory without metadata.yaml is not a rosbag2 bag'
            raise BagFormatError(msg)
        reader: BagReader = Rosbag2Reader(path, strict=strict)
    elif path.exists():
        reader = open_file(path, strict=strict)
    else:
        msg = f'{path}: no such file or directory'
        raise BagFormatError(msg)
    reader.msg_paths = tuple(Path(p) for p in msg_paths)
    reader.distro = distro
    return reader
