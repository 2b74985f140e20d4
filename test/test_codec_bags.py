"""Every CDR and ROS 1 message of every shared bag, against the rosbags oracle."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import TYPE_CHECKING

import pytest
from conftest import SHARED
from test_codec_support import check_batch, planned, serialize

from mosaico_ros.adapters import UnsupportedDefinitionError, arrow_struct
from mosaico_ros.bags import open_bag

if TYPE_CHECKING:
    from pathlib import Path

_INVENTORY = SHARED / 'data' / 'bags' / 'inventory.json'
ENTRIES = (
    [entry['path'] for entry in json.loads(_INVENTORY.read_text())['bags']]
    if _INVENTORY.is_file()
    else ['<no shared inventory>']
)


@pytest.mark.parametrize('entry', ENTRIES)
def test_every_message_of_the_bag(bags_dir: Path, entry: str) -> None:
    with open_bag(bags_dir / entry) as reader:
        resolution = reader.type_resolution()
        typestore = resolution.typestore
        payloads: dict[int, list[bytes]] = defaultdict(list)
        connections = {}
        for msg in reader.messages():
            conn = msg.connection
            if conn.encoding in ('cdr', 'ros1') and conn.id not in resolution.unknown:
                payloads[conn.id].append(bytes(msg.data))
                connections[conn.id] = conn
    for key, batch in payloads.items():
        conn = connections[key]
        ros1 = conn.encoding == 'ros1'
        try:
            arrow_struct(conn.msgtype, typestore)
        except UnsupportedDefinitionError:  # not a generic schema type: nothing to compare
            continue
        if not planned(typestore, conn.msgtype, ros1):
            continue
        decoded = check_batch(typestore, conn.msgtype, batch, ros1=ros1)
        if not ros1:
            # the same messages in the other byte order
            msgs = [typestore.deserialize_cdr(batch[index], conn.msgtype) for index in decoded.kept]
            swapped = [serialize(typestore, msg, conn.msgtype, 'be') for msg in msgs]
            check_batch(typestore, conn.msgtype, swapped, ros1=False)
