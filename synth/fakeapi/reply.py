"""What an API renderer hands back to the HTTP server."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

JSON = "application/json; charset=UTF-8"
XML = "text/xml; charset=UTF-8"


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = JSON
    headers: dict = field(default_factory=dict)
    data_page: bool = False  # a page of records: what Faults.truncate cuts
    on_truncated: Callable[[], None] | None = None  # runs when Faults.truncate cuts this reply


def json_reply(obj, status: int = 200, ascii_only: bool = False, **kw) -> Reply:
    body = json.dumps(obj, ensure_ascii=ascii_only, separators=(",", ":")).encode("utf-8")
    return Reply(status=status, body=body, content_type=kw.pop("content_type", JSON), **kw)


def first(params: dict, name: str, default: str | None = None) -> str | None:
    """The first value of a query parameter (parse_qs gives lists)."""
    values = params.get(name)
    return values[0] if values else default


def int_param(params: dict, name: str, default: int) -> int:
    """An integer parameter; ValueError names the parameter when it is not one."""
    raw = first(params, name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None
