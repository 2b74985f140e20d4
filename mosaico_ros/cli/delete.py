"""`mosaico-ros delete`: remove sequences, after saying what goes and asking."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from mosaico_ros.cli.group import main
from mosaico_ros.cli.options import console, target_options
from mosaico_ros.target import Target

if TYPE_CHECKING:
    from mosaico_ros.client import MosaicoClient


@main.command()
@click.argument('sequences', nargs=-1, required=True, metavar='SEQUENCE...')
@target_options
@click.option('--yes', '-y', is_flag=True, help='Do not ask; needed when stdin is not a terminal.')
def delete(*, target: Target, sequences: tuple[str, ...], yes: bool) -> None:
    """Delete SEQUENCE... with all their topics and data.

    Lists what would go and asks on a terminal; without a terminal (scripts,
    pipes) it refuses unless --yes is given. Nothing is deleted when a name
    does not exist. On a remote server deleting needs an API key with the
    `delete` permission, and the server may refuse data it has locked.
    Exits with status 1 if any sequence could not be deleted.
    """
    from mosaico_ros.client import PermissionDeniedError, ServerError
    from mosaico_ros.connect import open_client
    from mosaico_ros.pipeline.report import human_size

    names = list(dict.fromkeys(sequences))
    with open_client(target, create=False) as client:
        _check_all_exist(client, names, target)
        for name in names:
            handler = client.sequence_handler(name)
            size = human_size(handler.total_size_bytes) if handler else '?'
            topics = len(handler.topics) if handler else '?'
            console.print(f'  {name}: {topics} topic(s), {size}', highlight=False)
        _confirm(names, target, yes)
        failed = 0
        for name in names:
            try:
                client.sequence_delete(name)
            except PermissionDeniedError as err:
                raise click.ClickException(
                    f'{target.describe()} refused to delete {name!r}: {err.server_message}. '
                    'Deleting needs an API key with the delete permission (--api-key, '
                    'MOSAICO_API_KEY, or the api_key of the profile).',
                ) from None
            except ServerError as err:
                console.print(f'[red]not deleted[/] {name}: {err.server_message}', highlight=False)
                failed += 1
                continue
            console.print(f'deleted {name}', highlight=False)
    if failed:
        raise SystemExit(1)


def _check_all_exist(client: MosaicoClient, names: list[str], target: Target) -> None:
    missing = [name for name in names if not client.sequence_exists(name)]
    if missing:
        listed = ', '.join(repr(name) for name in missing)
        raise click.ClickException(
            f'no sequence {listed} in {target.describe()}; nothing deleted '
            '(see `mosaico-ros list`)',
        )


def _confirm(names: list[str], target: Target, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise click.UsageError(
            'refusing to delete without confirmation: stdin is not a terminal; pass --yes',
        )
    click.confirm(
        f'Delete {len(names)} sequence(s) from {target.describe()}?', default=False, abort=True
    )
