"""The addresses of a replica group: ``--peers HOST:PORT,...`` as (host, port) pairs.

Both ends need them: the replica, to listen on its own address and dial the
others, and the :class:`~fastsched.consensus.net.client.Client`, to find them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ...errors import ValidationError

__all__ = ["parse_peers"]


def parse_peers(text: str | Iterable[Any]) -> list[tuple[str, int]]:
    """``"host:port,host:port"`` (or a list of such strings or pairs) as pairs."""
    items = text.split(",") if isinstance(text, str) else list(text)
    out: list[tuple[str, int]] = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            host, sep, port_text = item.strip().rpartition(":")
            if not sep or not host or not port_text.isdigit():
                raise ValidationError(f"expected HOST:PORT, got {item!r}", f"peers[{i}]")
            item = (host, int(port_text))
        if not (isinstance(item, (tuple, list)) and len(item) == 2):
            raise ValidationError(f"expected HOST:PORT or (host, port), got {item!r}",
                                  f"peers[{i}]")
        host, port = item
        if not isinstance(host, str) or type(port) is not int or not 0 < port < 65536:
            raise ValidationError(f"expected (host, port), got {item!r}", f"peers[{i}]")
        out.append((host, port))
    if not out:
        raise ValidationError("expected at least one HOST:PORT", "peers")
    return out
