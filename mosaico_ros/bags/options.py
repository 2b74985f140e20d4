"""What `mosaico-ros inject` can be told: options, time bounds and sequence names."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from mosaico_ros.pipeline.selection import TopicSelection

OnError = Literal['report', 'delete']

_VALID_NAME = re.compile(r'[^A-Za-z0-9_-]+')
_BAG_SUFFIXES = ('.zstd', '.zst', '.mcap', '.db3', '.bag')


@dataclass(frozen=True)
class InjectOptions:
    """Everything `mosaico-ros inject` can be told.

    Attributes:
        sequence: Sequence name; only valid for a single bag. Derived from the
            bag's name when None.
        metadata: Sequence user metadata (``rosbag_injection`` is added).
        topic_metadata: Topic name -> user metadata of that topic.
        selection: Which topics to ingest, in rosbag2's vocabulary (exact
            names, regexes, exclusions, types); every topic by default.
        start_ns: Only messages with log time >= start_ns.
        end_ns: Only messages with log time < end_ns.
        dry_run: Plan only: nothing is written.
        on_error: 'report' keeps what was stored and counts the losses;
            'delete' removes the whole sequence (the session for --update)
            when anything was lost.
        update: Add a session to an existing sequence instead of failing; the
            bag's topics must be new to the sequence.
        resume: Complete an interrupted inject: like `update`, but the topics
            the sequence already holds are left out (and named in the report),
            and the sequence is created when it does not exist.
        adapters: Dotted modules to import so their adapters register.
        adapter_overrides: Topic -> adapter class name or ontology tag.
        msg_paths: Directories of ``<pkg>/msg/<Name>.msg`` definitions.
        distro: ROS distribution whose stock types are the base typestore.
        batch_messages: Messages per topic decoded and pushed together. A
            batch's fixed cost (a numpy call per field, an Arrow batch, a
            Flight message) is about a millisecond, so 4096 rather than 1000
            makes inject 15-30% faster on the benchmark recordings;
            `batch_bytes` still bounds batches of large messages.
        batch_bytes: Payload bytes per topic that force a flush.
        buffer_budget: Payload bytes over all topics that force a flush of all;
            also the bound on payload bytes in flight to the workers.
        jobs: Worker processes decoding and converting batches; None is the
            usable CPUs, at most four; 0 converts in this process. A bag
            too small to fill a few batches is converted in-process.
        image_format: How ``sensor_msgs/msg/Image`` data is stored: 'raw'
            (compressed by the chunk) or 'png' (packed, as the SDK's injector does).

    """

    sequence: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    topic_metadata: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    selection: TopicSelection = field(default_factory=TopicSelection)
    start_ns: int | None = None
    end_ns: int | None = None
    dry_run: bool = False
    on_error: OnError = 'report'
    update: bool = False
    resume: bool = False
    adapters: Sequence[str] = ()
    adapter_overrides: Mapping[str, str] = field(default_factory=dict)
    msg_paths: Sequence[Path] = ()
    distro: str | None = None
    batch_messages: int = 4096
    batch_bytes: int = 8 << 20
    buffer_budget: int = 64 << 20
    jobs: int | None = None
    image_format: Literal['raw', 'png'] = 'raw'


def parse_time(text: str) -> int:
    """Parse a time bound into nanoseconds since the epoch.

    Accepted forms: an integer is nanoseconds (``1700000000123456789``); a
    number with a decimal point or exponent is seconds (``1700000000.5``);
    anything else is ISO-8601 (``2023-11-14T22:13:20Z``, ``2023-11-14
    22:13:20.5+01:00``), UTC when no offset is given.

    Args:
        text: The bound as typed.

    Returns:
        Nanoseconds since the Unix epoch.

    Raises:
        ValueError: `text` is none of the accepted forms.

    """
    value = text.strip()
    if re.fullmatch(r'[+-]?\d+', value):
        return int(value)
    if re.fullmatch(r'[+-]?(\d+\.\d*|\.\d+|\d+(\.\d*)?[eE][+-]?\d+)', value):
        seconds, _, fraction = f'{float(value):.9f}'.partition('.')
        sign = -1 if seconds.startswith('-') else 1
        return int(seconds) * 1_000_000_000 + sign * int(fraction)
    try:
        moment = datetime.fromisoformat(value.replace('Z', '+00:00'))
    except ValueError:
        raise ValueError(
            f'time {text!r} is neither nanoseconds (integer), seconds (with a decimal '
            'point) nor ISO-8601',
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    delta = moment - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def sequence_name_for(path: Path) -> tuple[str, str | None]:
    """Derive a valid sequence name from a bag path.

    Known storage suffixes (``.mcap``, ``.db3``, ``.bag``, ``.zstd``) are
    dropped, every run of characters outside ``[A-Za-z0-9_-]`` becomes one
    ``_``, and a name not starting with a letter or digit gets an ``s``
    prefix.

    Args:
        path: File or rosbag2 directory.

    Returns:
        The name, and the raw name (without storage suffixes) when sanitizing
        changed it (else None: dropping ``.mcap`` renames nothing).

    """
    raw = path.resolve().name if path.name in ('', '.', '..') else path.name
    stem = raw
    while True:
        lowered = stem.lower()
        suffix = next((s for s in _BAG_SUFFIXES if lowered.endswith(s) and len(stem) > len(s)), '')
        if not suffix:
            break
        stem = stem[: -len(suffix)]
    name = _VALID_NAME.sub('_', stem).strip('_') or 'bag'
    if not name[0].isalnum():
        name = f's{name}'
    return name, (None if name == stem else stem)
