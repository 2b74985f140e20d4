"""The recorder node: live ROS 2 topics into Mosaico sequences, losing nothing it can keep.

``mosaico-ros record``, ``ros2 run mosaico_ros recorder`` and
``launch/record.launch.py`` all run this node (default name
``mosaico_recorder``); every setting is a ROS parameter named after its flag
(`RecorderConfig`).

How a message travels:

1. A raw subscription (rclpy moves bytes; nothing is decoded here) hands
   it, with its receive time and its publisher's sequence number, to a
   bounded queue.
2. The spool thread appends it to the current spool segment, an MCAP file
   synced every `spool_flush_period` seconds (`mosaico_ros.nodes.spool`).
   This is what survives the recorder, the server or the network going away.
3. The uploader, a child process, reads the segment as it grows and feeds
   the shared pipeline, which uploads it into the segment's sequence within
   `max_latency` seconds, and finalizes it when the segment is closed
   (`mosaico_ros.nodes.uploader`).

Topics are chosen with rosbag2's filters and subscribed as they appear
(every `polling_interval` ms, unless `no_discovery`), with a QoS adapted to
their publishers as rosbag2 adapts it, overridable per topic
(`qos_profile_overrides_path`). Row time is the receive time (rosbag2's log
time; `/clock` time with `use_sim_time`); header stamps stay in the data.
A reliable publisher may hand a recorder that joins late some samples it
still holds from before, after newer ones: they are stored as received. A
topic whose type is not installed is reported once, with the package to
install, and the others keep recording.

A segment ends, and the next sequence (`NAME_1`, `NAME_2` ...) starts, after
`max_bag_duration` seconds, `max_bag_size` payload bytes, a `~/split` call, or
when it reaches half of `max_spool_size` (so its spool can be freed once
uploaded). The last message of every latched (transient-local) topic is
repeated at the start of each new segment. In `snapshot_mode` nothing is
spooled until `~/snapshot`, which stores the ring buffer (bounded by
`max_cache_size` bytes and `max_cache_duration` seconds) as a sequence.

Per topic the recorder counts what it received, what was lost in DDS (gaps
in each publisher's sequence numbers, counted from the first message of that
publisher), what was lost because the spool was full, and what arrived while
paused; it publishes them with the upload state on ``/diagnostics`` every
second, and they end in each sequence's accounting. SIGINT and SIGTERM close
the segment, wait for the uploader to finalize everything, and print the
per-topic summary.

Services (``std_srvs``): ``~/pause``, ``~/resume``, ``~/is_paused`` (Trigger:
``success`` is the paused state), ``~/split``, and ``~/snapshot`` in snapshot mode.
"""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from rosbags.typesys import TypesysError

from mosaico_ros.nodes import params
from mosaico_ros.nodes.interfaces import MissingInterfaceError, message_class, profile_of, qos_of
from mosaico_ros.nodes.recorder_config import DEFAULT_NODE_NAME, RecorderConfig
from mosaico_ros.nodes.signals import stop_on_signals
from mosaico_ros.nodes.spool import SEGMENT_SUFFIX, SpoolWriter, segment_paths
from mosaico_ros.nodes.uploader import read_status, target_to_json
from mosaico_ros.pipeline.qos import adapted_profile, dump_offered_qos, normalize_profile
from mosaico_ros.pipeline.report import SequenceReport, exit_code, print_reports
from mosaico_ros.pipeline.types import TypeResolver

LOST_IN_DDS = 'lost in DDS (publisher sequence gap)'
LOST_SPOOL_FULL = 'lost: the spool was full (server unreachable too long)'
LOST_BACKLOG = 'lost: the spool could not keep up (queue full)'
_QUEUE_BYTES = 512 << 20
_SPOOL_SCAN_S = 1.0


@dataclass
class TopicState:
    """One recorded topic: its spool channel per segment and its counters.

    The counters of the current segment are written into the segment when
    it closes, then start again from zero; `total_*` never reset.
    """

    topic: str
    msgtype: str
    msgdef: str
    qos_yaml: str
    latched: bool
    subscription: Any = None
    channel: int | None = None
    received: int = 0
    paused: int = 0
    lost: dict[str, int] = field(default_factory=dict)
    last_seq: dict[bytes, int] = field(default_factory=dict)
    latched_last: tuple[int, bytes, int] | None = None
    total_received: int = 0
    total_lost: dict[str, int] = field(default_factory=dict)
    rate_count: int = 0
    backlog_lost: int = 0

    def count_lost(self, reason: str, count: int = 1) -> None:
        """Count messages lost before they reached the spool."""
        self.lost[reason] = self.lost.get(reason, 0) + count
        self.total_lost[reason] = self.total_lost.get(reason, 0) + count

    def accounting(self) -> dict[str, Any]:
        """Return the segment's counts, and start counting the next segment from zero."""
        if self.backlog_lost:
            lost, self.backlog_lost = self.backlog_lost, 0
            self.count_lost(LOST_BACKLOG, lost)
        counts = {'received': self.received, 'paused': self.paused, 'lost': dict(self.lost)}
        self.received, self.paused, self.lost = 0, 0, {}
        return counts


class Spool:
    """The spool thread's side: segments, splits, the spool bound and the snapshot buffer.

    Everything that touches a segment runs on the one spool thread, fed by
    a queue: messages from the subscriptions, and commands (split, snapshot,
    stop) from services, timers and signal handling.
    """

    def __init__(
        self, config: RecorderConfig, directory: Path, base: str, metadata: dict[str, Any]
    ):
        """Prepare; the first segment opens with the first message (or at once when asked)."""
        self.config = config
        self.directory = directory
        self.base = base
        self.metadata = metadata
        self.queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.queued_bytes = 0
        self.topics: list[TopicState] = []
        self.writer: SpoolWriter | None = None
        self.segment_started = 0.0
        self.index = self._next_index()
        self.spool_bytes = 0
        self.spool_full = False
        self._repeat_latched = False
        self._scanned = 0.0
        self._older_bytes = 0
        self._ring: deque[tuple[TopicState, int, bytes, int]] = deque()
        self._ring_bytes = 0
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self._run, name='mosaico-spool', daemon=True)

    def _next_index(self) -> int:
        """Continue after segments of the same name left in the spool by an earlier run."""
        taken = [
            int(path.stem.rsplit('_', 1)[1])
            for path in segment_paths(self.directory)
            if path.stem.rsplit('_', 1)[0] == self.base and path.stem.rsplit('_', 1)[1].isdigit()
        ]
        return max(taken, default=-1) + 1

    @property
    def sequence(self) -> str:
        """Name of the current (or next) segment's sequence."""
        return f'{self.base}_{self.index}'

    # -- called from other threads ------------------------------------------------------------

    def put(
        self, state: TopicState, time_ns: int, data: bytes | None, sequence: int, gid: bytes
    ) -> None:
        """Queue a received message (None: received while paused); count it lost when full."""
        size = len(data) if data is not None else 0
        if self.queued_bytes + size > _QUEUE_BYTES:
            state.backlog_lost += 1
            return
        self.queued_bytes += size
        self.queue.put((state, time_ns, data, sequence, gid))

    def command(self, name: str, *args: Any) -> threading.Event:
        """Run a command on the spool thread; the returned event is set when it is done."""
        done = threading.Event()
        self.queue.put((name, args, done))
        return done

    # -- the spool thread ---------------------------------------------------------------------

    def _run(self) -> None:
        period = self.config.spool_flush_period
        while True:
            try:
                item = self.queue.get(timeout=period)
            except queue.Empty:
                item = None
            try:
                if item is not None and isinstance(item[0], str):
                    name, args, done = item
                    try:
                        getattr(self, f'_do_{name}')(*args)
                    finally:
                        done.set()
                    if name == 'stop':
                        return
                elif item is not None:
                    self._take(*item)
                if self.writer is not None:
                    self.writer.flush_if_due()
                    self._check_bounds()
            except Exception as err:  # disk full, spool removed, a bug: say so, keep receiving
                self.errors.append(f'spool: {type(err).__name__}: {err}')
                sys.stderr.write(f'mosaico_recorder spool error: {type(err).__name__}: {err}\n')

    def _take(
        self, state: TopicState, time_ns: int, data: bytes | None, sequence: int, gid: bytes
    ) -> None:
        last = state.last_seq.get(gid)
        if last is not None and sequence > last + 1:
            state.count_lost(LOST_IN_DDS, sequence - last - 1)
        if last is None or sequence > last:
            state.last_seq[gid] = sequence
        if data is None:
            state.paused += 1
            return
        self.queued_bytes -= len(data)
        if state.latched:
            state.latched_last = (time_ns, data, sequence)
        if self.config.snapshot_mode:
            self._remember(state, time_ns, data, sequence)
            return
        self._write(state, time_ns, data, sequence)

    def _write(self, state: TopicState, time_ns: int, data: bytes, sequence: int) -> None:
        if self.spool_full:
            state.count_lost(LOST_SPOOL_FULL)
            return
        writer = self._segment()
        if state.channel is None:
            state.channel = writer.add_topic(
                state.topic, state.msgtype, state.msgdef, state.qos_yaml
            )
        writer.write(state.channel, time_ns, data, sequence)
        state.received += 1
        state.total_received += 1
        state.rate_count += 1

    def _segment(self) -> SpoolWriter:
        if self.writer is None:
            metadata = {
                **self.metadata,
                'mosaico_recorder': {
                    **self.metadata.get('mosaico_recorder', {}),
                    'split': self.index,
                    'segment_started_at': datetime.now().astimezone().isoformat(),
                },
            }
            path = self.directory / f'{self.sequence}{SEGMENT_SUFFIX}'
            self.writer = SpoolWriter(path, self.sequence, metadata, self.config.spool_flush_period)
            self.segment_started = time.monotonic()
            for state in self.topics:
                state.channel = None
            if self._repeat_latched:
                for state in self.topics:
                    if state.latched_last is not None:
                        self._write(state, *state.latched_last)
        return self.writer

    def _check_bounds(self) -> None:
        writer = self.writer
        assert writer is not None
        config = self.config
        now = time.monotonic()
        if now - self._scanned >= _SPOOL_SCAN_S:
            self._scanned = now
            self._older_bytes = sum(
                p.stat().st_size for p in segment_paths(self.directory) if p != writer.path
            )
        self.spool_bytes = self._older_bytes + writer.bytes_written
        if config.max_spool_size:
            self.spool_full = self.spool_bytes >= config.max_spool_size
        split = (
            (config.max_bag_duration and now - self.segment_started >= config.max_bag_duration)
            or (config.max_bag_size and writer.bytes_written >= config.max_bag_size)
            or (config.max_spool_size and writer.bytes_written >= config.max_spool_size // 2)
        )
        if split and writer.messages:
            self._do_split()

    def _do_split(self) -> None:
        """Close the current segment (its sequence gets finalized) and start counting the next."""
        writer, self.writer = self.writer, None
        if writer is None:
            return
        writer.close({state.topic: state.accounting() for state in self.topics})
        self.index += 1
        self._repeat_latched = not self.config.snapshot_mode

    def _remember(self, state: TopicState, time_ns: int, data: bytes, sequence: int) -> None:
        """Snapshot mode: keep the message in the ring buffer, dropping the oldest beyond bounds."""
        ring = self._ring
        ring.append((state, time_ns, data, sequence))
        self._ring_bytes += len(data)
        config = self.config
        while ring and (
            (config.max_cache_size and self._ring_bytes > config.max_cache_size)
            or (
                config.max_cache_duration and time_ns - ring[0][1] > config.max_cache_duration * 1e9
            )
        ):
            self._ring_bytes -= len(ring.popleft()[2])

    def _do_snapshot(self) -> None:
        """Store the ring buffer as one sequence, and empty it."""
        ring, self._ring, self._ring_bytes = self._ring, deque(), 0
        if not ring:
            return
        for state, time_ns, data, sequence in ring:
            self._write(state, time_ns, data, sequence)
        self._do_split()

    def _do_add(self, state: TopicState) -> None:
        self.topics.append(state)

    def _do_stop(self) -> None:
        if self.config.snapshot_mode:
            self._ring.clear()
        self._do_split()

    def _do_noop(self) -> None:
        """Wait for everything queued before (a barrier)."""


class Recorder:
    """The rclpy node and everything it runs; see the module docstring.

    Args:
        node: The rclpy node (its parameters hold the settings).
        config: The settings read from the node.

    """

    def __init__(self, node: Any, config: RecorderConfig) -> None:
        """Open the spool, start the uploader, subscribe, and offer the services."""
        config.check()
        self.node = node
        self.config = config
        self.logger = node.get_logger()
        self.name = node.get_name()
        self.selection = config.selection()
        self.overrides = _load_overrides(config.qos_profile_overrides_path)
        self.paused = config.start_paused
        self.directory = config.spool_path(self.name)
        self.directory.mkdir(parents=True, exist_ok=True)
        metadata = json.loads(config.metadata) if config.metadata else {}
        if not isinstance(metadata, dict):
            raise ValueError('--metadata must be a JSON object')
        metadata['mosaico_recorder'] = {
            'node': node.get_fully_qualified_name(),
            'host': socket.gethostname(),
            'distro': os.environ.get('ROS_DISTRO', ''),
            'started_at': datetime.now().astimezone().isoformat(),
        }
        self.spool = Spool(config, self.directory, config.sequence_base(), metadata)
        self.types = TypeResolver()
        self.topics: dict[str, TopicState] = {}
        self.refused: dict[str, str] = {}
        self.uploader = self._start_uploader()
        self.spool.thread.start()
        self.sim_time = bool(node.get_parameter('use_sim_time').value)
        self._rates: dict[str, float] = {}
        self._rate_time = time.monotonic()
        self._make_services()
        from diagnostic_msgs.msg import DiagnosticArray

        self.diagnostics = node.create_publisher(DiagnosticArray, '/diagnostics', 10)
        node.create_timer(1.0, self._tick)
        self.discover()
        if not config.no_discovery:
            node.create_timer(config.polling_interval / 1000.0, self.discover)

    # -- uploader ------------------------------------------------------------------------------

    def _start_uploader(self) -> subprocess.Popen[bytes]:
        config = self.config
        target = config.target(self.name)
        self.target = target
        command = [
            sys.executable,
            '-m',
            'mosaico_ros.nodes.uploader',
            str(self.directory),
            target_to_json(target),
            str(config.max_latency),
        ]
        return subprocess.Popen(command, stdin=subprocess.PIPE, start_new_session=True)

    # -- discovery -----------------------------------------------------------------------------

    def discover(self) -> None:
        """Subscribe to every selected topic that is not subscribed yet."""
        node = self.node
        for topic, types in node.get_topic_names_and_types():
            if topic in self.topics or topic in self.refused:
                continue
            if not self.config.include_hidden_topics and _hidden(topic):
                continue
            msgtype = types[0]
            if self.selection.why_not(topic, msgtype) is not None:
                continue
            publishers = [
                info
                for info in node.get_publishers_info_by_topic(topic)
                if (info.node_name, info.node_namespace) != (node.get_name(), node.get_namespace())
            ]
            if not publishers and not self.config.include_unpublished_topics:
                continue
            self._subscribe(topic, msgtype, publishers, len(types) > 1)

    def _subscribe(self, topic: str, msgtype: str, publishers: list[Any], mixed: bool) -> None:
        try:
            cls = message_class(msgtype)
        except MissingInterfaceError as err:
            self.refused[topic] = str(err)
            self.logger.error(f'not recording {topic}: {err}')
            return
        if mixed:
            self.logger.warning(f'{topic} is published with several types; recording {msgtype}')
        offered = [profile_of(info.qos_profile) for info in publishers]
        profile = adapted_profile(offered)
        # The graph does not tell a publisher's depth: keep a deeper queue than ROS's 10,
        # so a pause of the Python executor does not cost messages.
        profile['depth'] = max(profile['depth'], self.config.subscription_depth)
        if topic in self.overrides:
            profile = normalize_profile({**profile, **self.overrides[topic]})
        state = TopicState(
            topic,
            msgtype,
            self._definition(msgtype),
            dump_offered_qos(offered) if offered else '',
            latched=profile['durability'] == 'transient_local',
        )
        self.spool.command('add', state).wait()
        state.subscription = self.node.create_subscription(
            cls, topic, self._callback(state), qos_of(profile), raw=True
        )
        self.topics[topic] = state
        self.logger.info(f'recording {topic} ({msgtype})')

    def _definition(self, msgtype: str) -> str:
        """Return the type's definition text from installed packages, for the spool's schema."""
        from mosaico_ros.pipeline.envelope import TopicInfo

        if self.types.add([TopicInfo('', msgtype, 'cdr')]):
            return ''
        try:
            return str(self.types.typestore.generate_msgdef(msgtype, ros_version=2)[0])
        except (KeyError, TypesysError, ValueError):  # rosbags cannot render every definition
            return ''

    def _callback(self, state: TopicState) -> Any:
        """Return the callback of a topic's subscription: hand messages to the spool, no more.

        rclpy rebuilds its wait set for every message it hands over, which caps
        a Python subscriber far below what DDS delivers; so the callback also
        takes whatever else is already waiting on the subscription (`_drain`).
        """
        spool = self.spool
        clock = self.node.get_clock()

        def take(data: bytes, info: Any) -> None:
            gid = info['publisher_gid']['data']
            sequence = info['publication_sequence_number']
            if self.paused:  # still seen, so the publisher's sequence has no gap to count
                spool.put(state, 0, None, sequence, gid)
                return
            time_ns = clock.now().nanoseconds if self.sim_time else info['received_timestamp']
            spool.put(state, time_ns, data, sequence, gid)

        def received(data: bytes, info: Any) -> None:
            take(data, info)
            _drain(state.subscription, take)

        return received

    # -- services ------------------------------------------------------------------------------

    def _make_services(self) -> None:
        from std_srvs.srv import Trigger

        node = self.node

        def answer(callback: Any) -> Any:
            def handle(request: Any, response: Any) -> Any:
                response.success, response.message = callback()
                return response

            return handle

        node.create_service(Trigger, '~/pause', answer(lambda: self._set_paused(True)))
        node.create_service(Trigger, '~/resume', answer(lambda: self._set_paused(False)))
        node.create_service(
            Trigger,
            '~/is_paused',
            answer(lambda: (self.paused, 'paused' if self.paused else 'recording')),
        )
        node.create_service(Trigger, '~/split', answer(self._split))
        if self.config.snapshot_mode:
            node.create_service(Trigger, '~/snapshot', answer(self._snapshot))

    def _set_paused(self, paused: bool) -> tuple[bool, str]:
        self.paused = paused
        return True, 'paused' if paused else 'recording'

    def _split(self) -> tuple[bool, str]:
        before = self.spool.sequence
        self.spool.command('split').wait(10.0)
        if self.spool.sequence == before:
            return False, f'nothing recorded in {before} yet: no split'
        return True, f'{before} closed; next sequence {self.spool.sequence}'

    def _snapshot(self) -> tuple[bool, str]:
        name = self.spool.sequence
        self.spool.command('snapshot').wait(30.0)
        return True, f'snapshot stored as {name}'

    # -- diagnostics ---------------------------------------------------------------------------

    def _tick(self) -> None:
        """Once a second: rates, diagnostics."""
        now = time.monotonic()
        elapsed = max(now - self._rate_time, 1e-9)
        self._rate_time = now
        for state in self.topics.values():
            count, state.rate_count = state.rate_count, 0
            self._rates[state.topic] = count / elapsed
        self.diagnostics.publish(self.diagnostic_array())

    def diagnostic_array(self) -> Any:
        """Return the recorder's and every topic's state as ``diagnostic_msgs/DiagnosticArray``."""
        from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

        status = read_status(self.directory)
        current = (status.current or {}).get('topics', {}) if status else {}
        ok, warn = DiagnosticStatus.OK, DiagnosticStatus.WARN
        connected = bool(status and status.connected)
        recorder = DiagnosticStatus(
            level=ok if connected and not self.spool.spool_full else warn,
            name=f'{self.name}: recorder',
            message=(
                'paused'
                if self.paused
                else (
                    'recording' if connected else f'server unreachable: {status and status.error}'
                )
            ),
            hardware_id=socket.gethostname(),
            values=[
                KeyValue(key=k, value=str(v))
                for k, v in {
                    'sequence': self.spool.sequence,
                    'server_connected': connected,
                    'server_error': (status.error if status else None) or '',
                    'outages': status.outages if status else 0,
                    'segments_pending_upload': status.pending if status else 0,
                    'spool_bytes': self.spool.spool_bytes,
                    'spool_full': self.spool.spool_full,
                    'paused': self.paused,
                    'spool_error': self.spool.errors[-1] if self.spool.errors else '',
                    'topics_not_recorded': '; '.join(f'{t}: {r}' for t, r in self.refused.items()),
                }.items()
            ],
        )
        statuses = [recorder]
        for state in self.topics.values():
            uploaded = current.get(state.topic, {})
            lost = sum(state.total_lost.values()) + state.backlog_lost
            statuses.append(
                DiagnosticStatus(
                    level=ok if not lost else warn,
                    name=f'{self.name}: {state.topic}',
                    message=state.msgtype,
                    hardware_id=socket.gethostname(),
                    values=[
                        KeyValue(key=k, value=str(v))
                        for k, v in {
                            'rate_hz': round(self._rates.get(state.topic, 0.0), 2),
                            'received': state.total_received,
                            'stored_in_current_sequence': uploaded.get('stored', 0),
                            'skipped_in_current_sequence': sum(
                                uploaded.get('skipped', {}).values()
                            ),
                            'lost': lost,
                            'lost_in_dds': state.total_lost.get(LOST_IN_DDS, 0),
                            'lost_spool_full': state.total_lost.get(LOST_SPOOL_FULL, 0),
                        }.items()
                    ],
                )
            )
        array = DiagnosticArray(status=statuses)
        array.header.stamp = self.node.get_clock().now().to_msg()
        return array

    # -- stopping ------------------------------------------------------------------------------

    def stop(
        self, echo: Any = None, give_up: threading.Event | None = None
    ) -> list[SequenceReport]:
        """Close the spool, let the uploader finalize everything, and return the reports.

        Args:
            echo: Prints progress lines while the upload finishes.
            give_up: When set (a second Ctrl-C), stop waiting: what is not
                uploaded stays in the spool, and the next start uploads it.

        """
        for state in self.topics.values():
            if state.subscription is not None:
                self.node.destroy_subscription(state.subscription)
                state.subscription = None
        self.spool.command('stop').wait(60.0)
        self.spool.thread.join(60.0)
        uploader = self.uploader
        if uploader.stdin is not None:
            uploader.stdin.close()
        said = time.monotonic()
        while uploader.poll() is None:
            if give_up is not None and give_up.wait(0.2):
                uploader.terminate()
                uploader.wait(30)
                if echo is not None:
                    echo(f'left in {self.directory}: the next start uploads what is there')
                break
            status = read_status(self.directory)
            if echo is not None and status is not None and time.monotonic() - said >= 5.0:
                said = time.monotonic()
                link = 'connected' if status.connected else f'waiting ({status.error})'
                echo(f'uploading {status.pending} segment(s) left in {self.directory}: {link}')
        status = read_status(self.directory)
        reports = [SequenceReport.from_dict(r) for r in (status.done if status else [])]
        for report in reports:
            report.notes.extend(f'{t} not recorded: {why}' for t, why in self.refused.items())
        return reports


def _drain(subscription: Any, take: Any, most: int = 1000) -> None:
    """Take up to `most` more messages already waiting on a raw subscription."""
    if subscription is None:
        return
    handle = subscription.handle
    with handle:
        for _ in range(most):
            taken = handle.take_message(subscription.msg_type, True)
            if taken is None:
                return
            take(*taken)


def _hidden(topic: str) -> bool:
    return any(part.startswith('_') for part in topic.split('/') if part)


def _load_overrides(path: str) -> dict[str, dict[str, Any]]:
    """Read rosbag2's QoS override file: topic -> profile keys."""
    if not path:
        return {}
    from ruamel.yaml import YAML

    document = YAML(typ='safe', pure=True).load(Path(path).expanduser().read_text())
    if not isinstance(document, dict):
        raise ValueError(f'{path}: a QoS override file maps topic names to profiles')
    return {str(topic): dict(profile or {}) for topic, profile in document.items()}


def run(
    config: RecorderConfig | None = None,
    *,
    node_name: str = DEFAULT_NODE_NAME,
    ros_args: Sequence[str] = (),
    echo: Any = print,
) -> list[SequenceReport]:
    """Run the recorder until SIGINT or SIGTERM; return the reports of its sequences.

    Args:
        config: Settings (from the command line); None reads them from ROS parameters.
        node_name: The node's name.
        ros_args: Arguments for rclpy (``--ros-args --params-file ...``).
        echo: Prints progress lines.

    """
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    from rclpy.signals import SignalHandlerOptions

    rclpy.init(args=['mosaico_recorder', *ros_args], signal_handler_options=SignalHandlerOptions.NO)
    try:
        overrides = params.overrides(config) if config is not None else []
        node = Node(node_name, parameter_overrides=overrides)
        params.declare(node, RecorderConfig, skip=('use_sim_time',))
        settings = params.read(node, RecorderConfig)
        recorder = Recorder(node, settings)
        echo(
            f'recording into sequence {recorder.spool.sequence} of {recorder.target.describe()} '
            f'through {recorder.directory} (Ctrl-C to stop)'
        )
        stop, give_up = threading.Event(), threading.Event()
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        # spin() in its own thread: spin_once() builds a wait set per call, a few ms each,
        # which caps a subscription far below what DDS delivers.
        spinner = threading.Thread(target=executor.spin, name='rclpy-executor', daemon=True)
        spinner.start()
        with stop_on_signals(stop, give_up):
            while not stop.wait(0.2):
                pass
            executor.shutdown(timeout_sec=5.0)
            spinner.join(5.0)
            echo('stopping: closing the spool and finalizing the upload (Ctrl-C again to leave it)')
            reports = recorder.stop(echo, give_up)
        node.destroy_node()
        return reports
    finally:
        rclpy.try_shutdown()


def main(argv: Sequence[str] | None = None) -> int:
    """``ros2 run mosaico_ros recorder [--ros-args ...]``: settings from ROS parameters."""
    from rich.console import Console

    console = Console()
    args = list(sys.argv[1:] if argv is None else argv)
    reports = run(ros_args=args, echo=lambda text: console.print(text, highlight=False))
    print_reports(console, reports)
    return exit_code(reports) if reports else 0


if __name__ == '__main__':
    sys.exit(main())
