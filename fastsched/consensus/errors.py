"""Exceptions of the consensus package.

Everything here derives from :class:`ConsensusError`; an error about a message
that arrived is also a :class:`~fastsched.errors.ValidationError`, so callers that
already catch bad input catch it too. A rejected message or record is never applied.
"""

from __future__ import annotations

from ..errors import FastschedError, ValidationError

__all__ = ["ConsensusError", "MessageError", "UnknownPeerError", "LogCorruptError"]


class ConsensusError(FastschedError):
    """Base class of the consensus package's errors."""


class MessageError(ConsensusError, ValidationError):
    """A message that cannot be decoded or is not well formed; ``field`` names the
    offending part (``ballot``, ``accepted[2].slot``, ...)."""


class UnknownPeerError(MessageError):
    """A message whose sender (or addressee) is not a member of the group."""


class LogCorruptError(ConsensusError):
    """A record of the durable log that fails its checks and is not the torn tail
    a crash can leave; ``path`` and ``offset`` (bytes) say where."""

    def __init__(self, message: str, path: str = "", offset: int = 0) -> None:
        self.path, self.offset = path, offset
        super().__init__(f"{path}: record at offset {offset}: {message}" if path
                         else f"record at offset {offset}: {message}")
