"""What part of the recorded time a playback covers: segments of `[start, end)`.

A plain playback is one segment, from the first recorded message (plus
``--start-offset``) to the last (or to ``--playback-duration`` /
``--playback-until-*``). A ``--where`` playback is one segment per window
where the query holds. Between segments the player jumps: the time in
between is not waited for. A seek keeps the segments after the seek time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

Segment = tuple[int, int | None]
"""`(start_ns, end_ns)`: recorded times from `start_ns` (inclusive) to `end_ns`
(exclusive; None: to the end of the recording)."""


def playback_segments(
    start_ns: int,
    *,
    offset_ns: int = 0,
    duration_ns: int | None = None,
    until_ns: int | None = None,
    windows: Iterable[tuple[int, int]] | None = None,
) -> list[Segment]:
    """Return the segments a playback covers.

    As in ``ros2 bag play``, when both a duration and an until time are
    given, playback stops at the later of the two; both bounds include the
    messages at that time.

    Args:
        start_ns: First recorded time of the sequences.
        offset_ns: Start this long after `start_ns`.
        duration_ns: Play this long after the (offset) start; None: no bound.
        until_ns: Play up to this recorded time; None: no bound.
        windows: Only these `(start_ns, end_ns)` windows (both inclusive), if given.

    Returns:
        The segments in time order, without overlaps; empty when nothing is left.

    """
    begin = start_ns + offset_ns
    bounds = (None if duration_ns is None else begin + duration_ns, until_ns)
    stops = [bound for bound in bounds if bound is not None]
    end = max(stops) + 1 if stops else None
    if windows is None:
        return [] if end is not None and end <= begin else [(begin, end)]
    segments: list[Segment] = []
    for low, high in merge_windows(windows):
        first, last = max(low, begin), high + 1 if end is None else min(high + 1, end)
        if first < last:
            segments.append((first, last))
    return segments


def merge_windows(windows: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Return inclusive windows in time order, overlapping or touching ones joined."""
    merged: list[tuple[int, int]] = []
    for low, high in sorted(windows):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def seek_segments(segments: Sequence[Segment], time_ns: int) -> list[Segment]:
    """Return what is left of `segments` from `time_ns` on.

    A time before the first segment starts it from its beginning; a time
    between two segments starts at the next one.
    """
    left: list[Segment] = []
    for start, end in segments:
        if end is not None and end <= time_ns:
            continue
        left.append((max(start, time_ns), end))
    return left
