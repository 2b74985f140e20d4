"""Error notifications on the wire: request body, type, and time format.

Notification times travel as text, `2026-11-21 19:11:25.787941665 UTC`
(nanosecond digits, as `mosaicod` writes them); readers keep microseconds,
since `datetime` cannot hold more.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from mosaico_ros.protocol.errors import ProtocolError

NOTIFICATION_TYPE = 'error'
"""The only `notification_type` the 0.7.0 SDK files or accepts."""

_UTC_SUFFIX = ' UTC'


def notification_request(locator: str, msg: str) -> dict[str, Any]:
    """Return the body of `sequence_notification_create` / `topic_notification_create`."""
    return {'locator': locator, 'notification_type': NOTIFICATION_TYPE, 'msg': msg}


def format_created_datetime(ns: int) -> str:
    """Format ns since the epoch as `YYYY-MM-DD HH:MM:SS.nnnnnnnnn UTC`."""
    seconds, fraction = divmod(ns, 1_000_000_000)
    stamp = datetime.fromtimestamp(seconds, tz=timezone.utc).strftime('%Y-%m-%d %H:%M:%S')
    return f'{stamp}.{fraction:09d}{_UTC_SUFFIX}'


def parse_created_datetime(text: str) -> datetime:
    """Parse :func:`format_created_datetime` text (or zone-less ISO) as an aware UTC time.

    Raises:
        ProtocolError: The text is not such a time.

    """
    clean = text.strip()
    if clean.endswith(_UTC_SUFFIX):
        clean = clean[: -len(_UTC_SUFFIX)]
    head, dot, fraction = clean.partition('.')
    if dot:
        digits = ''.join(ch for ch in fraction if ch.isdigit())
        zone = fraction[len(digits) :]
        clean = f'{head}.{digits[:6].ljust(6, "0")}{zone}'
    try:
        moment = datetime.fromisoformat(clean)
    except ValueError as err:
        raise ProtocolError(f'notification created_datetime {text!r} is not a time') from err
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment
