"""`mosaico-ros watch`: a service ingesting the bags that appear in a folder.

`Watcher` scans, `WatchState` remembers across restarts, `StopSignals`
turns SIGTERM into a clean stop; `candidates` decides what is a complete bag.
"""

from mosaico_ros.watch.signals import Abandon, AbandonCheck, StopSignals
from mosaico_ros.watch.state import Entry, WatchState, default_state_path
from mosaico_ros.watch.watcher import EventKind, Watcher, WatchEvent, WatchOptions

__all__ = [
    'Abandon',
    'AbandonCheck',
    'Entry',
    'EventKind',
    'StopSignals',
    'WatchEvent',
    'WatchOptions',
    'WatchState',
    'Watcher',
    'default_state_path',
]
