"""What authenticating replica frames costs: CPU per message, side by side in one run.

    python bench/bench_transport_auth.py
    pytest bench/bench_transport_auth.py --benchmark-enable

For a 341-byte ``Accept`` carrying one bind (the commonest message of a replicated
bind), per message and best of five rounds of CPU time (``process_time``, so other
load on the machine counts less than in wall time):

* the baseline every message pays anyway: ``encode`` + ``decode``, and framing
  without a MAC (``frame`` + :class:`FrameReader`);
* the shared-secret path: :meth:`Session.seal_many` + framing + :meth:`Session.open`
  with 1, 4, 16 and 64 messages to a frame (the transport puts everything one
  connection sends in one event-loop turn into one frame, so under load frames
  hold many messages).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from fastsched.consensus.messages import Accept, Ballot, Command, decode, encode
from fastsched.consensus.net.auth import Session
from fastsched.consensus.net.client import _bind_body
from fastsched.consensus.net.frames import FrameReader, frame

MESSAGES = 16_000
PER_FRAME = (1, 4, 16, 64)


def _message() -> Accept:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p1", "namespace": "bench"},
           "spec": {"containers": [{"name": "c", "resources": {
               "requests": {"cpu": "10m", "memory": "16Mi"}}}]}}
    return Accept(1, 2, Ballot(3, 1), 17, Command.make("c:1", "bind", _bind_body(pod, "node-1")))


def _best_us(run: Callable[[], None], rounds: int = 5) -> float:
    """Best CPU microseconds per message of ``run`` (which handles MESSAGES)."""
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        run()
        best = min(best, time.process_time() - started)
    return best / MESSAGES * 1e6


def measure() -> list[tuple[str, float]]:
    msg = _message()
    payload = encode(msg)

    def codec() -> None:
        for _ in range(MESSAGES):
            decode(encode(msg))

    def plain(k: int) -> Callable[[], None]:
        def run() -> None:
            reader = FrameReader()
            for _ in range(MESSAGES // k):
                reader.feed(b"".join([frame(payload)] * k))
        return run

    def maced(k: int) -> Callable[[], None]:
        def run() -> None:
            sender, receiver = Session(b"k" * 32, b"j" * 32), Session(b"j" * 32, b"k" * 32)
            reader, batch = FrameReader(), [payload] * k
            for _ in range(MESSAGES // k):
                for body in reader.feed(sender.seal_many(batch)):
                    receiver.open(body)
        return run

    rows = [(f"encode + decode ({len(payload)} B)", _best_us(codec)),
            ("framing, no MAC", _best_us(plain(1)))]
    rows += [(f"framing + MAC, {k} per frame", _best_us(maced(k))) for k in PER_FRAME]
    return rows


def report(rows: list[tuple[str, float]]) -> str:
    width = max(len(label) for label, _ in rows)
    lines = ["CPU us per message (best of 5 rounds)"]
    lines += [f"  {label:<{width}} {us:8.2f}" for label, us in rows]
    return "\n".join(lines)


def test_transport_auth_cost(record_rate):
    """The same measurement as a bench suite (rates: messages per CPU second)."""
    rows = measure()
    for label, us in rows:
        record_rate("transport auth (messages per CPU second)", label, 1e6 / us,
                    baseline=label == "framing, no MAC")
    print("\n" + report(rows))


if __name__ == "__main__":
    print(report(measure()))
    sys.exit(0)
