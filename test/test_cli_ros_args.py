"""ROS parameters as command options (`--ros-args`), as `ros2 run` and `launch_ros` pass them."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from mosaico_ros.cli import main
from mosaico_ros.cli.ros_args import expand_ros_args


def _expand(command: str, *args: str) -> list[str]:
    cmd = main.commands[command]
    return expand_ros_args(cmd, command, list(args))


def test_parameters_become_options(tmp_path: Path) -> None:
    params = tmp_path / 'params.yaml'
    params.write_text(
        '/**:\n  ros__parameters:\n    min_age: 1.5\n    on_error: retry\n'
        'mosaico_watch:\n  ros__parameters:\n    once: true\n    globs: ["*.mcap", "runs/*"]\n'
        'other_node:\n  ros__parameters:\n    interval: 9\n'
    )
    args = _expand(
        'watch',
        '--host',
        'h',
        '--ros-args',
        '--params-file',
        str(params),
        '-p',
        'folder:=/data/in',
        '--',
        '--tls',
    )
    assert args == [
        '--min-age',
        '1.5',
        '--on-error',
        'retry',
        '--once',
        '--glob',
        '*.mcap',
        '--glob',
        'runs/*',
        '/data/in',
        '--host',
        'h',
        '--tls',
    ]
    renamed = _expand(
        'watch', '--ros-args', '-r', '__node:=other_node', '--params-file', str(params)
    )
    assert '--interval' in renamed
    assert '--once' not in renamed
    assert _expand('serve', '--ros-args', '-p', 'port:=7000', '-p', 'port:=7001') == [
        '--port',
        '7001',
    ]
    assert _expand('list', '--store', 's') == ['--store', 's']
    # An option is also reached by its long flag: --all is the field all_topics of record.
    assert _expand('record', '--ros-args', '-p', 'all:=true') == ['--all']
    assert _expand('record', '--ros-args', '-p', 'all_topics:=true') == ['--all']
    # record names its node: its parameter file tables and -r __node:= follow that name.
    recorder = tmp_path / 'recorder.yaml'
    recorder.write_text('mosaico_recorder:\n  ros__parameters:\n    all: true\n')
    assert _expand('record', '--ros-args', '--params-file', str(recorder)) == ['--all']
    assert _expand('record', '--ros-args', '-r', '__node:=rec2') == ['--node-name', 'rec2']


def test_mistakes_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(click.UsageError) as raised:
        _expand('serve', '--ros-args', '-p', 'prot:=1')
    assert "ROS parameter 'prot' is no option of serve; it takes: host, " in str(raised.value)
    assert ', port, ' in str(raised.value)
    with pytest.raises(click.UsageError, match='is not NAME:=VALUE'):
        _expand('serve', '--ros-args', '-p', 'port')
    with pytest.raises(click.UsageError, match='cannot read the ROS parameter file'):
        _expand('serve', '--ros-args', '--params-file', str(tmp_path / 'none.yaml'))
