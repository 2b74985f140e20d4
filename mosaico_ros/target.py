"""Which Mosaico server a command talks to: a local store or a remote server.

The choice follows the official `mosaico` CLI, which runs `mosaico ros ...`
as `mosaico-ros ...` with the chosen profile exported in the environment.
First match wins:

1. `--store` or `--host` on the command line;
2. `MOSAICO_DAEMON_URL` (`host` or `host:port`);
3. a profile named by `--profile` or `MOSAICO_PROFILE`, read from the
   profiles file (`MOSAICO_CONFIG_PATH`, default `~/.mosaico/config.toml`);
4. `MOSAICO_STORE`, a local store directory;
5. the default store in the XDG data directory.

The connection settings of a remote server are layered the same way: the
command line (`--port`, `--api-key`, `--tls`, `--tls-cert`) over the
environment (`MOSAICO_API_KEY`, `MOSAICO_TLS`, `MOSAICO_CERT_PATH` or its
alias `MOSAICO_TLS_CERT_FILE`) over the profile. A port in the URL or the
profile wins over the default port; `--port` wins over both.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mosaico_ros.profiles import Profile, ProfileError, config_path, load_profile
from mosaico_ros.protocol import DEFAULT_PORT

DAEMON_URL_ENV = 'MOSAICO_DAEMON_URL'
API_KEY_ENV = 'MOSAICO_API_KEY'
TLS_ENV = 'MOSAICO_TLS'
CERT_PATH_ENV = 'MOSAICO_CERT_PATH'
CERT_PATH_ALIAS_ENV = 'MOSAICO_TLS_CERT_FILE'
PROFILE_ENV = 'MOSAICO_PROFILE'
STORE_ENV = 'MOSAICO_STORE'

DEFAULT_SOURCE = 'the default'
"""`Target.source` when nothing named a target."""

_FALSE_WORDS = frozenset({'', '0', 'false', 'no', 'off'})


class TargetError(ValueError):
    """The command line and environment do not name a usable target."""


@dataclass(frozen=True)
class Target:
    """Where to connect: a store directory served in-process, or a remote server.

    Attributes:
        store: Local store directory (used when `host` is None).
        host: Remote server host.
        port: Remote server port.
        api_key: API key sent with every call.
        tls: Whether to use TLS (system root certificates unless `tls_cert`).
        tls_cert: PEM root certificate; implies TLS.
        source: What chose this target, for the user (e.g. `--host`).
        client_name: Who connects, shown to other commands sharing a store.

    """

    store: Path | None = None
    host: str | None = None
    port: int = DEFAULT_PORT
    api_key: str | None = None
    tls: bool = False
    tls_cert: Path | None = None
    source: str = ''
    client_name: str = 'mosaico_ros'

    @property
    def store_path(self) -> Path:
        """The store directory of a local target (the default store when unset)."""
        return self.store if self.store is not None else default_store()

    @property
    def uses_tls(self) -> bool:
        """Whether the connection is encrypted."""
        return self.tls or self.tls_cert is not None

    def describe(self) -> str:
        """Short human-readable form for titles and errors."""
        if self.host is None:
            return f'store {self.store_path}'
        scheme = 'grpc+tls' if self.uses_tls else 'grpc'
        return f'{scheme}://{self.host}:{self.port}'

    def explain(self) -> str:
        """Describe the target and what chose it: `grpc://h:6726 (from MOSAICO_DAEMON_URL)`."""
        extras = []
        if self.host is not None and self.api_key:
            extras.append('with API key')
        if self.tls_cert is not None:
            extras.append(f'CA {self.tls_cert}')
        detail = f' {", ".join(extras)}' if extras else ''
        source = {'': '', DEFAULT_SOURCE: f' ({DEFAULT_SOURCE})'}.get(
            self.source, f' (from {self.source})'
        )
        return f'{self.describe()}{detail}{source}'


def default_store(environ: Mapping[str, str] | None = None) -> Path:
    """Return the store used when nothing else names a target.

    `$MOSAICO_STORE` wins; otherwise the XDG data directory, so every command on
    one machine meets the same store by default.
    """
    env = os.environ if environ is None else environ
    if value := env.get(STORE_ENV):
        return Path(value).expanduser()
    data_home = env.get('XDG_DATA_HOME') or str(Path.home() / '.local' / 'share')
    return Path(data_home).expanduser() / 'mosaico_ros' / 'store'


def split_address(address: str) -> tuple[str, int | None, bool]:
    """Split `host`, `host:port` or a `grpc[+tls]://host[:port]` URL.

    Args:
        address: As given on the command line, in the environment or a profile.

    Returns:
        Host, port (None when absent) and whether the scheme asks for TLS.

    Raises:
        TargetError: The port is not a number, or the host is empty.

    """
    text = address.strip().rstrip('/')
    scheme, sep, rest = text.partition('://')
    if not sep:
        scheme, rest = '', text
    tls = scheme.lower() in ('grpc+tls', 'https')
    host, port = rest, None
    if rest.startswith('['):  # [IPv6]:port
        closing = rest.find(']')
        host, tail = rest[1:closing], rest[closing + 1 :]
        if tail.startswith(':'):
            port = _port(tail[1:], address)
    elif rest.count(':') == 1:
        host, port_text = rest.split(':')
        port = _port(port_text, address)
    if not host:
        raise TargetError(f'no host in {address!r}')
    return host, port, tls


def _port(text: str, address: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise TargetError(f'{address!r}: port {text!r} is not a number from 1 to 65535')
    return int(text)


def env_flag(value: str | None) -> bool | None:
    """Read an on/off environment variable: unset is None, any value but 0/false/no/off is on."""
    if value is None:
        return None
    return value.strip().lower() not in _FALSE_WORDS


def resolve_target(
    *,
    store: Path | None = None,
    host: str | None = None,
    port: int | None = None,
    api_key: str | None = None,
    tls: bool = False,
    tls_cert: Path | None = None,
    profile: str | None = None,
    environ: Mapping[str, str] | None = None,
    client_name: str = 'mosaico_ros',
) -> Target:
    """Choose the target from command-line values, the environment and the profiles file.

    Args:
        store: `--store`.
        host: `--host` (may carry `:port`).
        port: `--port`.
        api_key: `--api-key`.
        tls: `--tls`.
        tls_cert: `--tls-cert`.
        profile: `--profile`.
        environ: The environment (default: `os.environ`).
        client_name: Who connects (see `Target.client_name`).

    Returns:
        The target, with `source` saying what chose it.

    Raises:
        TargetError: `--store` and `--host` together, a malformed address or
            a missing or malformed profile.

    """
    env = os.environ if environ is None else environ
    if store is not None and host is not None:
        raise TargetError('give either --store or --host, not both')
    if store is not None:
        return Target(store=store.expanduser(), source='--store', client_name=client_name)
    profile_name = profile or env.get(PROFILE_ENV) or None
    found: Profile | None = None
    if host is not None:
        address, source = host, '--host'
    elif daemon_url := env.get(DAEMON_URL_ENV, '').strip():
        address, source = daemon_url, DAEMON_URL_ENV
    elif profile_name is not None:
        try:
            found = load_profile(profile_name, config_path(env))
        except ProfileError as err:
            raise TargetError(str(err)) from None
        address = found.host
        named_by = '--profile' if profile else PROFILE_ENV
        source = f'profile {found.name!r} ({named_by}) in {found.path}'
    else:
        source = STORE_ENV if env.get(STORE_ENV) else DEFAULT_SOURCE
        return Target(store=default_store(env), source=source, client_name=client_name)
    host_name, address_port, scheme_tls = split_address(address)
    if found is not None and None not in (found.port, address_port) and found.port != address_port:
        raise TargetError(
            f'profile {found.name!r} in {found.path} gives two ports: '
            f'host = {found.host!r} and port = {found.port}',
        )
    cert = tls_cert or _env_cert(env) or (found.cert_path if found else None)
    tls_default = scheme_tls or (found is not None and found.tls)
    return Target(
        host=host_name,
        port=port or address_port or (found.port if found else None) or DEFAULT_PORT,
        api_key=api_key or env.get(API_KEY_ENV) or (found.api_key if found else None),
        tls=tls or cert is not None or _env_tls(env, default=tls_default),
        tls_cert=cert.expanduser() if cert is not None else None,
        source=source,
        client_name=client_name,
    )


def _env_tls(env: Mapping[str, str], *, default: bool) -> bool:
    flag = env_flag(env.get(TLS_ENV))
    return default if flag is None else flag


def _env_cert(env: Mapping[str, str]) -> Path | None:
    value = env.get(CERT_PATH_ENV) or env.get(CERT_PATH_ALIAS_ENV)
    return Path(value).expanduser() if value else None
