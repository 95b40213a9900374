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
from _helpers import free_ports

from fastsched.consensus import Command, Request, encode
from fastsched.consensus.messages import MAX_MESSAGE_BYTES, Decision, Reply, decode
from fastsched.consensus.net.auth import SECRET_ENV, Initiator
from fastsched.consensus.net.client import Client, ClientTimeout, _bind_body, authenticate
from fastsched.consensus.net.peers import parse_peers
from fastsched.consensus.net.transport import FrameError, FrameReader, frame
from fastsched.errors import AuthenticationError, ValidationError

N_PODS = 1000
WAIT = 30.0         # seconds any one wait may take


def _pod(i):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"p{i:04d}", "namespace": "default"},
            "spec": {"containers": [{"name": "c", "resources": {
                "requests": {"cpu": "100m", "memory": "64Mi"}}}]}}


class Group:
    """Three `python -m fastsched.consensus.net.server` processes."""

    def __init__(self, tmp_path):
        self.peers = ",".join(f"127.0.0.1:{p}" for p in free_ports(3))
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
        # Restarts and redials are no attacks: nothing was forged or failed its MAC.
        assert all(s["stats"]["forged"] == 0 and s["stats"]["bad_macs"] == 0 for s in states)
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
            sock.sendall(b"".join(session.seal(p) for p in bad[:2]) + session.seal_many(bad[2:]))
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


class _Recorder:
    """A socket that keeps a copy of everything sent on it."""

    def __init__(self, sock):
        self.sock, self.sent = sock, []

    def sendall(self, data):
        self.sent.append(bytes(data))
        self.sock.sendall(data)

    def recv(self, n):
        return self.sock.recv(n)


def _closed(sock):
    """Read until the replica closes ``sock`` (True), whatever it sends first."""
    sock.settimeout(WAIT)
    while sock.recv(1 << 16):
        pass
    return True


def _state_on(sock, session, replica_id):
    """The ``state`` reply on an authenticated connection (so after every frame
    sent on it before)."""
    sock.sendall(session.seal(encode(Request("probe", replica_id,
                                             Command.make("probe:1", "state", {})))))
    reader = FrameReader()
    while True:
        for body in reader.feed(sock.recv(1 << 16)):
            for payload in session.open(body):
                reply = decode(payload)
                if isinstance(reply, Reply) and reply.command_id == "probe:1":
                    return reply


def test_forged_frames_to_a_follower_are_refused_and_counted(group):
    """The fault campaign's attack: a Decision naming the leader as its sender, sent
    on a fresh connection to a follower. Without the secret it never gets past the
    handshake; with it but as another sender it is dropped; a wrong MAC or a replay
    closes the connection. The follower's state stays the group's."""
    client = group.client(timeout=WAIT)
    try:
        assert client.add_node("node-0", {"cpu": "4", "memory": "8Gi", "pods": "10"})["ok"]
        assert client.submit_bind(_pod(0), "node-0") == {"ok": True, "node": "node-0"}
        leader = group.leader(client)
        follower = next(r for r in (1, 2, 3) if r != leader)
        final = client.state()
        deadline = time.monotonic() + WAIT
        while (before := client.local_state(follower))["digest"] != final["digest"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        address = parse_peers(group.peers)[follower - 1]
        evil = Command.make("evil:1", "bind", _bind_body(_pod(999), "node-0"))
        forged = encode(Decision(leader, follower, before["slots"], evil))

        # (a) No handshake: the forged frame as the first bytes.
        with socket.create_connection(address, timeout=WAIT) as sock:
            sock.sendall(frame(forged))
            assert _closed(sock)
        # (b) A handshake as the leader without the secret: the made-up proof fails.
        with socket.create_connection(address, timeout=WAIT) as sock:
            sock.sendall(Initiator(b"a guess at the secret", leader, follower).hello())
            reader = FrameReader()
            while not reader.feed(sock.recv(1 << 16)):
                pass
            sock.sendall(frame(b"FSA1" + secrets.token_bytes(32)) + frame(forged))
            assert _closed(sock)
        # (c) Authenticated as the leader, but the frame's MAC is wrong.
        with socket.create_connection(address, timeout=WAIT) as sock:
            session = authenticate(sock, group.secret, follower, me=leader)
            sealed = bytearray(session.seal(forged))
            sealed[-1] ^= 0x01
            sock.sendall(bytes(sealed))
            assert _closed(sock)
        # (d) Authenticated as a client: a client may not send a Decision (nor claim
        # to be the leader). Dropped; the connection stays up.
        with socket.create_connection(address, timeout=WAIT) as sock:
            recorder = _Recorder(sock)
            session = authenticate(recorder, group.secret, follower)
            recorder.sendall(session.seal(forged))
            reply = _state_on(recorder, session, follower)
            assert reply.ok
        # (e) Replaying (d)'s bytes on a new connection fails at the handshake.
        with socket.create_connection(address, timeout=WAIT) as sock:
            sock.sendall(b"".join(recorder.sent))
            assert _closed(sock)

        after = client.local_state(follower)
        assert "default/p0999" not in after["bindings"]
        for key in ("digest", "bindings", "slots", "commands"):
            assert after[key] == before[key], key
        grew = {k: after["stats"][k] - before["stats"][k]
                for k in ("auth_failures", "bad_macs", "forged")}
        assert grew == {"auth_failures": 3, "bad_macs": 1, "forged": 1}

        # The group goes on, the follower in agreement.
        assert client.submit_bind(_pod(1), "node-0")["ok"]
        final = client.state()
        deadline = time.monotonic() + WAIT
        while client.local_state(follower)["digest"] != final["digest"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        # A client with another secret learns so at once.
        with pytest.raises(AuthenticationError, match="did not prove the shared secret"):
            Client(group.peers, secret=b"not the group's secret", timeout=WAIT).local_state(1)
    finally:
        client.close()


def test_replica_command_rejects_bad_arguments(tmp_path, monkeypatch):
    monkeypatch.delenv(SECRET_ENV, raising=False)
    secret = tmp_path / "secret"
    secret.write_text(secrets.token_hex(32))
    base = [sys.executable, "-m", "fastsched.consensus.net.server", "--peers",
            "127.0.0.1:1,127.0.0.1:2", "--data", str(tmp_path)]
    for extra, needle in ((["--id", "4", "--secret-file", str(secret)], "--id"),
                          (["--id", "1"], "a shared secret is required"),
                          (["--id", "1", "--secret-file", str(tmp_path / "none")],
                           "secret file")):
        proc = subprocess.run(base + extra, capture_output=True, text=True, timeout=WAIT)
        assert proc.returncode == 2 and needle in proc.stderr, (extra, proc.stderr)
        assert "Traceback" not in proc.stderr
