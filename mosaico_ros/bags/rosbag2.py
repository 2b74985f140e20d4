"""Reader for a rosbag2 directory: metadata.yaml plus one or more storage files.

Decisions, since rosbag2 leaves them open:

- Storage files are recognized by content, so `storage_identifier` and the
  directory name (even `*.bag`) do not matter.
- Only files listed in `relative_file_paths` are read. Storage files present
  but not listed are reported as a 'mismatch' problem and not read: they may
  belong to another recording. Listed files that are absent are reported as
  'missing-file' with the message count metadata.yaml gives for them; if no
  listed file is present, opening fails with `BagMissingFileError`.
- Topics, types and QoS come from the storage files (what the bytes are);
  metadata.yaml topics absent from every present file are still declared,
  and QoS strings that differ are reported as 'mismatch'.
- `compression_mode: FILE` files are whole-file zstd and are decompressed to
  a temporary directory; `compression_mode: MESSAGE` payloads are zstd frames
  decompressed one by one, as rosbag2 does (the storage file does not say so).
- Messages of all files are merged by log time. Runs (`BagReader.runs`)
  are read file after file when the files do not overlap in time (a split
  recording), and not at all with per-message compression.
"""

from __future__ import annotations

import heapq
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import zstandard
from ruamel.yaml import YAML, YAMLError

from mosaico_ros.adapters.msgtype import normalize_msgtype
from mosaico_ros.bags.detect import open_file
from mosaico_ros.bags.errors import BagFormatError, BagMissingFileError
from mosaico_ros.bags.model import BagMessage, BagRun, Connection, Problem
from mosaico_ros.bags.ordering import log_time, overlapping
from mosaico_ros.bags.reader import BagReader, known_total

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

STORAGE_SUFFIXES = ('.db3', '.mcap', '.db3.zstd', '.mcap.zstd')
INT64_MAX = 2**63 - 1


def load_metadata(path: Path) -> dict[str, Any]:
    """Return the `rosbag2_bagfile_information` mapping of a metadata.yaml.

    Raises:
        BagFormatError: Unparsable YAML or no bag information in it.

    """
    try:
        doc = YAML(typ='safe').load(path.read_text(encoding='utf-8'))
    except (OSError, YAMLError, UnicodeDecodeError) as exc:
        msg = f'{path}: metadata.yaml is unreadable: {exc}'
        raise BagFormatError(msg) from exc
    info = doc.get('rosbag2_bagfile_information') if isinstance(doc, dict) else None
    if not isinstance(info, dict):
        msg = f'{path}: no rosbag2_bagfile_information mapping'
        raise BagFormatError(msg)
    return info


class Rosbag2Reader(BagReader):
    """Reader for a rosbag2 bag directory."""

    def __init__(self, path: Path, *, strict: bool = False):
        """Open a rosbag2 directory and every storage file it lists.

        Args:
            path: Directory holding metadata.yaml.
            strict: Raise on damage instead of recording problems.

        Raises:
            BagFormatError: metadata.yaml unreadable or a storage file of no known format.
            BagMissingFileError: None of the listed storage files is present.

        """
        super().__init__(path, strict=strict)
        self.metadata = load_metadata(path / 'metadata.yaml')
        mode = str(self.metadata.get('compression_mode') or '').upper()
        fmt = str(self.metadata.get('compression_format') or '').lower()
        self.message_compression = fmt if mode == 'MESSAGE' else ''
        if self.message_compression and self.message_compression != 'zstd':
            msg = f'{path}: per-message compression {fmt!r} is not supported, only zstd'
            raise BagFormatError(msg)
        self.readers: list[BagReader] = []
        try:
            self._open_files()
            self._unify()
        except BaseException:
            self.close()
            raise

    def _open_files(self) -> None:
        listed = [str(p) for p in self.metadata.get('relative_file_paths') or []]
        per_file = {
            str(f.get('path')): f.get('message_count')
            for f in self.metadata.get('files') or []
            if isinstance(f, dict)
        }
        missing: list[str] = []
        used: set[Path] = set()
        for rel in listed:
            candidates = [self.path / rel, self.path / rel.rsplit('/', 1)[-1]]
            found = next((c for c in candidates if c.is_file()), None)
            if found is None:
                missing.append(rel)
                self.report(
                    Problem(
                        self.path / rel,
                        None,
                        None,
                        'missing-file',
                        'storage file listed in metadata.yaml is absent',
                        per_file.get(rel),
                    )
                )
                continue
            used.add(found.resolve())
            reader = open_file(found, strict=self.strict)
            self.on_close(reader.close)
            # One list for all files, so that damage shows while messages are read.
            self.problems.extend(p for p in reader.problems if p not in self.problems)
            reader.problems = self.problems
            self.readers.append(reader)
        if listed and not self.readers:
            msg = f'{self.path}: none of the storage files listed in metadata.yaml is present: ' + (
                ', '.join(missing)
            )
            raise BagMissingFileError(msg)
        if not listed:
            msg = f'{self.path}: metadata.yaml lists no storage files (relative_file_paths)'
            raise BagFormatError(msg)
        for extra in sorted(self.path.iterdir()):
            if extra.name.endswith(STORAGE_SUFFIXES) and extra.resolve() not in used:
                self.report(
                    Problem(
                        extra,
                        None,
                        None,
                        'mismatch',
                        'storage file not listed in metadata.yaml; not read',
                        0,
                    )
                )

    def _unify(self) -> None:
        """Merge connections of all files into one list keyed by topic, type and encoding."""
        declared: dict[str, dict[str, Any]] = {}
        declared_counts: dict[str, int] = {}
        for entry in self.metadata.get('topics_with_message_count') or []:
            meta = entry.get('topic_metadata') or {}
            if meta.get('name'):
                declared[meta['name']] = meta
                declared_counts[meta['name']] = int(entry.get('message_count') or 0)
        complete = not any(p.kind == 'missing-file' for p in self.problems)

        unified: dict[tuple[str, str, str], Connection] = {}
        counts: dict[tuple[str, str, str], list[int | None]] = {}
        members: dict[tuple[int, int], tuple[str, str, str]] = {}
        for index, reader in enumerate(self.readers):
            for conn in reader.connections:
                key = (conn.topic, conn.msgtype, conn.encoding)
                if key not in unified:
                    qos = self._qos(conn, declared.get(conn.topic, {}).get('offered_qos_profiles'))
                    unified[key] = replace(conn, qos=qos, source_file=self.path)
                    counts[key] = []
                counts[key].append(conn.message_count)
                members[index, conn.id] = key
        topics_seen = {key[0] for key in unified}
        for name, meta in declared.items():
            if name in topics_seen:
                continue
            typ = str(meta.get('type') or '')
            key = (name, normalize_msgtype(typ), str(meta.get('serialization_format') or ''))
            unified[key] = Connection(
                id=0,
                topic=name,
                msgtype=key[1],
                encoding=key[2],
                msgdef='',
                msgdef_encoding='',
                md5sum='',
                message_count=None,
                qos=meta.get('offered_qos_profiles'),
                schema_name=typ,
                source_file=self.path,
            )
            counts[key] = [0 if complete else None]
        totals = {key: known_total(parts) for key, parts in counts.items()}
        if complete:
            for key, total in totals.items():
                if total is None:
                    totals[key] = declared_counts.get(key[0])

        self.connections = [
            replace(conn, id=cid, message_count=totals[key])
            for cid, (key, conn) in enumerate(unified.items())
        ]
        by_key = dict(zip(unified, self.connections, strict=True))
        self._map = {member: by_key[key] for member, key in members.items()}
        self.message_count = known_total(c.message_count for c in self.connections)
        starts = [r.start_ns for r in self.readers if r.start_ns is not None]
        ends = [r.end_ns for r in self.readers if r.end_ns is not None]
        self.start_ns = min(starts, default=None)
        self.end_ns = max(ends, default=None)
        self.size_bytes = sum(r.size_bytes for r in self.readers)

    def _qos(self, conn: Connection, declared_qos: str | None) -> str | None:
        """QoS of a connection: the storage file's, else metadata.yaml's; report disagreement."""
        if conn.qos is None:
            return declared_qos
        if declared_qos and _norm(declared_qos) != _norm(conn.qos):
            self.report(
                Problem(
                    conn.source_file,
                    None,
                    conn.topic,
                    'mismatch',
                    'offered_qos_profiles in metadata.yaml differ from the storage file;'
                    ' using the storage file',
                    0,
                )
            )
        return conn.qos

    def _messages(
        self, wanted: set[int] | None, start: int | None, end: int | None
    ) -> Iterator[BagMessage]:
        """Yield messages of all storage files merged in log-time order."""
        streams = [
            self._file_messages(index, reader, conns, start, end)
            for index, reader, conns in self._selected(wanted)
        ]
        if len(streams) == 1:
            yield from streams[0]
        else:
            yield from heapq.merge(*streams, key=log_time)

    def _runs(
        self, wanted: set[int] | None, start: int | None, end: int | None
    ) -> Iterator[BagRun] | None:
        """Chain the runs of every file, if each file has them and the files do not overlap."""
        if self.message_compression:
            return None
        files = []
        for index, reader, conns in self._selected(wanted):
            runs = reader.runs(conns, start, end)
            if runs is None or reader.start_ns is None or reader.end_ns is None:
                return None
            files.append((reader.start_ns, reader.end_ns, index, runs))
        files.sort(key=lambda file: file[:2])
        if overlapping(file[:2] for file in files):
            return None
        return self._chained_runs([(index, runs) for _, _, index, runs in files])

    def _selected(
        self, wanted: set[int] | None
    ) -> Iterator[tuple[int, BagReader, list[Connection] | None]]:
        """Each file with a wanted connection: its index, reader and own connections to read.

        The connections are None when all of the file's are wanted.
        """
        for index, reader in enumerate(self.readers):
            subs = [
                c
                for c in reader.connections
                if wanted is None or self._map[index, c.id].id in wanted
            ]
            if subs:
                yield index, reader, None if len(subs) == len(reader.connections) else subs

    def _chained_runs(self, files: list[tuple[int, Iterator[BagRun]]]) -> Iterator[BagRun]:
        mapping = self._map
        for index, runs in files:
            for run in runs:
                yield replace(run, connection=mapping[index, run.connection.id])

    def _file_messages(
        self,
        index: int,
        reader: BagReader,
        conns: list[Connection] | None,
        start: int | None,
        end: int | None,
    ) -> Iterator[BagMessage]:
        mapping = self._map
        unzstd = zstandard.ZstdDecompressor() if self.message_compression else None
        for msg in reader.messages(conns, start, end):
            data = msg.data
            if unzstd is not None:
                try:
                    data = _unzstd(unzstd, data)
                except zstandard.ZstdError as exc:
                    self.report(
                        Problem(
                            msg.file,
                            msg.offset,
                            msg.connection.topic,
                            'corrupt',
                            f'payload is not a zstd frame although metadata.yaml declares'
                            f' per-message zstd compression: {exc}',
                            1,
                        )
                    )
                    continue
            yield BagMessage(
                mapping[index, msg.connection.id], msg.log_time_ns, data, msg.offset, msg.file
            )


def _unzstd(dctx: zstandard.ZstdDecompressor, data: bytes | memoryview) -> bytes:
    try:
        return dctx.decompress(data)
    except zstandard.ZstdError:
        # Frames written without a content size need the streaming decoder.
        return dctx.decompressobj().decompress(data)


def _norm(qos: str) -> str:
    return ' '.join(qos.split())
