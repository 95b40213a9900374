"""Length-prefixed frames: the unit the transport reads and writes.

A frame is a 4-byte big-endian length followed by that many bytes. The reader
refuses a frame whose declared length is over its ``limit`` as soon as the four
length bytes arrive, before any of the body is buffered, so a peer can make it
hold at most ``limit`` bytes plus one read of a partial frame.
"""

from __future__ import annotations

import struct

from ...errors import FrameError
from ..messages import MAX_MESSAGE_BYTES

__all__ = ["frame", "split_frames", "FrameReader"]

_LENGTH = struct.Struct(">I")


def frame(payload: bytes) -> bytes:
    """``payload`` with its 4-byte big-endian length in front."""
    return _LENGTH.pack(len(payload)) + payload


def split_frames(data: bytes | memoryview) -> list[bytes]:
    """The frames that make up ``data`` exactly (a batch of them); raises
    :class:`FrameError` if their lengths do not add up to it."""
    out: list[bytes] = []
    pos, size = 0, len(data)
    while pos < size:
        if size - pos < 4:
            raise FrameError(f"{size - pos} stray bytes after {len(out)} frames", "frame")
        (length,) = _LENGTH.unpack_from(data, pos)
        end = pos + 4 + length
        if end > size:
            raise FrameError(f"frame {len(out)} of {length} bytes runs past the batch", "frame")
        out.append(bytes(data[pos + 4:end]))
        pos = end
    return out


class FrameReader:
    """Splits a byte stream into frames.

    ``feed`` buffers bytes and returns the complete frames; ``push`` and ``pop``
    do the same one frame at a time, for a caller that changes ``limit`` between
    frames (the transport raises it once a connection has authenticated).
    """

    def __init__(self, limit: int = MAX_MESSAGE_BYTES) -> None:
        self.limit = limit
        self._buf = bytearray()
        self._pos = 0               # start of the first frame not popped yet

    @property
    def buffered(self) -> int:
        """Bytes received and not yet returned as a frame."""
        return len(self._buf) - self._pos

    def push(self, data: bytes) -> None:
        """Buffer ``data``."""
        if self._pos:
            # Drop what was popped once per push, not once per frame: a chunk
            # holding k small frames costs one move of its tail, not k.
            del self._buf[:self._pos]
            self._pos = 0
        self._buf += data

    def pop(self) -> bytes | None:
        """The next complete frame, or None until more bytes arrive; raises
        :class:`FrameError` for a declared length over ``limit``."""
        buf, pos = self._buf, self._pos
        if len(buf) - pos < 4:
            return None
        (length,) = _LENGTH.unpack_from(buf, pos)
        if length > self.limit:
            raise FrameError(f"frame of {length} bytes is over the limit of {self.limit}",
                             "frame")
        end = pos + 4 + length
        if end > len(buf):
            return None
        self._pos = end
        return bytes(buf[pos + 4:end])

    def feed(self, data: bytes) -> list[bytes]:
        """Buffer ``data`` and return every frame now complete."""
        self.push(data)
        return list(iter(self.pop, None))
