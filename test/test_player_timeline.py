"""The player's time without ROS: which recorded time a playback covers, and its clock."""

from __future__ import annotations

import threading
import time

import pytest

from mosaico_ros.nodes.playback_clock import PlaybackClock
from mosaico_ros.nodes.player_config import PlayerConfig
from mosaico_ros.nodes.timeline import merge_windows, playback_segments, seek_segments

S = 1_000_000_000


def test_segments_of_offset_duration_and_until() -> None:
    assert playback_segments(10 * S) == [(10 * S, None)]
    assert playback_segments(10 * S, offset_ns=2 * S) == [(12 * S, None)]
    # both bounds include the messages at that time, so the end is one past them
    assert playback_segments(10 * S, offset_ns=2 * S, duration_ns=3 * S) == [(12 * S, 15 * S + 1)]
    assert playback_segments(10 * S, until_ns=14 * S) == [(10 * S, 14 * S + 1)]
    # as ros2 bag play: with both, the later bound wins
    assert playback_segments(10 * S, duration_ns=1 * S, until_ns=14 * S) == [(10 * S, 14 * S + 1)]
    assert playback_segments(10 * S, duration_ns=9 * S, until_ns=14 * S) == [(10 * S, 19 * S + 1)]
    assert playback_segments(10 * S, offset_ns=5 * S, until_ns=12 * S) == []


def test_segments_of_windows_are_merged_and_clipped() -> None:
    windows = [(20 * S, 25 * S), (11 * S, 13 * S), (13 * S + 1, 14 * S), (24 * S, 30 * S)]
    assert merge_windows(windows) == [(11 * S, 14 * S), (20 * S, 30 * S)]
    assert playback_segments(10 * S, windows=windows) == [
        (11 * S, 14 * S + 1),
        (20 * S, 30 * S + 1),
    ]
    clipped = playback_segments(10 * S, offset_ns=2 * S, until_ns=22 * S, windows=windows)
    assert clipped == [(12 * S, 14 * S + 1), (20 * S, 22 * S + 1)]
    assert playback_segments(10 * S, windows=[]) == []


def test_seek_keeps_what_follows() -> None:
    segments = [(10 * S, 14 * S), (20 * S, 30 * S)]
    assert seek_segments(segments, 5 * S) == segments
    assert seek_segments(segments, 12 * S) == [(12 * S, 14 * S), (20 * S, 30 * S)]
    assert seek_segments(segments, 16 * S) == [(20 * S, 30 * S)]
    assert seek_segments(segments, 40 * S) == []
    assert seek_segments([(10 * S, None)], 50 * S) == [(50 * S, None)]


class FakeSteady:
    """A steady clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


def test_the_clock_scales_pauses_and_jumps() -> None:
    steady = FakeSteady()
    clock = PlaybackClock(2.0, start_ns=100 * S, monotonic_ns=steady)
    steady.now = 1 * S
    assert clock.now() == 102 * S
    clock.set_rate(0.5)  # no skip when the rate changes
    steady.now = 3 * S
    assert clock.now() == 103 * S
    assert clock.set_paused(True)
    assert not clock.set_paused(True)
    steady.now = 10 * S
    assert clock.now() == 103 * S
    clock.set_paused(False)
    steady.now = 12 * S
    assert clock.now() == 104 * S
    clock.jump(50 * S)
    assert clock.now() == 50 * S
    with pytest.raises(ValueError, match='negative'):
        clock.set_rate(-1.0)


def test_waits_end_on_time_on_cancel_or_at_once_at_rate_0() -> None:
    clock = PlaybackClock(1.0, start_ns=0)
    started = time.monotonic()
    assert clock.wait_until(50_000_000)
    assert 0.045 <= time.monotonic() - started < 0.5
    # paused: only a cancel ends the wait
    clock.set_paused(True)
    stop = threading.Event()
    threading.Timer(0.1, lambda: (stop.set(), clock.interrupt())).start()
    assert clock.wait_until(10 * S, stop.is_set) is False
    # as fast as possible: at once, and the clock follows the messages
    clock.set_paused(False)
    clock.set_rate(0.0)
    started = time.monotonic()
    assert clock.wait_until(1000 * S)
    assert time.monotonic() - started < 0.1
    assert clock.now() == 1000 * S


def test_settings_that_cannot_work_are_refused_with_the_setting_named() -> None:
    with pytest.raises(ValueError, match='name the sequence'):
        PlayerConfig().check()
    with pytest.raises(ValueError, match='rate must not be negative'):
        PlayerConfig(sequences=('a',), rate=-1.0).check()
    with pytest.raises(ValueError, match='OLD:=NEW'):
        PlayerConfig(sequences=('a',), remap=('/a=/b',)).check()
    with pytest.raises(ValueError, match='go with where'):
        PlayerConfig(sequences=('a',), pre_roll=2.0).check()
    with pytest.raises(ValueError, match='acceleration'):
        PlayerConfig(sequences=('a',), where=('IMU.acceleraton.x > 4',)).check()
    config = PlayerConfig(sequences=('a',), remap=('/a:=/b',), playback_until_sec=12.5)
    config.check()
    assert config.remappings() == {'/a': '/b'}
    assert config.until_ns() == 12_500_000_000
