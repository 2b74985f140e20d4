"""The `mosaico-ros` command group; each command lives in a module of its own."""

from __future__ import annotations

import os
from typing import Any

import click

from mosaico_ros.server.errors import StoreError

TARGET_ATTRIBUTE = 'chooses_target'
"""Set on a command's callback by `target_options`: its help names the target."""


def _format_target(ctx: click.Context, formatter: click.HelpFormatter) -> None:
    from mosaico_ros.target import TargetError, resolve_target

    try:
        explained = resolve_target(profile=ctx.find_root().params.get('profile')).explain()
    except TargetError as err:
        explained = f'none can be chosen: {err}'
    with formatter.section('Target'):
        formatter.write_text(f'Without --store or --host, this runs on {explained}.')


class _HomePath(click.ParamType):
    """A `click.Path` that expands a leading `~` first.

    The shell expands `~` on a command line, but launch files, ROS
    parameters and quoted values pass it on as is.
    """

    envvar_list_splitter = os.path.pathsep

    def __init__(self, path: click.Path) -> None:
        self._path = path
        self.name = path.name

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """Expand `~`, then check and convert as the wrapped `click.Path` does."""
        if isinstance(value, (str, os.PathLike)):
            value = os.path.expanduser(value)
        return self._path.convert(value, param, ctx)


class _Command(click.Command):
    """A mosaico-ros command.

    It takes ROS parameters for its options (`--ros-args`, see `ros_args`),
    its path options expand `~`, its help names the target it would use,
    and a store in use or a server that does not answer is a one-line error.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if isinstance(param.type, click.Path):
                param.type = _HomePath(param.type)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Parse the command line, ROS arguments (`--ros-args ...`) included."""
        from mosaico_ros.cli.ros_args import expand_ros_args

        return super().parse_args(ctx, expand_ros_args(self, ctx.info_name or '', args))

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; expected failures end it with their message, not a traceback."""
        try:
            return super().invoke(ctx)
        except (StoreError, ConnectionError) as err:
            raise click.ClickException(str(err)) from err

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        if getattr(self.callback, TARGET_ATTRIBUTE, False):
            _format_target(ctx, formatter)


class _Group(click.Group):
    """The command group: its help, too, ends with the target commands would use."""

    command_class = _Command

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        _format_target(ctx, formatter)


_HELP = """Move ROS data into and out of Mosaico.

Commands work on a local store (no server to run) or on a running Mosaico
server. Which one, first match wins:

\b
1. --store DIR or --host HOST[:PORT] on the command line
2. MOSAICO_DAEMON_URL (host or host:port), with MOSAICO_API_KEY,
   MOSAICO_TLS (any value but 0/false/no/off) and MOSAICO_CERT_PATH
   (alias MOSAICO_TLS_CERT_FILE)
3. a profile: --profile NAME or MOSAICO_PROFILE
4. MOSAICO_STORE, a local store directory
5. the default store, in the XDG data directory

A port in the URL or the profile wins over the default 6726; --port wins
over both. `mosaico ros ...` (the official mosaico CLI) runs these
commands with its chosen profile in the environment.
"""


@click.group(cls=_Group, help=_HELP, context_settings={'help_option_names': ['-h', '--help']})
@click.version_option(package_name='mosaico_ros')
@click.option(
    '--profile',
    metavar='NAME',
    help='Use the server of a profile of the mosaico CLI (~/.mosaico/config.toml, or '
    '$MOSAICO_CONFIG_PATH) [env: MOSAICO_PROFILE].',
)
def main(profile: str | None) -> None:
    """Move ROS data into and out of Mosaico (see `_HELP`)."""
    del profile  # read by each command's target options from the root context
