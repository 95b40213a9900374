"""Fail-over soak: SIGKILL leaders and followers of a 3-replica group under load.

    python bench/soak_failover.py [--bindings 100000] [--kills 20] [--no-fsync]
    python bench/soak_failover.py --duration 600 [--interval 30]
    python bench/soak_failover.py --settle 25     (let each restarted replica catch up)

Three ``python -m fastsched.consensus.net.server`` processes serve a group on
127.0.0.1 with durable logs (fsync on unless ``--no-fsync``). A client in this
process binds pods (one ``bind`` command each, onto eight nodes) in batches of
``--batch`` pipelined commands, noting when each batch is acknowledged. Kills
alternate: the leader (found by asking each replica its role), then a follower
chosen at random. Each victim gets SIGKILL and is started again at once over
the same data directory; the next kill waits until it listens again (and
``--settle`` seconds more). A kill that lands while the replica restarted before
still catches up waits for the rest of that catch-up: it re-applies what it
missed, O(missed commands), or restores a snapshot, O(bound pods).

Kills are spread over the run: with ``--bindings``, one every bindings/(kills+1)
acknowledged binds; with ``--duration``, one every ``--interval`` seconds.

Per kill it reports the **fail-over time**: from the SIGKILL to the acknowledgement
of the first batch sent after it (for a leader kill: election, re-proposal and a
batch committed under the new leader; for a follower kill the group should not
notice beyond one batch's latency).
At the end: median and max fail-over for leader and follower kills, median and
max restart time, throughput, and a check that every acknowledged binding is in
the final state (a linearizable read).
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

from bench_consensus import _free_ports

from fastsched.consensus.net.client import Client, _bind_body

NODES = 8


class Group:
    """Three replica processes over data directories under ``root``."""

    def __init__(self, root: str, fsync: bool) -> None:
        self.root = root
        self.fsync = fsync
        self.peers = ",".join(f"127.0.0.1:{p}" for p in _free_ports(3))
        self.secret_file = os.path.join(root, "cluster.secret")    # replicas and clients
        with open(self.secret_file, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self.logs: dict[int, Any] = {}
        for rid in (1, 2, 3):
            self.start(rid)

    def start(self, rid: int) -> None:
        if rid in self.logs:
            self.logs[rid].close()
        self.logs[rid] = open(os.path.join(self.root, f"r{rid}.stderr"), "ab")
        args = [sys.executable, "-m", "fastsched.consensus.net.server", "--id", str(rid),
                "--peers", self.peers, "--data", os.path.join(self.root, f"r{rid}"),
                "--secret-file", self.secret_file]
        if not self.fsync:
            args.append("--no-fsync")
        self.procs[rid] = subprocess.Popen(args, stderr=self.logs[rid])

    def kill(self, rid: int) -> None:
        proc = self.procs[rid]
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    def close(self) -> None:
        for proc in self.procs.values():
            proc.kill()
            proc.wait()
        for f in self.logs.values():
            f.close()


def _listening(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=0.5):
            return True
    except OSError:
        return False


class Prober:
    """Finds the leader cheaply: a trivial command (unbinding a pod that does not
    exist: rejected when applied, identically everywhere) goes through the log,
    and the client ends up talking to the leader. (A ``state`` query would not
    do: it answers with the whole cluster, seconds of work at 100,000 pods, and
    a replica busy with it misses heartbeats.)"""

    def __init__(self, peers: str, secret_file: str) -> None:
        self.client = Client(peers, timeout=60, retry_after=0.5, secret_file=secret_file)
        self.seq = 0

    def leader(self) -> int:
        self.seq += 1
        self.client.submit("unbind", {"pod": f"soak/absent-{self.seq}"})
        return self.client._target

    def close(self) -> None:
        self.client.close()


def _pods(start: int, stop: int) -> list[tuple[str, Any]]:
    return [("bind", _bind_body(
        {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": f"p{i}", "namespace": "soak"},
         "spec": {"containers": [{"name": "c", "resources": {
             "requests": {"cpu": "10m", "memory": "16Mi"}}}]}}, f"node-{i % NODES}"))
        for i in range(start, stop)]


class Driver(threading.Thread):
    """Binds pods in batches until told to stop or ``total`` are acknowledged."""

    def __init__(self, peers: str, total: int | None, batch: int, secret_file: str) -> None:
        super().__init__(daemon=True)
        self.client = Client(peers, timeout=300, window=batch, secret_file=secret_file)
        self.total, self.batch = total, batch
        self.acked = 0
        self.acks: list[tuple[float, int]] = []     # (monotonic time, acked so far)
        self.begun: list[float] = []                # when each of those batches was sent
        self.stop_flag = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop_flag.is_set() and (self.total is None or self.acked < self.total):
                n = self.batch if self.total is None else min(self.batch, self.total - self.acked)
                begun = time.monotonic()
                results = self.client.submit_many(_pods(self.acked, self.acked + n))
                bad = [r for r in results if not r.get("ok")]
                if bad:
                    raise RuntimeError(f"a bind was rejected: {bad[0]}")
                self.acked += n
                self.acks.append((time.monotonic(), self.acked))
                self.begun.append(begun)
        except BaseException as err:        # reported by the main thread
            self.error = err

    def first_ack_after(self, t: float, wait: float = 120.0) -> float | None:
        """When the first batch sent after ``t`` was acknowledged (None: none in
        ``wait``). A batch sent before the kill may have been answered by the old
        leader; one sent after must have gone through the new one, so this bounds
        the fail-over from above (by one batch's latency)."""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            later = [when for (when, _), begun in zip(self.acks, self.begun) if begun > t]
            if later:
                return later[0]
            if self.error is not None or not self.is_alive():
                return None
            time.sleep(0.01)
        return None


def _wait_up(group: Group, rid: int, timeout: float = 300.0) -> float:
    """Seconds until the restarted ``rid`` listens again (its log loaded, its
    snapshot restored: the server listens only then)."""
    started = time.monotonic()
    host, port = group.peers.split(",")[rid - 1].rsplit(":", 1)
    while time.monotonic() - started < timeout:
        if _listening((host, int(port))):
            return time.monotonic() - started
        if group.procs[rid].poll() is not None:
            break
        time.sleep(0.02)
    with open(os.path.join(group.root, f"r{rid}.stderr"), "rb") as f:
        tail = f.read()[-2000:].decode(errors="replace")
    raise RuntimeError(f"replica {rid} did not come back (exit status "
                       f"{group.procs[rid].poll()}); its stderr ends:\n{tail}")


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt         # run the finally blocks: no replica is left behind


def soak(args: argparse.Namespace) -> int:
    signal.signal(signal.SIGTERM, _terminate)
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="soak-failover-") as root:
        group = Group(root, args.fsync)
        try:
            setup = Client(group.peers, timeout=120, secret_file=group.secret_file)
            for n in range(NODES):
                setup.add_node(f"node-{n}", {"cpu": "100000000", "memory": "100Pi",
                                             "pods": "100000000"})
            setup.close()
            prober = Prober(group.peers, group.secret_file)
            driver = Driver(group.peers, None if args.duration else args.bindings, args.batch,
                            group.secret_file)
            started = time.monotonic()
            driver.start()
            kills: list[dict[str, Any]] = []
            for k in range(args.kills if not args.duration else 10**9):
                # When to kill: by progress (bindings) or by the clock (duration).
                if args.duration:
                    at = started + (k + 1) * args.interval
                    if at > started + args.duration:
                        break
                    while time.monotonic() < at and driver.is_alive():
                        time.sleep(0.05)
                else:
                    at_binds = (k + 1) * args.bindings // (args.kills + 1)
                    while driver.acked < at_binds and driver.is_alive():
                        time.sleep(0.02)
                if not driver.is_alive():
                    break
                leader = prober.leader()
                if k % 2 == 0:
                    victim, kind = leader, "leader"
                else:
                    victim = rng.choice([r for r in (1, 2, 3) if r != leader])
                    kind = "follower"
                killed_at, acked_at = time.monotonic(), driver.acked
                group.kill(victim)
                group.start(victim)
                back = driver.first_ack_after(killed_at)
                failover = None if back is None else back - killed_at
                restart = _wait_up(group, victim)
                if args.settle:
                    time.sleep(args.settle)     # let it catch up before the next kill
                kills.append({"kind": kind, "victim": victim, "failover": failover,
                              "restart": restart, "acked": acked_at})
                print(f"kill {k + 1:>2}: {kind:<8} replica {victim}  at {acked_at:>7} "
                      f"binds  fail-over {failover if failover is None else round(failover, 3)}"
                      f" s  listening again after {restart:.3f} s", flush=True)
            if args.duration:
                driver.stop_flag.set()
            driver.join()
            seconds = time.monotonic() - started
            if driver.error is not None:
                raise driver.error
            prober.close()
            check = Client(group.peers, timeout=120, secret_file=group.secret_file)
            state = check.state()
            check.close()
            soak_bound = sum(1 for key in state["bindings"] if key.startswith("soak/"))
        finally:
            group.close()
    print(f"\n{driver.acked} binds acknowledged in {seconds:.1f} s "
          f"({driver.acked / seconds:.0f}/s), {len(kills)} kills; final state holds "
          f"{soak_bound} of them")
    for kind in ("leader", "follower"):
        times = [k["failover"] for k in kills if k["kind"] == kind and k["failover"] is not None]
        lost = sum(1 for k in kills if k["kind"] == kind and k["failover"] is None)
        if times:
            print(f"fail-over after {kind} kills ({len(times)}): median "
                  f"{statistics.median(times):.3f} s, max {max(times):.3f} s"
                  + (f", {lost} never recovered" if lost else ""))
    gaps = [b - a for (a, _), (b, _) in zip(driver.acks, driver.acks[1:])]
    if gaps:
        print(f"between batch acknowledgements (the floor of any fail-over): median "
              f"{statistics.median(gaps):.3f} s")
    for key, what in (("restart", "restart until listening (log loaded, snapshot restored)"),):
        values = [k[key] for k in kills]
        if values:
            print(f"{what} ({len(values)}): median {statistics.median(values):.3f} s, "
                  f"max {max(values):.3f} s")
    ok = soak_bound == driver.acked and all(k["failover"] is not None for k in kills)
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bindings", type=int, default=100_000, help="binds in the run")
    parser.add_argument("--kills", type=int, default=20, help="SIGKILLs spread over the binds")
    parser.add_argument("--duration", type=float, default=0.0,
                        help="run for this many seconds instead (a kill every --interval)")
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between kills")
    parser.add_argument("--batch", type=int, default=64,
                        help="binds per acknowledged batch (small: a saturated pipeline's "
                             "queueing delay would be measured as fail-over)")
    parser.add_argument("--no-fsync", dest="fsync", action="store_false")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--settle", type=float, default=0.0,
                        help="seconds to wait after a restart before the next kill may come")
    return soak(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
