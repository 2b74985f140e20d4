"""The package's shape: who imports whom, what importing costs, and a suite that runs anywhere."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / 'mosaico_ros'

LAYERS = ('cli', 'nodes', 'bags', 'demo', 'pipeline', 'adapters', 'client', 'server')
"""Subpackages whose imports the layering rules constrain (protocol and ontology are the base)."""

FORBIDDEN: dict[str, set[str]] = {
    'pipeline': {'bags', 'nodes', 'cli', 'demo'},
    'adapters': {'bags', 'nodes', 'pipeline', 'cli', 'demo', 'server'},
    'client': {'bags', 'nodes', 'pipeline', 'adapters', 'cli', 'demo', 'server'},
    'server': {'client', 'adapters', 'bags', 'pipeline', 'nodes', 'cli', 'demo'},
    'protocol': {'client', 'adapters', 'bags', 'pipeline', 'nodes', 'cli', 'demo', 'server'},
    'ontology': {'client', 'adapters', 'bags', 'pipeline', 'nodes', 'cli', 'demo', 'server'},
    'bags': {'nodes', 'cli', 'demo'},
    'nodes': {'bags', 'cli', 'demo'},
}
"""Package -> packages it must not import (directly or lazily, inside functions)."""


def _package_of(module: str) -> str | None:
    parts = module.split('.')
    if parts[0] != 'mosaico_ros' or len(parts) < 2:
        return None
    return parts[1]


def _imports(path: Path) -> set[str]:
    """Every mosaico_ros module a file imports, wherever the import statement is."""
    tree = ast.parse(path.read_text(encoding='utf-8'))
    here = '.'.join(path.relative_to(REPO).with_suffix('').parts)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                # `here` ends with the module name (`__init__` for a package): drop `level` parts.
                base = here.split('.')[: -node.level]
                module = '.'.join([*base, node.module] if node.module else base)
            else:
                module = node.module or ''
            found.add(module)
    return {name for name in found if name.startswith('mosaico_ros')}


def package_graph() -> dict[str, set[str]]:
    """Subpackage -> the other subpackages it imports."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob('*.py'):
        source = _package_of('.'.join(path.relative_to(REPO).with_suffix('').parts))
        if source is None:
            continue
        targets = {_package_of(name) for name in _imports(path)}
        graph.setdefault(source, set()).update(t for t in targets if t and t != source)
    return graph


def test_layers_import_only_downward() -> None:
    graph = package_graph()
    assert {'bags', 'pipeline', 'adapters', 'client', 'server'} <= set(graph)
    assert 'pipeline' in graph['bags'], 'bags feed the pipeline'
    violations = {
        package: sorted(graph.get(package, set()) & banned)
        for package, banned in FORBIDDEN.items()
        if graph.get(package, set()) & banned
    }
    assert violations == {}


def test_no_import_cycles_between_packages() -> None:
    graph = package_graph()
    subpackages = {name for name in graph if (PACKAGE / name).is_dir()}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, set()) & subpackages):
            if state.get(nxt) == 1:
                pytest.fail(f'import cycle: {" -> ".join([*trail, node, nxt])}')
            if nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = 2

    for name in sorted(subpackages):
        if name not in state:
            visit(name, [])


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, '-c', code], capture_output=True, text=True, check=True, cwd=REPO
    )


def test_the_server_imports_only_what_it_uses() -> None:
    done = _python(
        'import sys, mosaico_ros.server.service\n'
        'print(sorted({m.split(".")[1] for m in sys.modules'
        ' if m.startswith("mosaico_ros.") }))'
    )
    loaded = set(eval(done.stdout))
    assert loaded <= {'server', 'protocol', 'ontology'}, loaded


def test_help_starts_fast() -> None:
    done = _python(
        'import sys, mosaico_ros.cli\n'
        'print(sorted(m for m in ("pyarrow", "rosbags", "pydantic", "mosaico_ros.client",'
        ' "mosaico_ros.server.service", "mosaico_ros.pipeline") if m in sys.modules))'
    )
    assert done.stdout.strip() == '[]', f'the CLI loads {done.stdout.strip()} before a command runs'
    command = [sys.executable, '-m', 'mosaico_ros', '--help']
    subprocess.run(command, capture_output=True, check=True, cwd=REPO)  # warm the caches
    best = min(_timed(command) for _ in range(3))
    assert best < 1.0, f'mosaico-ros --help took {best:.2f} s'


def _timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, check=True, cwd=REPO)
    return time.perf_counter() - started


def test_the_suite_collects_without_the_shared_folder(tmp_path: Path) -> None:
    env = {**os.environ, 'MOSAICO_SHARED': str(tmp_path / 'absent')}
    done = subprocess.run(
        [sys.executable, '-m', 'pytest', '--collect-only', '-q', '-p', 'no:cacheprovider'],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert 'error' not in done.stdout.lower().splitlines()[-1]
