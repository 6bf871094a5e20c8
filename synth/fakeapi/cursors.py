"""Opaque, stateless cursors (Europe PMC cursorMark, OpenAlex cursor).

They carry the offset of the next page and a fingerprint of the query, base64-encoded,
so clients must treat them as opaque, as with the real APIs."""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct

_MAGIC = b"\x02\x82\x08"


def encode_offset(offset: int, query: str = "") -> str:
    tag = hashlib.sha1(query.encode()).digest()[:5]
    return base64.b64encode(_MAGIC + struct.pack(">I", offset) + tag).decode()


def decode_offset(cursor: str) -> int | None:
    """The offset in a cursor made by encode_offset, or None when it is not one."""
    try:
        raw = base64.b64decode(cursor, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) != 12 or not raw.startswith(_MAGIC):
        return None
    return struct.unpack(">I", raw[3:7])[0]
