"""Replica restart time against the length of its history.

    python bench/bench_recovery.py [--sizes 1000,10000,100000] [--repeat 3]
    pytest bench/bench_recovery.py            (a smoke test: two small histories)

For each history length N, one replica applies N ``bind`` commands (one pod
each, onto eight nodes) through the real :class:`~fastsched.consensus.Replica`
over a :class:`~fastsched.consensus.FileStorage` (fsync off: the disk is not
what is measured), then the process "restarts" it: a new storage and replica over
the same directory, timed from the first read of the directory to a replica
ready to serve (log loaded, snapshot restored into the scheduler's cluster).

Two configurations are compared side by side in one run:

* **whole log**: snapshots off (``snapshot_every=0``, no record or byte limit),
  so the log holds every vote of the history. This is the worst case of loading
  a log and shows how the load scales with its records; the state machine's
  state is rebuilt from peers afterwards and is not part of it.
* **network config**: the transport's :data:`NETWORK_CONFIG` (snapshots by
  slots, records and bytes), what ``fastsched replica`` runs with: a restart
  loads one snapshot (the cluster with every bound pod) and a bounded log.

The script prints, per N: log records and bytes, snapshot bytes, the median
restart time over ``--repeat`` restarts, and the records loaded per second.
Run it with ``PYTHONPATH`` pointing at another checkout to compare versions (it
uses only the public consensus API).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from typing import Any

from fastsched import Pod
from fastsched.consensus import Command, FileStorage, Replica, ReplicaConfig, SchedulerMachine
from fastsched.consensus.codec import pod_to_json
from fastsched.consensus.net.transport import NETWORK_CONFIG

NODES = 8
WHOLE_LOG = replace(NETWORK_CONFIG, snapshot_every=0, snapshot_records=0, snapshot_bytes=0) \
    if hasattr(NETWORK_CONFIG, "snapshot_records") else replace(NETWORK_CONFIG, snapshot_every=0)
CONFIGS = {"whole log": WHOLE_LOG, "network config": NETWORK_CONFIG}


def _elect(replica: Replica) -> float:
    now = 0.0
    while not replica.is_leader:
        now += replica.config.election_timeout
        replica.on_tick(now)
    return now


def build_history(directory: str, n: int, config: ReplicaConfig) -> None:
    """Apply ``n`` binds (after the nodes) through a one-replica group."""
    replica = Replica(1, [1], SchedulerMachine(keep_log=False),
                      FileStorage(directory, fsync=False), config=config)
    _elect(replica)
    seq = 0

    def submit(op: str, data: Any) -> None:
        nonlocal seq
        seq += 1
        got = replica.submit(Command.make(f"bench:{seq}", op, data))
        assert got.accepted and got.result is not None and '"ok":true' in got.result, got

    for i in range(NODES):
        submit("add_node", {"node": {"name": f"node-{i}", "allocatable": {
            "cpu": 10**9, "memory": 1 << 60, "pods": 10**9}, "labels": {}}})
    for i in range(n):
        pod = Pod(f"p{i}", namespace="bench", requests={"cpu": 10, "memory": 16 << 20})
        submit("bind", {"pod": pod_to_json(pod), "node": f"node-{i % NODES}"})
    replica.storage.close()


def restart(directory: str, config: ReplicaConfig) -> tuple[float, Replica]:
    """Seconds from opening the directory to a replica ready to serve."""
    started = time.perf_counter()
    replica = Replica(1, [1, 2, 3], SchedulerMachine(keep_log=False),
                      FileStorage(directory, fsync=False), config=config)
    seconds = time.perf_counter() - started
    replica.storage.close()
    return seconds, replica


def _size(path: str) -> int:
    return os.path.getsize(path) if os.path.exists(path) else 0


def measure(n: int, config: ReplicaConfig, repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-recovery-") as tmp:
        build_history(tmp, n, config)
        log_bytes = _size(os.path.join(tmp, "acceptor.log"))
        snapshot_bytes = _size(os.path.join(tmp, "snapshot"))
        times = []
        for _ in range(repeat):
            seconds, replica = restart(tmp, config)
            times.append(seconds)
        records = len(replica.accepted) + (replica.promised is not None)
        return {"n": n, "records": records, "log_bytes": log_bytes,
                "snapshot_bytes": snapshot_bytes, "log_start": replica.log_start,
                "seconds": statistics.median(times)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,5000,10000,20000,40000,100000",
                        help="history lengths (binds), comma-separated")
    parser.add_argument("--repeat", type=int, default=3, help="restarts per size (median)")
    parser.add_argument("--only", choices=sorted(CONFIGS), help="run one configuration")
    args = parser.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",") if x]
    import fastsched
    print(f"fastsched from {os.path.dirname(fastsched.__file__)}; python {sys.version.split()[0]}")
    print(f"{'config':<15} {'binds':>7} {'log recs':>9} {'log MB':>7} {'snap MB':>8} "
          f"{'snap slot':>9} {'restart s':>10} {'recs/s':>10}")
    for name, config in CONFIGS.items():
        if args.only and name != args.only:
            continue
        for n in sizes:
            r = measure(n, config, args.repeat)
            rate = r["records"] / r["seconds"] if r["seconds"] else float("inf")
            print(f"{name:<15} {n:>7} {r['records']:>9} {r['log_bytes'] / 1e6:>7.1f} "
                  f"{r['snapshot_bytes'] / 1e6:>8.1f} {r['log_start']:>9} "
                  f"{r['seconds']:>10.3f} {rate:>10.0f}", flush=True)
    return 0


def test_restart_after_history_smoke() -> None:
    """Structural checks only: the restarted replica holds the whole history."""
    for name, config in CONFIGS.items():
        with tempfile.TemporaryDirectory(prefix="bench-recovery-") as tmp:
            build_history(tmp, 300, config)
            _, replica = restart(tmp, config)
            assert replica.log_start + len(replica.accepted) >= NODES + 300, name


if __name__ == "__main__":
    sys.exit(main())
