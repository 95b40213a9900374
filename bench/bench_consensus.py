"""Replicated log throughput: fastsched's Multi-Paxos against PySyncObj's Raft.

    python bench/bench_consensus.py [--commands 20000] [--window 1024]
    pytest bench/bench_consensus.py --benchmark-enable      (the same, as a suite)

Both run three replicas as three OS processes on 127.0.0.1, and report chosen
commands per second and the p50/p99 commit latency (from the client's send to
the reply saying the command was applied), with ``window`` commands outstanding:

* **fastsched**: ``python -m fastsched.consensus.net.server`` processes with durable
  logs (fsync on, one fsync per event-loop turn, run in a thread so the loop
  keeps working) and authenticated connections (a shared secret; every frame
  carries a MAC, see :mod:`fastsched.consensus.net.auth`); a
  :class:`~fastsched.consensus.net.client.Client` in this process
  submits ``bind`` commands (a pod to a node; each is checked against the node's
  free room when applied on every replica). The pod bodies are built before the
  clock starts. A second run submits commands whose apply is trivial (unbinding
  a pod that is not bound: rejected at once, identically everywhere), the
  closest thing to PySyncObj's counter, so the two logs compare like for like.
* **PySyncObj** (Raft, pip install pysyncobj): a replicated counter, ``incr``
  through node 1's SyncObj (the driver lives in node 1's process, as PySyncObj
  apps do), with its journal file on: PySyncObj 0.3 writes the journal to an
  mmap and never fsyncs it per entry, so its figure is *without* per-round fsync.

Each side first runs a warm-up of 500 commands (leader election, imports). With
``window`` commands in flight the figures are saturation throughput and the
latency of a full queue; a last fastsched run with 64 in flight shows the
latency of a log that is not saturated. (PySyncObj needs a deep window: it sends
appends on a 50 ms tick, so with 64 in flight it manages a few hundred per
second.) A snapshot is taken every 20,000 slots (a pause of a few hundred ms
with 20,000 bound pods), which lands in the default run's p99.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time

WARMUP = 500
NODES = 8
LOW_WINDOW = 64


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _summary(name: str, n: int, seconds: float, latencies: list[float]) -> dict:
    lat = sorted(latencies)
    return {"system": name, "commands": n, "seconds": seconds, "per_s": n / seconds,
            "p50_ms": lat[len(lat) // 2] * 1e3, "p99_ms": lat[int(len(lat) * 0.99)] * 1e3}


# -- fastsched ---------------------------------------------------------------------


def run_fastsched(commands: int, window: int, fsync: bool = True, trivial: bool = False,
                  per_command: int = 1) -> dict:
    from fastsched.consensus.net.client import Client, _bind_body

    peers = ",".join(f"127.0.0.1:{p}" for p in _free_ports(3))
    with tempfile.TemporaryDirectory(prefix="bench-consensus-") as tmp:
        secret = os.path.join(tmp, "cluster.secret")
        with open(secret, "w") as f:
            f.write(secrets.token_hex(32))
        procs = [subprocess.Popen(
            [sys.executable, "-m", "fastsched.consensus.net.server", "--id", str(rid), "--peers",
             peers, "--data", os.path.join(tmp, f"r{rid}"), "--secret-file", secret]
            + ([] if fsync else ["--no-fsync"]),
            stderr=subprocess.DEVNULL) for rid in (1, 2, 3)]
        try:
            client = Client(peers, timeout=120, window=window, secret_file=secret)
            for n in range(NODES):
                client.add_node(f"node-{n}", {"cpu": "100000", "memory": "100Ti",
                                              "pods": "1000000"})

            def pods(start: int, stop: int) -> list:
                return [("bind", _bind_body(
                    {"apiVersion": "v1", "kind": "Pod",
                     "metadata": {"name": f"p{i}", "namespace": "bench"},
                     "spec": {"containers": [{"name": "c", "resources": {
                         "requests": {"cpu": "10m", "memory": "16Mi"}}}]}}, f"node-{i % NODES}"))
                    for i in range(start, stop)]

            client.submit_many(pods(0, WARMUP))
            batch = ([("unbind", {"pod": f"bench/absent-{i}"}) for i in range(commands)]
                     if trivial else pods(WARMUP, WARMUP + commands))
            if per_command > 1:     # bind_many: per_command binds per log entry
                bodies = [body for _, body in batch]
                batch = [("bind_many", {"binds": bodies[i:i + per_command]})
                         for i in range(0, len(bodies), per_command)]
            latencies: list[float] = []
            started = time.perf_counter()
            results = client.submit_many(batch, latencies)
            seconds = time.perf_counter() - started
            if per_command > 1:
                results = [r for reply in results for r in reply["results"]]
            assert all(r["ok"] != trivial for r in results), "unexpected results"
            state = client.state()
            assert len(state["bindings"]) == WARMUP + (0 if trivial else commands)
            client.close()
        finally:
            for proc in procs:
                proc.kill()
                proc.wait()
    what = "unbind absent pod" if trivial else (
        f"bind, {per_command} per entry" if per_command > 1 else "bind")
    sync = "fsync per batch" if fsync else "no fsync"
    return _summary(f"fastsched Multi-Paxos ({what}, {sync}, window {window})", commands,
                    seconds, latencies)


# -- PySyncObj ---------------------------------------------------------------------


def _pysyncobj_node(index: int, ports: list[int], journal: str, commands: int,
                    window: int) -> None:
    """One PySyncObj replica; node 0 also drives the load and prints the result."""
    from pysyncobj import SyncObj, SyncObjConf, replicated

    class Counter(SyncObj):
        def __init__(self, me: str, partners: list[str], conf: SyncObjConf) -> None:
            super().__init__(me, partners, conf)
            self.value = 0

        @replicated
        def incr(self) -> int:
            self.value += 1
            return self.value

    addrs = [f"127.0.0.1:{p}" for p in ports]
    conf = SyncObjConf(journalFile=journal, dynamicMembershipChange=False)
    node = Counter(addrs[index], [a for i, a in enumerate(addrs) if i != index], conf)
    if index != 0:
        while True:
            time.sleep(1)

    deadline = time.monotonic() + 60
    while not (node.isReady() and node._getLeader() is not None):
        if time.monotonic() > deadline:
            raise SystemExit("PySyncObj: no leader within 60 s")
        time.sleep(0.05)

    def drive(n: int) -> tuple[float, list[float]]:
        slots = threading.Semaphore(window)
        done = threading.Event()
        latencies: list[float] = []
        errors: list = []
        left = [n]
        lock = threading.Lock()

        def call() -> None:
            sent = time.perf_counter()

            def callback(result: object, error: object) -> None:
                latencies.append(time.perf_counter() - sent)
                if error:
                    errors.append(error)
                slots.release()
                with lock:
                    left[0] -= 1
                    if left[0] == 0:
                        done.set()

            node.incr(callback=callback)

        started = time.perf_counter()
        for _ in range(n):
            slots.acquire()
            call()
        if not done.wait(120):
            raise SystemExit("PySyncObj: commands were not applied within 120 s")
        if errors:
            raise SystemExit(f"PySyncObj: {len(errors)} commands failed ({errors[0]})")
        return time.perf_counter() - started, latencies

    drive(WARMUP)
    seconds, latencies = drive(commands)
    print(json.dumps(_summary(f"PySyncObj Raft (counter, journal, no fsync, window {window})",
                              commands, seconds, latencies)), flush=True)
    os._exit(0)


def run_pysyncobj(commands: int, window: int) -> dict | None:
    if importlib.util.find_spec("pysyncobj") is None:
        return None
    ports = _free_ports(3)
    with tempfile.TemporaryDirectory(prefix="bench-pysyncobj-") as tmp:
        procs = [subprocess.Popen(
            [sys.executable, __file__, "--pysyncobj-node", str(i),
             "--ports", ",".join(map(str, ports)), "--journal", os.path.join(tmp, f"j{i}"),
             "--commands", str(commands), "--window", str(window)],
            stdout=subprocess.PIPE if i == 0 else subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, text=True) for i in range(3)]
        try:
            out, _ = procs[0].communicate(timeout=180)
        finally:
            for proc in procs:
                proc.kill()
                proc.wait()
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError("PySyncObj driver printed no result")
    return json.loads(lines[-1])


# -- report ------------------------------------------------------------------------


def run(commands: int = 20_000, window: int = 1024, no_fsync: bool = False) -> list[dict]:
    rows = [run_fastsched(commands, window), run_fastsched(commands, window, per_command=64)]
    if no_fsync:
        rows.append(run_fastsched(commands, window, fsync=False))
    rows.append(run_fastsched(commands, window, trivial=True))
    if window > LOW_WINDOW:      # latency when the log is not saturated
        rows.append(run_fastsched(commands // 2, LOW_WINDOW))
    theirs = run_pysyncobj(commands, window)
    if theirs is not None:
        rows.append(theirs)
    return rows


def report(rows: list[dict]) -> str:
    lines = [f"three replicas on loopback, {os.cpu_count()} CPUs",
             f"{'system':<66} {'ops/s':>10} {'p50 ms':>8} {'p99 ms':>8}"]
    for r in rows:
        lines.append(f"{r['system']:<66} {r['per_s']:>10,.0f} {r['p50_ms']:>8.1f} "
                     f"{r['p99_ms']:>8.1f}")
    theirs = [r for r in rows if r["system"].startswith("PySyncObj")]
    for r in rows:
        if theirs and r["system"].startswith("fastsched"):
            lines.append(f"{r['system']} / PySyncObj: {r['per_s'] / theirs[0]['per_s']:.2f}x")
    return "\n".join(lines)


def test_consensus_throughput(record_rate):
    """The same run as a bench suite (record_rate: see bench/conftest.py)."""
    rows = run(commands=10_000)
    for r in rows:
        record_rate("consensus (3 replicas, loopback)", r["system"], r["per_s"],
                    baseline=r["system"].startswith("PySyncObj"))
    print("\n" + report(rows))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commands", type=int, default=20_000)
    parser.add_argument("--window", type=int, default=1024,
                        help="commands outstanding at once (default: 1024)")
    parser.add_argument("--no-fsync", action="store_true",
                        help="also run fastsched without fsync")
    parser.add_argument("--pysyncobj-node", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--ports", help=argparse.SUPPRESS)
    parser.add_argument("--journal", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.pysyncobj_node is not None:
        _pysyncobj_node(args.pysyncobj_node, [int(p) for p in args.ports.split(",")],
                        args.journal, args.commands, args.window)
        return 0
    print(report(run(args.commands, args.window, args.no_fsync)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
