"""The player node: stored sequences back onto ROS topics, on their recorded timeline.

``mosaico-ros play SEQUENCE...``, ``ros2 run mosaico_ros player`` and
``launch/play.launch.py`` all run this node (default name
``mosaico_player``); every setting is a ROS parameter named after its
``ros2 bag play`` flag (`PlayerConfig`).

How a message travels:

1. The read-ahead child process (`mosaico_ros.nodes.readahead`) reads the
   sequences' topics (Flight DoGet), merges them in timestamp order, rebuilds
   ROS messages with each topic's adapter and serializes them to CDR: the
   shared reverse chain (`mosaico_ros.pipeline.replay`).
2. A feeder thread buffers them, bounded in messages
   (``read_ahead_queue_size``) and bytes.
3. The scheduler thread publishes each one raw (``publish(bytes)``) when the
   `PlaybackClock` reaches its recorded time: recorded time advances with
   the wall clock scaled by ``rate`` and stands still while paused. A
   publish the RMW refuses (a full reliable history) is retried for a while
   and counted, then given up and counted.

Several sequences play merged on one timeline. Each topic is offered the
QoS recorded with it (``--qos-profile-overrides-path`` overrides it), so
latched topics reach late subscribers; whenever playback starts inside the
recording (``--start-offset``, a seek, a ``--where`` window) the last
message before that point of every latched topic is published first. A
topic whose type is not installed is reported once, with the package to
install, and skipped.

Control: services (``std_srvs/Trigger``) ``~/pause``, ``~/resume``,
``~/toggle_paused``, ``~/is_paused`` and ``~/play_next`` (one message while
paused); parameters ``rate``, ``seek`` (seconds after the start of the
recording) and ``sequences`` (plays those instead, from their start) can be
set while playing; space and right arrow on the terminal. ``--clock HZ``
publishes ``/clock`` with the playback time. SIGINT or SIGTERM stop the
playback; the summary counts what was published and every message that was
not, with its reason.
"""

from __future__ import annotations

import functools
import gc
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from mosaico_ros.nodes import params
from mosaico_ros.nodes.interfaces import MissingInterfaceError, message_class, qos_of
from mosaico_ros.nodes.keyboard import RIGHT_ARROW, SPACE, KeyboardControls
from mosaico_ros.nodes.playback_clock import PlaybackClock
from mosaico_ros.nodes.playback_report import NotPlayed, PlaybackReport, PlayedTopic
from mosaico_ros.nodes.player_config import DEFAULT_NODE_NAME, NS, PlayerConfig
from mosaico_ros.nodes.readahead import END, LATCHED, MESSAGE, SEGMENT, ReadAhead, ReadAheadError
from mosaico_ros.nodes.signals import stop_on_signals
from mosaico_ros.nodes.timeline import Segment, playback_segments, seek_segments
from mosaico_ros.pipeline.qos import load_profile_overrides, normalize_profile, replay_profile

RUNTIME_PARAMETERS = ('rate', 'seek', 'sequences')
"""Parameters that act while playing; the others are read at start."""
RETRY_S = 5.0
"""How long a publish the RMW refuses is retried before the message is given up."""
_RETRY_FIRST_PAUSE_S = 0.0005
_RETRY_MAX_PAUSE_S = 0.02
_STEP_TIMEOUT_S = 5.0


class Player:
    """The rclpy node's playback: publishers, scheduler, services and parameters.

    Args:
        node: The rclpy node (its parameters hold the settings).
        config: The settings read from the node.
        echo: Prints a line for a person.

    Raises:
        ValueError: A setting cannot work.
        ReadAheadError: The sequences cannot be opened.

    """

    def __init__(self, node: Any, config: PlayerConfig, echo: Callable[[str], Any] = print):
        """Open the sequences, create the publishers, and offer services and parameters."""
        config.check()
        self.node = node
        self.config = config
        self.echo = echo
        self.logger = node.get_logger()
        self.remap = config.remappings()
        self.overrides = (
            load_profile_overrides(config.qos_profile_overrides_path)
            if config.qos_profile_overrides_path
            else {}
        )
        self.target = config.target(DEFAULT_NODE_NAME)
        self.clock = PlaybackClock(config.rate, paused=config.start_paused)
        self.finished = threading.Event()
        self.started = threading.Event()
        self.delaying = False
        self._halt = threading.Event()
        self._steps = threading.Condition()
        self._steps_wanted = 0
        self._steps_done = 0
        self._waiting_epoch = 0
        self._reload: tuple[str, ...] | None = None
        self._began_at = time.monotonic()
        self.source: ReadAhead | None = None
        self._scheduler: threading.Thread | None = None
        self.played: dict[int, PlayedTopic] = {}
        self.segments: list[Segment] = []
        self.report = PlaybackReport(config.sequences)
        self._open(config.sequences)
        self._make_services()
        node.add_on_set_parameters_callback(self._on_parameters)
        if config.clock > 0:
            self._make_clock(config.clock)

    # -- opening ------------------------------------------------------------------------------

    def _settings(self, sequences: Sequence[str]) -> dict[str, Any]:
        config = self.config
        return {
            'target': self.target,
            'sequences': list(sequences),
            'selection': config.selection(),
            'distro': os.environ.get('ROS_DISTRO') or None,
            'where': {
                'conditions': list(config.where),
                'topic': config.where_topic,
                'pre_roll_ns': round(config.pre_roll * NS),
                'post_roll_ns': round(config.post_roll * NS),
            }
            if config.where
            else None,
        }

    def _open(self, sequences: Sequence[str]) -> None:
        """Open `sequences` in a read-ahead child and create a publisher per playable topic."""
        source = ReadAhead(self._settings(sequences), self.config.read_ahead_queue_size)
        catalog = source.catalog
        self.source = source
        self.report = PlaybackReport(tuple(sequences))
        for topic, (reason, count) in catalog.refused.items():
            self.report.not_played[topic] = NotPlayed('', reason, count)
        for index, item in enumerate(catalog.topics):
            try:
                cls = message_class(item.msgtype)
            except MissingInterfaceError as err:
                self.report.not_played[item.topic] = NotPlayed(
                    item.msgtype, str(err), item.messages
                )
                continue
            profile = replay_profile(item.qos)
            if item.topic in self.overrides:
                profile = normalize_profile({**profile, **self.overrides[item.topic]})
            name = self.remap.get(item.topic, item.topic)
            publisher = self.node.create_publisher(cls, name, qos_of(profile))
            latched = profile['durability'] == 'transient_local'
            played = PlayedTopic(item.topic, name, item.msgtype, latched, publisher)
            self.played[index] = played
            self.report.topics.append(played)
        for topic, why in self.report.not_played.items():
            self.logger.error(f'not playing {topic}: {why.reason}')
        self.segments = self._segments()
        if catalog.start_ns is None:
            self.echo(f'{", ".join(sequences)}: no message stored in the topics selected')
        else:
            span = ((catalog.end_ns or catalog.start_ns) - catalog.start_ns) / NS
            self.echo(
                f'playing {len(self.played)} topic(s) of {", ".join(sequences)} '
                f'({span:.1f} s recorded) from {self.target.explain()} '
                f'as node {self.node.get_fully_qualified_name()}'
            )
        if catalog.windows is not None:
            total = sum((end or start) - start for start, end in self.segments) / NS
            where = ' AND '.join(self.config.where)
            self.echo(
                f'{len(self.segments)} window(s) where {where} holds, {total:.1f} s to play'
                if self.segments
                else f'nowhere does {where} hold: nothing to play'
            )

    def _segments(self) -> list[Segment]:
        assert self.source is not None
        config, catalog = self.config, self.source.catalog
        if catalog.start_ns is None:
            return []
        return playback_segments(
            catalog.start_ns,
            offset_ns=round(config.start_offset * NS),
            duration_ns=None
            if config.playback_duration < 0
            else round(config.playback_duration * NS),
            until_ns=config.until_ns(),
            windows=catalog.windows,
        )

    def _close_source(self, give_up: threading.Event | None = None) -> None:
        """Destroy the publishers and stop the read-ahead, counting what it could not rebuild."""
        for played in self.played.values():
            self.node.destroy_publisher(played.publisher)
        self.played = {}
        if self.source is not None:
            self.source.close(give_up)
            self._account(self.source.final)
            self.source = None

    # -- the scheduler ------------------------------------------------------------------------

    def start(self) -> None:
        """Start playing (after ``--delay``) in the scheduler thread."""
        # What is alive now (rclpy, the adapters, pyarrow) leaves the collector's reach: a full
        # collection then walks only what playback allocates; walking it all stalled publishing
        # for 80 ms.
        gc.collect()
        gc.freeze()
        self._halt.clear()
        self.finished.clear()
        self.started.clear()
        self._began_at = time.monotonic()
        self._scheduler = threading.Thread(
            target=self._schedule, name='mosaico-player', daemon=True
        )
        self._scheduler.start()

    def halt(self) -> None:
        """Stop the scheduler and wait for it."""
        self._halt.set()
        self.clock.interrupt()
        if self.source is not None:
            self.source.wake()
        if self._scheduler is not None:
            self._scheduler.join(RETRY_S + 5.0)
            self._scheduler = None
        self.report.elapsed_s = time.monotonic() - self._began_at

    def _begin(self, segments: Sequence[Segment], *, delay: bool = True) -> None:
        """Have the read-ahead play `segments`, and wait ``--delay`` while it fills."""
        assert self.source is not None
        topics = {played.topic for played in self.played.values()}
        latched = {played.topic for played in self.played.values() if played.latched}
        self.source.play(segments, topics, latched)
        if delay and self.config.delay > 0:
            self.delaying = True
            self._halt.wait(self.config.delay)
            self.delaying = False

    def _schedule(self) -> None:
        source = self.source
        assert source is not None
        try:
            if not self.played or not self.segments:
                return  # nothing to play (even in a loop)
            self._begin(self.segments)
            while not self._halt.is_set():
                epoch = source.epoch
                for kind, index, time_ns, payload in source.take(epoch, 0.2):
                    if epoch != source.epoch or self._halt.is_set():
                        break  # a seek or a stop: the rest belongs to the past
                    if kind == MESSAGE:
                        due = self._due(time_ns, epoch)
                        if due is not None:
                            self._publish(self.played[index], payload)
                            if due == 'step':
                                self._stepped()
                    elif kind == LATCHED:
                        self._publish(self.played[index], payload)
                    elif kind == SEGMENT:
                        self.clock.jump(time_ns)
                        self.started.set()
                    elif kind == END:
                        self._account(payload)
                        self.report.loops += 1
                        if not self.config.loop:
                            return
                        self._begin(self.segments)
                    else:
                        self.report.error = str(payload)
                        return
        except Exception as err:  # a bug must not leave the node playing nothing, silently
            self.report.error = f'playback stopped: {type(err).__name__}: {err}'
        finally:
            self.finished.set()

    def _due(self, time_ns: int, epoch: int) -> str | None:
        """Wait for a message's time: 'time' when it came, 'step' (play_next), None: drop it."""
        self._waiting_epoch = epoch
        if self.clock.wait_until(time_ns, self._cancelled):
            return 'time'
        if self._halt.is_set() or epoch != self._source_epoch():
            return None
        self.clock.jump(time_ns)
        return 'step'

    def _source_epoch(self) -> int:
        return self.source.epoch if self.source is not None else -1

    def _cancelled(self) -> bool:
        """Whether a wait for a message's time must end: a stop, a seek, a step."""
        return (
            self._halt.is_set()
            or self._waiting_epoch != self._source_epoch()
            or self._steps_wanted > self._steps_done
        )

    def _publish(self, played: PlayedTopic, payload: bytes) -> None:
        """Publish raw CDR, retrying while the RMW refuses (a full reliable history)."""
        pause = _RETRY_FIRST_PAUSE_S
        deadline = 0.0
        while True:
            try:
                played.publisher.publish(payload)
                played.published += 1
                return
            except RuntimeError as err:  # rclpy's RCLError: 'cannot publish data'
                played.refusals += 1
                played.last_error = str(err).splitlines()[0] if str(err) else type(err).__name__
                now = time.monotonic()
                deadline = deadline or now + RETRY_S
                if now >= deadline or self._halt.is_set():
                    played.dropped += 1
                    return
                time.sleep(pause)
                pause = min(pause * 2, _RETRY_MAX_PAUSE_S)

    def _account(self, reports: dict[str, tuple[int, int, dict[str, int]]]) -> None:
        for topic, (_, _, skipped) in reports.items():
            if skipped:
                self.report.unrebuilt[topic] = dict(skipped)

    # -- controls -----------------------------------------------------------------------------

    def set_paused(self, paused: bool) -> tuple[bool, str]:
        """Pause or resume; answer as the services do."""
        changed = self.clock.set_paused(paused)
        state = 'paused' if paused else 'playing'
        return True, state if changed else f'already {state}'

    def toggle_paused(self) -> tuple[bool, str]:
        """Pause when playing, play when paused."""
        return self.set_paused(not self.clock.paused)

    def play_next(self) -> tuple[bool, str]:
        """Publish the next message now (only while paused) and move the clock to its time."""
        if not self.clock.paused:
            return False, 'not paused: play_next publishes one message while paused'
        with self._steps:
            self._steps_wanted += 1
            wanted = self._steps_wanted
        self.clock.interrupt()
        with self._steps:
            done = self._steps.wait_for(
                lambda: self._steps_done >= wanted or self.finished.is_set(), _STEP_TIMEOUT_S
            )
            if not done or self._steps_done < wanted:
                self._steps_wanted = self._steps_done
                return False, 'no message to play next'
        return True, f'published the message at {self.clock.now() / NS:.6f}'

    def _stepped(self) -> None:
        with self._steps:
            self._steps_done += 1
            self._steps.notify_all()

    def seek(self, time_ns: int) -> None:
        """Play from recorded time `time_ns` (latched state first), keeping pause and rate."""
        self._begin(seek_segments(self.segments, time_ns), delay=False)
        self.clock.jump(time_ns)
        self.clock.interrupt()

    def _make_services(self) -> None:
        from std_srvs.srv import Trigger

        def answer(action: Callable[[], tuple[bool, str]]) -> Any:
            def handle(request: Any, response: Any) -> Any:
                response.success, response.message = action()
                return response

            return handle

        node = self.node
        node.create_service(Trigger, '~/pause', answer(lambda: self.set_paused(True)))
        node.create_service(Trigger, '~/resume', answer(lambda: self.set_paused(False)))
        node.create_service(Trigger, '~/toggle_paused', answer(self.toggle_paused))
        node.create_service(Trigger, '~/play_next', answer(self.play_next))
        node.create_service(
            Trigger,
            '~/is_paused',
            answer(lambda: (self.clock.paused, 'paused' if self.clock.paused else 'playing')),
        )

    def _make_clock(self, hz: float) -> None:
        from builtin_interfaces.msg import Time
        from rclpy.qos import QoSProfile
        from rosgraph_msgs.msg import Clock

        publisher = self.node.create_publisher(Clock, '/clock', QoSProfile(depth=1))

        def tick() -> None:
            if not self.started.is_set():
                return  # no time before playback starts: /clock never runs backwards at start
            now = self.clock.now()
            publisher.publish(Clock(clock=Time(sec=now // NS, nanosec=now % NS)))

        self.node.create_timer(1.0 / hz, tick)

    def _on_parameters(self, changed: list[Any]) -> Any:
        """Check every changed parameter first; apply them only if all are valid."""
        from rcl_interfaces.msg import SetParametersResult

        actions: list[Callable[[], None]] = []
        for parameter in changed:
            action = self._parameter_action(parameter.name, parameter.value)
            if isinstance(action, str):
                return SetParametersResult(successful=False, reason=action)
            actions.append(action)
        for action in actions:
            action()
        return SetParametersResult(successful=True)

    def _parameter_action(self, name: str, value: Any) -> Callable[[], None] | str:
        """Return what setting a parameter does, or why it is refused."""
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if name == 'rate':
            if not number or value < 0:
                return 'rate is a number >= 0 (0: as fast as possible)'
            return functools.partial(self.clock.set_rate, float(value))
        if name == 'seek':
            start = self.source.catalog.start_ns if self.source is not None else None
            if not number or value < 0 or start is None:
                return 'seek is seconds >= 0 after the start of the recording'
            return functools.partial(self.seek, start + round(value * NS))
        if name == 'sequences':
            names = tuple(str(v) for v in value or ())
            if not names:
                return 'sequences names at least one sequence'
            return functools.partial(self._request_reload, names)
        return f'{name} is read at start; only {", ".join(RUNTIME_PARAMETERS)} act while playing'

    def _request_reload(self, sequences: tuple[str, ...]) -> None:
        self._reload = sequences
        self.finished.set()

    # -- the main thread ----------------------------------------------------------------------

    def spin(self, stop: threading.Event, progress: Callable[[str], Any] | None = None) -> None:
        """Play until the end (or until `stop`), reloading when `sequences` changes.

        Args:
            stop: Set by a signal: stop now.
            progress: Shows the progress line, at ``progress_bar`` Hz (None: no line).

        """
        hz = self.config.progress_bar if progress is not None else 0.0
        period = 1.0 / hz if hz > 0 else 0.1
        self.start()
        while not stop.is_set():
            if self.finished.wait(period):
                if self._reload is None:
                    break
                self._swap(self._reload)
                continue
            if progress is not None and hz > 0:
                progress(self.progress_line())
        if progress is not None and hz > 0:
            progress('')  # clear the line for what follows
        self.halt()

    def _swap(self, sequences: tuple[str, ...]) -> None:
        """Stop playing, open `sequences` instead, and play them from their start."""
        self._reload = None
        self.halt()
        self._close_source()
        done = self.report
        self.echo(f'stopped {", ".join(done.sequences)}: {done.published} message(s) published')
        for line in done.problems():
            self.echo(f'  ! {line}')
        try:
            self._open(sequences)
        except ReadAheadError as err:
            self.report.error = f'cannot play {", ".join(sequences)}: {err}'
            self.echo(self.report.error)
            return
        self.start()

    def progress_line(self) -> str:
        """Return the progress line: playback time, time played of the total, state."""
        catalog = self.source.catalog if self.source is not None else None
        now = self.clock.now()
        if catalog is None or catalog.start_ns is None:
            return 'nothing to play'
        total = ((catalog.end_ns or catalog.start_ns) - catalog.start_ns) / NS
        played = min(max(now - catalog.start_ns, 0) / NS, total)
        state = 'D' if self.delaying else 'P' if self.clock.paused else 'R'
        return f'Bag Time {now / NS:.6f}  Duration {played:.3f}/{total:.3f}  [{state}]'

    def close(self, give_up: threading.Event | None = None) -> PlaybackReport:
        """Wait for acknowledgements (``--wait-for-all-acked``), stop, return the report.

        Args:
            give_up: When set (a second Ctrl-C), waiting ends: for acknowledgements
                and for the read-ahead's final counts.

        """
        self.halt()
        if self.config.wait_for_all_acked >= 0 and self.report.error is None:
            self._wait_for_acks(give_up or threading.Event())
        report = self.report
        self._close_source(give_up)
        return report

    def _wait_for_acks(self, give_up: threading.Event) -> None:
        from rclpy.duration import Duration

        millis = self.config.wait_for_all_acked
        deadline = time.monotonic() + millis / 1000 if millis else None
        step = Duration(nanoseconds=100_000_000)
        for played in self.played.values():
            while not played.publisher.wait_for_all_acked(step):
                if give_up.is_set() or (deadline is not None and time.monotonic() > deadline):
                    self.echo(f'{played.name}: not every message was acknowledged in time')
                    break


def run(
    config: PlayerConfig | None = None,
    *,
    node_name: str = DEFAULT_NODE_NAME,
    ros_args: Sequence[str] = (),
    echo: Callable[[str], Any] = print,
    progress: Callable[[str], Any] | None = None,
) -> PlaybackReport:
    """Run the player until the playback ends, or SIGINT or SIGTERM; return its report.

    Args:
        config: Settings (from the command line); None reads them from ROS parameters.
        node_name: The node's name.
        ros_args: Arguments for rclpy (``--ros-args --params-file ...``).
        echo: Prints a line for a person.
        progress: Shows the progress line (None: not shown).

    Raises:
        ValueError: A setting cannot work.
        ReadAheadError: The sequences cannot be opened.

    """
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    from rclpy.signals import SignalHandlerOptions

    stop, give_up = threading.Event(), threading.Event()
    rclpy.init(args=['mosaico_player', *ros_args], signal_handler_options=SignalHandlerOptions.NO)
    # A signal asks to stop, from the first moment to the summary; a second one cuts the
    # waits of closing short (acknowledgements, the read-ahead's final counts).
    with stop_on_signals(stop, give_up):
        try:
            overrides = params.overrides(config) if config is not None else []
            node = Node(node_name, parameter_overrides=overrides)
            params.declare(node, PlayerConfig)
            _declare_seek(node)
            settings = params.read(node, PlayerConfig)
            player = Player(node, settings, echo)
            executor = SingleThreadedExecutor()
            executor.add_node(node)
            # spin() in its own thread: services, parameters and /clock never wait for playback.
            spinner = threading.Thread(target=executor.spin, name='rclpy-executor', daemon=True)
            spinner.start()
            keys = {SPACE: player.toggle_paused, RIGHT_ARROW: player.play_next}
            try:
                with KeyboardControls(keys, enabled=not settings.disable_keyboard_controls):
                    player.spin(stop, progress)
            finally:
                report = player.close(give_up)
                executor.shutdown(timeout_sec=5.0)
                spinner.join(5.0)
                node.destroy_node()
            return report
        finally:
            rclpy.try_shutdown()


def _declare_seek(node: Any) -> None:
    from rcl_interfaces.msg import ParameterDescriptor

    descriptor = ParameterDescriptor(
        description='Set to play from this many seconds after the start of the recording.',
        dynamic_typing=True,
    )
    node.declare_parameter('seek', -1.0, descriptor)


def print_report(report: PlaybackReport, console: Any) -> None:
    """Print the closing summary: the table, then every message not played with its reason."""
    console.print(report.table())
    problems = report.problems()
    for line in problems[:20]:
        console.print(f'  [yellow]![/] {line}', highlight=False)
    if len(problems) > 20:
        console.print(f'  ... and {len(problems) - 20} more')


def main(argv: Sequence[str] | None = None) -> int:
    """``ros2 run mosaico_ros player [--ros-args ...]``: settings from ROS parameters."""
    from rich.console import Console

    console = Console()
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        report = run(
            ros_args=args,
            echo=lambda text: console.print(text, highlight=False),
            progress=terminal_progress(console),
        )
    except (ValueError, ReadAheadError) as err:
        console.print(f'[red]error[/]: {err}', highlight=False)
        return 2
    print_report(report, console)
    return 0 if report.clean else 1


def terminal_progress(console: Any) -> Callable[[str], Any] | None:
    """Return how the progress line is shown on a terminal (over itself), None elsewhere."""
    if not console.is_terminal:
        return None

    def show(line: str) -> None:
        console.file.write(f'\r{line}\x1b[K')
        console.file.flush()

    return show


if __name__ == '__main__':
    sys.exit(main())
