"""fastsched.consensus over TCP: frames, and three replica processes on loopback
surviving SIGKILL of a follower and of the leader."""

import secrets
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from fastsched.consensus import Command, Request, encode
from fastsched.consensus.messages import MAX_MESSAGE_BYTES
from fastsched.consensus.net.client import Client, ClientTimeout, authenticate
from fastsched.consensus.net.peers import parse_peers
from fastsched.consensus.net.transport import FrameError, FrameReader, frame
from fastsched.errors import ValidationError

N_PODS = 1000
WAIT = 30.0         # seconds any one wait may take


def _pod(i):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"p{i:04d}", "namespace": "default"},
            "spec": {"containers": [{"name": "c", "resources": {
                "requests": {"cpu": "100m", "memory": "64Mi"}}}]}}


def _free_ports(n):
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    except OSError as err:
        pytest.skip(f"cannot open loopback sockets: {err}")
    finally:
        for s in socks:
            s.close()


class Group:
    """Three `python -m fastsched.consensus.net.server` processes."""

    def __init__(self, tmp_path):
        self.peers = ",".join(f"127.0.0.1:{p}" for p in _free_ports(3))
        self.tmp = tmp_path
        self.procs = {}
        self.secret = secrets.token_hex(32).encode()
        self.secret_file = tmp_path / "cluster.secret"
        self.secret_file.write_bytes(self.secret + b"\n")

    def client(self, **kwargs):
        return Client(self.peers, secret_file=self.secret_file, **kwargs)

    def start(self, rid):
        err = open(self.tmp / f"replica{rid}.err", "ab")
        self.procs[rid] = subprocess.Popen(
            [sys.executable, "-m", "fastsched.consensus.net.server", "--id", str(rid),
             "--peers", self.peers, "--data", str(self.tmp / f"data{rid}"),
             "--secret-file", str(self.secret_file)],
            stdout=subprocess.DEVNULL, stderr=err)
        err.close()

    def kill(self, rid):
        proc = self.procs[rid]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=WAIT)

    def stop_all(self):
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=WAIT)

    def leader(self, client, exclude=()):
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            for rid in (1, 2, 3):
                if rid in exclude or self.procs[rid].poll() is not None:
                    continue
                try:
                    if client.local_state(rid)["role"] == "leader":
                        return rid
                except (OSError, ClientTimeout):
                    pass
            time.sleep(0.05)
        raise AssertionError("no leader elected")


@pytest.fixture
def group(tmp_path):
    g = Group(tmp_path)
    try:
        for rid in (1, 2, 3):
            g.start(rid)
        yield g
    finally:
        g.stop_all()


# -- frames (in process) ------------------------------------------------------------


def test_frame_reader_splits_a_stream_anywhere():
    payloads = [b"", b"a", b"x" * 70_000, encode(Request("c", 1, Command.make("c:1", "read")))]
    stream = b"".join(frame(p) for p in payloads)
    for step in (1, 3, 4096, len(stream)):
        reader, got = FrameReader(), []
        for i in range(0, len(stream), step):
            got += reader.feed(stream[i:i + step])
        assert got == payloads


def test_frame_reader_refuses_an_oversized_frame():
    with pytest.raises(FrameError):
        FrameReader().feed((MAX_MESSAGE_BYTES + 1).to_bytes(4, "big"))


def test_parse_peers_checks_every_address():
    assert parse_peers("127.0.0.1:7001,localhost:7002") == [("127.0.0.1", 7001),
                                                            ("localhost", 7002)]
    for bad in ("", "127.0.0.1", "h:0", "h:x", ":80"):
        with pytest.raises(ValueError):
            parse_peers(bad)
    # pairs too, each named by its index
    for bad in ([("h", 80, 1)], [7001], [("h", "80")]):
        with pytest.raises(ValidationError, match=r"peers\[0\]"):
            parse_peers(bad)


# -- processes ----------------------------------------------------------------------


def test_three_processes_survive_sigkill_of_a_follower_and_the_leader(group):
    client = group.client(timeout=WAIT, retry_after=1.0, window=256)
    try:
        for i in range(4):
            assert client.add_node(f"node-{i}", {"cpu": "200", "memory": "1Ti",
                                                 "pods": "1000"})["ok"]
        pods = [(_pod(i), f"node-{i % 4}") for i in range(N_PODS)]
        acked = {}

        def submit(chunk, during=None):
            """Submit a chunk; ``during`` runs in a thread while it is in flight."""
            thread = None
            if during is not None:
                thread = threading.Timer(0.05, during)
                thread.start()
            results = client.submit_binds(chunk)
            if thread is not None:
                thread.join(WAIT)
            for (pod, node), result in zip(chunk, results):
                assert result == {"ok": True, "node": node}, result
                acked[f"default/{pod['metadata']['name']}"] = node

        submit(pods[:200])

        # A follower dies mid-stream and comes back from its data directory.
        leader = group.leader(client)
        follower = next(r for r in (1, 2, 3) if r != leader)
        submit(pods[200:500], during=lambda: group.kill(follower))
        group.start(follower)
        submit(pods[500:600])

        # Then the leader dies mid-stream; a new leader finishes the stream.
        submit(pods[600:900], during=lambda: group.kill(leader))
        assert group.leader(client, exclude=(leader,)) != leader
        group.start(leader)
        submit(pods[900:])

        assert len(acked) == N_PODS
        final = client.state()                      # linearizable, after every ack
        assert final["bindings"] == acked           # every acknowledged binding, once

        # All three (both restarted ones included) converge on the same state.
        deadline = time.monotonic() + WAIT
        while True:
            states = [client.local_state(rid) for rid in (1, 2, 3)]
            if all(s["digest"] == final["digest"] and s["commands"] == final["commands"]
                   for s in states):
                break
            assert time.monotonic() < deadline, [(s["id"], s["commands"]) for s in states]
            time.sleep(0.1)
        assert all(s["bindings"] == acked for s in states)
        assert all(s["stats"]["bad_frames"] == 0 for s in states)
    finally:
        client.close()


def test_bad_frames_are_counted_and_dropped_never_applied(group):
    host, port = parse_peers(group.peers)[0]
    client = group.client(timeout=WAIT)
    try:
        assert client.add_node("node-0", {"cpu": "4", "memory": "8Gi", "pods": "10"})["ok"]
        before = client.local_state(1)["stats"]["bad_frames"]
        forged = encode(Request("x", 1, Command.make("x:1", "add_node", {"node": {
            "name": "evil", "allocatable": {"cpu": 1}}})))
        bad = [b"not json", b'{"v":1,"t":"accept"}',
               forged.replace(b'"dst":1', b'"dst":2'),               # addressed elsewhere
               encode(Request("x", 1, Command.make("x:2", "drop_tables", {})))]
        # Authenticated (these are about the messages, not the sender): each bad one
        # is dropped and the connection stays up.
        with socket.create_connection((host, port), timeout=WAIT) as sock:
            session = authenticate(sock, group.secret, 1)
            sock.sendall(b"".join(session.seal(p) for p in bad))
            time.sleep(0.3)
        deadline = time.monotonic() + WAIT
        while client.local_state(1)["stats"]["bad_frames"] < before + 3:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        state = client.state()
        assert state["nodes"] == ["node-0"] and state["bindings"] == {}
        # An oversized frame closes that connection, before and after the handshake;
        # the replica keeps serving.
        with socket.create_connection((host, port), timeout=WAIT) as sock:
            sock.sendall((MAX_MESSAGE_BYTES + 1).to_bytes(4, "big"))
            assert sock.recv(1) == b""
        with socket.create_connection((host, port), timeout=WAIT) as sock:
            authenticate(sock, group.secret, 1)
            sock.sendall((MAX_MESSAGE_BYTES + 1).to_bytes(4, "big"))
            assert sock.recv(1) == b""
        assert client.local_state(1)["nodes"] == ["node-0"]
    finally:
        client.close()


def test_replica_command_rejects_bad_arguments(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "fastsched.consensus.net.server", "--id", "4", "--peers",
         "127.0.0.1:1,127.0.0.1:2", "--data", str(tmp_path)],
        capture_output=True, text=True, timeout=WAIT)
    assert proc.returncode == 2 and "--id" in proc.stderr
