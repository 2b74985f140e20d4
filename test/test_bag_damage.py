"""Truncated and damaged bags: recover what is readable, name the file and offset, exit 1.

Mutants of the shared bags are made in a temporary directory: each file cut at
several points, and each with 64 bytes overwritten at several points.
"""

from __future__ import annotations

import functools
import random
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from mosaico_ros.bags.errors import BagError
from mosaico_ros.bags.opener import open_bag
from mosaico_ros.cli import main

CUTS = (0.05, 0.3, 0.5, 0.65, 0.8, 0.97)


def truncated(source: Path, folder: Path, size: int) -> Path:
    target = folder / f'{source.stem}_cut{size}{source.suffix}'
    target.write_bytes(source.read_bytes()[:size])
    return target


def damaged(source: Path, folder: Path, at: int, seed: int) -> Path:
    data = bytearray(source.read_bytes())
    rng = random.Random(seed)
    for index in range(at, min(at + 64, len(data))):
        data[index] = rng.getrandbits(8)
    target = folder / f'{source.stem}_flip{at}{source.suffix}'
    target.write_bytes(bytes(data))
    return target


@functools.cache
def whole_count(path: Path) -> int:
    """Messages of an undamaged shared bag."""
    return read(path)[0]


def outcome(path: Path) -> tuple[int, list] | str:
    """`read(path)`, or the message of the error that refused the file."""
    try:
        return read(path)
    except BagError as err:
        return str(err)


def read(path: Path) -> tuple[int, list]:
    """Messages read and problems reported; every problem must name this file and a place."""
    with open_bag(path) as reader:
        count = sum(1 for _ in reader.messages())
        problems = list(reader.problems)
    for problem in problems:
        assert problem.file == path, problem
        assert problem.offset is not None or problem.kind == 'unknown-connection', problem
    return count, problems


def test_the_truncated_ros1_bag_of_the_report(bags_dir: Path, tmp_path: Path) -> None:
    """`head -c 344512 robot_localization_test2.bag`: 65% of the file, not nothing."""
    cut = truncated(bags_dir / 'ros1' / 'robot_localization_test2.bag', tmp_path, 344512)
    count, problems = read(cut)
    assert count == 2786
    (problem,) = problems
    assert problem.kind == 'truncated'
    assert problem.offset == 243696
    assert 'the index was due at byte 527463' in problem.reason
    store = tmp_path / 'store'
    result = CliRunner().invoke(main, ['inject', str(cut), '--store', str(store)])
    assert result.exit_code == 1, result.output
    assert '243696' in result.output
    listing = CliRunner().invoke(
        main, ['list', 'robot_localization_test2_cut344512', '--store', str(store)]
    )
    assert listing.exit_code == 0, listing.output


@pytest.mark.parametrize('fraction', [0.05, 0.5, 0.97])
def test_every_truncated_ros1_bag_reports_where_it_ends(
    bags_dir: Path, tmp_path: Path, fraction: float
) -> None:
    recovered = {}
    for source in sorted((bags_dir / 'ros1').glob('*.bag')):
        size = int(source.stat().st_size * fraction)
        count, problems = read(truncated(source, tmp_path, size))
        assert [p.kind for p in problems if p.kind == 'truncated'], (source.name, problems)
        assert count <= whole_count(source)
        recovered[source.name] = count
    if fraction >= 0.5:
        assert recovered['evo_ROS_example.bag'] > 0
        assert recovered['robot_localization_test1.bag'] > 0
        assert recovered['rosbagjs_example.bag'] > 0


def db3_files(bags_dir: Path) -> list[Path]:
    folder = bags_dir / 'ros2_db3'
    return [
        folder / 'rosbag2js_sample.db3',
        folder / 'evo_tf_example' / 'tf_example.db3',
        folder / 'rosbags_rs_test_bag_sqlite3' / 'test_bag_sqlite3.db3',
        folder / 'rosbag2_cdr_test' / 'cdr_test_0.db3',
        folder / 'rosbag2_talker' / 'talker.db3',
    ]


def test_damaged_db3_files_name_the_row_or_byte_of_the_damage(
    bags_dir: Path, tmp_path: Path
) -> None:
    outcomes = []
    for source in db3_files(bags_dir):
        size = source.stat().st_size
        mutants = [truncated(source, tmp_path, int(size * f)) for f in CUTS]
        mutants += [damaged(source, tmp_path, int(size * f), seed) for seed, f in enumerate(CUTS)]
        for mutant in mutants:
            result = outcome(mutant)
            if isinstance(result, str):
                assert 'ends at byte' in result, result
                outcomes.append(('refused', mutant.name))
                continue
            count, problems = result
            assert count <= whole_count(source)
            if '_cut' in mutant.name:
                assert any(p.kind == 'truncated' for p in problems), mutant.name
            outcomes.append(('read', mutant.name))
    refused = [name for kind, name in outcomes if kind == 'refused']
    assert len(outcomes) == 5 * 2 * len(CUTS)
    # Only files cut inside their first pages (the schema) cannot be opened at all.
    assert all('_cut' in name for name in refused), refused
    assert len(refused) <= 5


def test_a_truncated_db3_keeps_its_readable_rows_in_order(bags_dir: Path, tmp_path: Path) -> None:
    source = bags_dir / 'ros2_db3' / 'evo_tf_example' / 'tf_example.db3'
    cut = truncated(source, tmp_path, source.stat().st_size // 2)
    with open_bag(cut) as reader:
        stamps = [message.log_time_ns for message in reader.messages()]
        rows = [problem.offset for problem in reader.problems if problem.kind == 'corrupt']
    assert len(stamps) == 190
    assert stamps == sorted(stamps)
    assert rows == [191]
    folder = tmp_path / 'bag'
    shutil.copytree(source.parent, folder)
    shutil.copy(cut, folder / source.name)
    result = CliRunner().invoke(main, ['inject', str(folder), '--store', str(tmp_path / 'store')])
    assert result.exit_code == 1, result.output
    assert 'message rows from id 191 on are unreadable' in result.output


def test_a_truncated_mcap_keeps_the_whole_messages_of_its_cut_chunk(
    bags_dir: Path, tmp_path: Path
) -> None:
    source = bags_dir / 'ros2_mcap' / 'evo_nav2_turtlebot.mcap'
    counts = []
    for fraction in (0.05, 0.3, 0.65):
        count, problems = read(truncated(source, tmp_path, int(source.stat().st_size * fraction)))
        chunk = [p for p in problems if p.reason.startswith('chunk cut off')]
        assert len(chunk) == 1
        assert chunk[0].offset == 58
        assert f'{count} whole messages recovered' in chunk[0].reason
        counts.append(count)
    assert 0 < counts[0] < counts[1] < counts[2] < whole_count(source)
