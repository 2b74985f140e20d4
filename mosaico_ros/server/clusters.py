"""Time clusters of matching rows, and their intersection across topics.

Semantics, as the 0.7.0 SDK documents `clusterize`:

* Matching rows are taken in timestamp order. With `clustering_dt_ns = 0`
  they form one cluster, from the first match to the last. With N > 0 a new
  cluster starts wherever two consecutive matches are more than N ns apart;
  rows that do not match in between do not split a cluster.
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
    """Builds clusters incrementally from the matching timestamps of batches in time order.

    Args:
        clustering_dt_ns: Largest gap between consecutive matches inside one
            cluster; 0 keeps every match in a single cluster.

    """

    def __init__(self, clustering_dt_ns: int) -> None:
        self._dt = clustering_dt_ns
        self._open: Span | None = None
        self.clusters: list[Span] = []

    def feed(self, stamps: np.ndarray) -> None:
        """Consume the next matching timestamps (ascending, after those fed before)."""
        if not len(stamps):
            return
        stamps = stamps.astype(np.int64, copy=False)
        # The open cluster continues with its last match; its start stays.
        start = int(stamps[0]) if self._open is None else self._open[0]
        if self._open is not None:
            stamps = np.concatenate([[self._open[1]], stamps])
        if self._dt > 0:
            for index in np.flatnonzero(np.diff(stamps) > self._dt):
                self.clusters.append((start, int(stamps[index])))
                start = int(stamps[index + 1])
        self._open = (start, int(stamps[-1]))

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
