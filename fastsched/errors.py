"""Exceptions raised by fastsched.

Infeasibility is never an exception (it is an ``Unschedulable`` value); these are
for bad input and for operations that cannot be carried out. Every error that is
about a piece of input names it in ``field`` (a dotted/indexed path such as
``containers[0].requests.cpu``) and in its message.
"""

from __future__ import annotations

__all__ = [
    "FastschedError",
    "ValidationError",
    "QuantityError",
    "ManifestError",
    "NotFoundError",
    "NodeNotFoundError",
    "PodNotFoundError",
    "DuplicateError",
    "DoesNotFitError",
    "KeyTypeError",
    "ConsensusError",
    "MessageError",
    "UnknownPeerError",
    "LogCorruptError",
    "LostStateError",
    "FrameError",
    "AuthenticationError",
    "ClientTimeout",
    "SimulationFailure",
    "ManifestWarning",
]


class FastschedError(Exception):
    """Base class of every exception fastsched raises on purpose."""


class ValidationError(FastschedError, ValueError):
    """Bad input. ``field`` is the path of the offending value ('' when none)."""

    def __init__(self, message: str, field: str = "") -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}" if field else message)

    def prefixed(self, path: str) -> "ValidationError":
        """The same error with ``path`` put in front of its field."""
        if not path:
            return self
        field = path + ("" if not self.field or self.field.startswith("[")
                        else ".") + self.field
        err = ValidationError.__new__(type(self))
        err.__dict__.update(self.__dict__)
        err.field = field
        err.args = (f"{field}: {self.message}",)
        return err


class QuantityError(ValidationError):
    """A Kubernetes resource quantity that does not parse or does not fit int64."""

    def __init__(self, message: str, field: str = "", text: object = None) -> None:
        self.text = text
        super().__init__(message, field)


class ManifestError(ValidationError):
    """A Kubernetes manifest document that cannot be read.

    ``source`` is the file (or ``<text>``), ``index`` the document's position in
    it, ``obj`` its ``kind/name``; ``field`` the path inside the document.
    """

    def __init__(self, message: str, *, source: str = "<text>", index: int = 0,
                 obj: str = "", field: str = "") -> None:
        self.source, self.index, self.obj = source, index, obj
        where = f"{source}: document {index}"
        if obj:
            where += f" ({obj})"
        ValueError.__init__(self, f"{where}: {field + ': ' if field else ''}{message}")
        self.field = field


class NotFoundError(FastschedError, KeyError):
    """A node or pod name the cluster does not know."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class NodeNotFoundError(NotFoundError):
    """No node of that name in the cluster."""


class PodNotFoundError(NotFoundError):
    """No bound pod of that name in the cluster."""


class DuplicateError(ValidationError):
    """A node or pod name that is already taken."""


class DoesNotFitError(FastschedError, ValueError):
    """``bind`` refused a pod that does not fit; ``reasons`` are the failed checks."""

    def __init__(self, message: str, reasons: tuple[str, ...] = ()) -> None:
        self.reasons = tuple(reasons)
        super().__init__(message)


class KeyTypeError(ValidationError, TypeError):
    """A hash key that is not a ``str``, ``bytes`` or ``int`` (``field`` says which)."""


class ManifestWarning(UserWarning):
    """A manifest document that was skipped (a kind fastsched does not read)."""


# -- consensus -----------------------------------------------------------------------
# Everything the consensus package raises derives from ConsensusError; an error about
# a message that arrived is also a ValidationError, so callers that already catch bad
# input catch it too. A rejected message or record is never applied.


class ConsensusError(FastschedError):
    """Base class of the consensus package's errors."""


class MessageError(ConsensusError, ValidationError):
    """A message that cannot be decoded or is not well formed; ``field`` names the
    offending part (``ballot``, ``accepted[2].slot``, ...)."""


class UnknownPeerError(MessageError):
    """A message whose sender (or addressee) is not a member of the group."""


class FrameError(MessageError):
    """A frame whose length is over the limit."""


class AuthenticationError(MessageError):
    """A connection that did not prove it holds the group's shared secret, or a
    frame whose MAC or sequence number does not check."""


class LogCorruptError(ConsensusError):
    """A record of the durable log that fails its checks and is not the torn tail
    a crash can leave; ``path`` and ``offset`` (bytes) say where."""

    def __init__(self, message: str, path: str = "", offset: int = 0) -> None:
        self.path, self.offset = path, offset
        super().__init__(f"{path}: record at offset {offset}: {message}" if path
                         else f"record at offset {offset}: {message}")


class LostStateError(LogCorruptError):
    """An acceptor's durable state is missing, cut short below what it had made
    durable, or damaged. Paxos is safe only if an acceptor keeps every promise and
    vote it replied with, so such a replica must not vote until an operator
    accepts the loss (``recover=True``, ``--recover``); ``path`` names the file."""

    def __init__(self, message: str, path: str = "") -> None:
        self.path, self.offset = path, 0
        ConsensusError.__init__(self, f"{path}: {message}" if path else message)


class ClientTimeout(ConsensusError):
    """The group did not answer in time (no leader, or not enough replicas up)."""


class SimulationFailure(AssertionError):
    """A safety or liveness check of the consensus simulator failed; the message says
    how to replay it."""
