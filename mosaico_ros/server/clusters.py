"""Time clusters of matching rows, and their intersection across topics.

Semantics (PROTOCOL.md leaves them open, §8.3):

* A *run* is a maximal stretch of consecutive rows (in timestamp order) that
  all match the condition. Runs whose gap (next run's first timestamp minus
  the previous run's last) is at most `clustering_dt_ns` merge into one
  cluster. So `clustering_dt_ns = 0` yields the runs themselves.
* A cluster is `[start_ns, end_ns]`, both inclusive: its first and last
  matching timestamps.
* Two clusters of different topics *meet* when they overlap once each is
  widened by `intersect_dt_ns` (`a.start <= b.end + dt` and
  `b.start <= a.end + dt`). Their intersection is `[max(starts), min(ends)]`;
  if they only meet through the tolerance, it is the gap between them
  `[min(ends), max(starts)]`. Intersecting N topics folds this pairwise.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

Span = tuple[int, int]


class Clusterer:
    """Builds clusters incrementally from `(timestamps, mask)` batches in time order.

    Args:
        clustering_dt_ns: Largest gap between runs that still joins them.

    """

    def __init__(self, clustering_dt_ns: int) -> None:
        self._dt = max(0, clustering_dt_ns)
        self._open: Span | None = None
        self._previous_matched = False
        self.clusters: list[Span] = []

    def feed(self, stamps: np.ndarray, mask: np.ndarray) -> None:
        """Consume the next rows: their timestamps and which of them match."""
        if not len(stamps):
            return
        matched = mask.astype(bool)
        before = np.empty_like(matched)
        before[0] = self._previous_matched
        before[1:] = matched[:-1]
        after_unmatched = np.empty_like(matched)
        after_unmatched[:-1] = ~matched[1:]
        after_unmatched[-1] = True
        starts = np.flatnonzero(matched & ~before)
        ends = np.flatnonzero(matched & after_unmatched)
        if matched[0] and self._previous_matched and self._open is not None:
            self._open = (self._open[0], int(stamps[ends[0]]))
            ends = ends[1:]
        self._previous_matched = bool(matched[-1])
        if not len(starts):
            return
        run_starts = stamps[starts].astype(np.int64)
        run_ends = stamps[ends].astype(np.int64)
        if self._open is not None:
            run_starts = np.concatenate([[self._open[0]], run_starts])
            run_ends = np.concatenate([[self._open[1]], run_ends])
        breaks = np.flatnonzero((run_starts[1:] - run_ends[:-1]) > self._dt) + 1
        first = np.concatenate([[0], breaks])
        last = np.concatenate([breaks - 1, [len(run_starts) - 1]])
        for begin, end in zip(first[:-1], last[:-1], strict=True):
            self.clusters.append((int(run_starts[begin]), int(run_ends[end])))
        self._open = (int(run_starts[first[-1]]), int(run_ends[last[-1]]))

    def finish(self) -> list[Span]:
        """Close the last cluster and return them all, in time order."""
        if self._open is not None:
            self.clusters.append(self._open)
            self._open = None
        return self.clusters


def intersect_pair(left: list[Span], right: list[Span], dt: int) -> list[Span]:
    """Intersections of two time-ordered cluster lists, within tolerance `dt`."""
    out: list[Span] = []
    i = j = 0
    while i < len(left) and j < len(right):
        a, b = left[i], right[j]
        if a[0] <= b[1] + dt and b[0] <= a[1] + dt:
            low, high = max(a[0], b[0]), min(a[1], b[1])
            out.append((low, high) if low <= high else (high, low))
        if a[1] < b[1]:
            i += 1
        else:
            j += 1
    return out


def intersect_all(per_topic: Iterable[list[Span]], dt: int) -> list[Span]:
    """Fold :func:`intersect_pair` over every topic's clusters."""
    result: list[Span] | None = None
    for clusters in per_topic:
        result = clusters if result is None else intersect_pair(result, clusters, dt)
    return result or []
