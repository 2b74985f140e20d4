"""Connection profiles of the official `mosaico` CLI (`~/.mosaico/config.toml`).

The file holds one TOML table per profile, as `mosaico profile add` writes it::

    [prod]
    host = "mosaico.example.org"   # or "host:port"
    port = "6726"                  # optional; a string or an integer
    api_key = "msco_..."
    tls = true
    cert_path = "~/certs/ca.pem"   # optional; turns TLS on
    default = true

`MOSAICO_CONFIG_PATH` names another file. Only reading is done here; the
official CLI manages the file.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CONFIG_PATH_ENV = 'MOSAICO_CONFIG_PATH'
"""Environment variable naming the profiles file."""


class ProfileError(ValueError):
    """A profile is missing or malformed; the text names the file."""


@dataclass(frozen=True)
class Profile:
    """One named server of the profiles file.

    Attributes:
        name: Table name in the file.
        host: Host name or address, possibly with `:port`.
        port: Port given separately, if any.
        api_key: API key, if any.
        tls: Whether TLS is on.
        cert_path: PEM root certificate, if any (turns TLS on).
        path: The file it was read from.

    """

    name: str
    host: str
    port: int | None
    api_key: str | None
    tls: bool
    cert_path: Path | None
    path: Path


def config_path(environ: Mapping[str, str]) -> Path:
    """Return the profiles file: `$MOSAICO_CONFIG_PATH` or `~/.mosaico/config.toml`."""
    if value := environ.get(CONFIG_PATH_ENV):
        return Path(value).expanduser()
    return Path.home() / '.mosaico' / 'config.toml'


def load_profile(name: str, path: Path) -> Profile:
    """Read one profile from a profiles file.

    Args:
        name: Profile (table) name.
        path: The profiles file.

    Returns:
        The profile.

    Raises:
        ProfileError: The file is missing or malformed, or has no such profile.

    """
    try:
        document = tomllib.loads(path.read_text(encoding='utf-8'))
    except FileNotFoundError:
        raise ProfileError(
            f'profile {name!r}: there is no profiles file {path} '
            f'(create one with `mosaico profile add`, or set {CONFIG_PATH_ENV})',
        ) from None
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ProfileError(f'cannot read the profiles file {path}: {err}') from None
    table = document.get(name)
    if not isinstance(table, dict):
        known = ', '.join(key for key, value in document.items() if isinstance(value, dict))
        raise ProfileError(
            f'no profile {name!r} in {path}; profiles there: {known or "none"}',
        )
    return _profile(name, table, path)


def _profile(name: str, table: dict[str, Any], path: Path) -> Profile:
    host = str(table.get('host', '')).strip()
    if not host:
        raise ProfileError(f'profile {name!r} in {path} has no host')
    port = table.get('port')
    try:
        port_number = int(port) if port not in (None, '') else None
    except (TypeError, ValueError):
        raise ProfileError(f'profile {name!r} in {path}: port {port!r} is not a number') from None
    cert = str(table.get('cert_path') or '').strip()
    tls = table.get('tls', False)
    return Profile(
        name=name,
        host=host,
        port=port_number,
        api_key=str(table.get('api_key') or '').strip() or None,
        tls=tls is True or str(tls).lower() in ('true', '1', 'yes', 'on'),
        cert_path=Path(cert).expanduser() if cert else None,
        path=path,
    )
