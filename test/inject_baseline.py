"""Fingerprints of what `inject` stores, to prove a refactor changed nothing it did not mean to.

`capture` injects one bag into a store and returns, per sequence: its user
metadata, and per topic: ontology tag, user metadata, the stored schema (with
field metadata) and a digest of every stored value. `test_inject_baseline.py`
compares today's output with `data/inject_baseline.json`, which was written by
this module (``python test/inject_baseline.py``) on the main branch before the
shared pipeline replaced the injector's own; differences made on purpose are
listed in that test.

The bags are every entry of ``../shared/data/bags`` and three generated
recordings (MCAP, db3, ROS 1), one sequence each.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get('MOSAICO_SHARED', REPO.parent / 'shared'))
BASELINE = Path(__file__).with_name('data') / 'inject_baseline.json'
GENERATED = ('mcap', 'db3', 'bag')


def _plain(value: Any) -> Any:
    """Turn Arrow's Python values into JSON-able ones, NaN and bytes included."""
    if isinstance(value, float):
        return 'NaN' if math.isnan(value) else repr(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def shorten(value: Any) -> Any:
    """Replace long strings (message definitions) in metadata with their digest."""
    if isinstance(value, str) and len(value) > 120:
        return 'sha256:' + hashlib.sha256(value.encode()).hexdigest()
    if isinstance(value, dict):
        return {k: shorten(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shorten(v) for v in value]
    return value


def digest_rows(table: Any) -> str:
    """Digest every value of a table, column by column, in row order."""
    sha = hashlib.sha256()
    for name in table.column_names:
        sha.update(name.encode())
        for value in table.column(name).to_pylist():
            sha.update(json.dumps(_plain(value), sort_keys=True).encode())
            sha.update(b'\n')
    return sha.hexdigest()


def fingerprint_sequence(client: Any, sequence: str) -> dict[str, Any]:
    """Return the fingerprint of one stored sequence."""
    import pyarrow as pa

    handler = client.sequence_handler(sequence)
    assert handler is not None, sequence
    topics: dict[str, Any] = {}
    for topic in sorted(handler.topics):
        topic_handler = client.topic_handler(sequence, topic)
        assert topic_handler is not None, (sequence, topic)
        schema = topic_handler.schema
        table = pa.Table.from_batches(list(topic_handler.iter_batches()), schema=schema)
        topics[topic] = {
            'ontology_tag': topic_handler.ontology_tag,
            'user_metadata': shorten(topic_handler.user_metadata),
            'schema': shorten(
                schema.to_string(show_field_metadata=True, show_schema_metadata=False)
            ),
            'rows': table.num_rows,
            'digest': digest_rows(table),
        }
    return {'user_metadata': handler.user_metadata, 'topics': topics}


def bag_paths() -> dict[str, Path]:
    """Every inventory entry by its inventory path."""
    inventory = SHARED / 'data' / 'bags' / 'inventory.json'
    bags = json.loads(inventory.read_text())['bags']
    return {bag['path']: SHARED / 'data' / 'bags' / bag['path'] for bag in bags}


def write_generated(folder: Path, storage: str) -> Path:
    """Write the generated recording of one storage format (2 s, every topic the generator has)."""
    try:
        from mosaico_ros.demo.recording import RecordingSpec, write_recording
    except ImportError:  # the main branch before the pipeline issue kept it in bags
        from mosaico_ros.bags.synthetic import (  # type: ignore[no-redef]
            RecordingSpec,
            write_recording,
        )
    path = folder / (f'generated_{storage}.bag' if storage == 'bag' else f'generated_{storage}')
    write_recording(path, storage, RecordingSpec(duration_s=2.0))  # type: ignore[arg-type]
    return path


def capture(client: Any, name: str, path: Path, jobs: int = 0, **options: Any) -> dict[str, Any]:
    """Inject one bag as sequence `name` and return its fingerprint (empty when nothing stored)."""
    from mosaico_ros.bags.injector import InjectOptions, Injector

    injector = Injector(client, InjectOptions(sequence=name, jobs=jobs, **options))
    injector.inject(path)
    if not client.sequence_exists(name):
        return {}
    return fingerprint_sequence(client, name)


def sequence_name(key: str) -> str:
    """A valid sequence name for an inventory path."""
    return 'b_' + ''.join(c if c.isalnum() else '_' for c in key)


def capture_all() -> dict[str, Any]:
    """Fingerprints of every bag and generated recording."""
    from mosaico_ros.client import MosaicoClient
    from mosaico_ros.server import EmbeddedServer

    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store = folder / 'store'
        store.mkdir()
        paths = {**bag_paths(), **{f'generated/{s}': write_generated(folder, s) for s in GENERATED}}
        with (
            EmbeddedServer(store, host='127.0.0.1', port=0) as server,
            MosaicoClient.connect('127.0.0.1', server.port) as client,
        ):
            for key, path in sorted(paths.items()):
                result[key] = capture(client, sequence_name(key), path)
    return result


if __name__ == '__main__':
    BASELINE.parent.mkdir(exist_ok=True)
    BASELINE.write_text(json.dumps(capture_all(), indent=1, sort_keys=True) + '\n')
    sys.stdout.write(f'wrote {BASELINE}\n')
