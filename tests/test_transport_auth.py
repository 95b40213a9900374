"""fastsched.consensus.net.auth and the transport's checks of who is talking: the
shared secret, the handshake, MACed frames, the sender check and the input caps.

The handshake and the sessions are tested as the pure state machines they are;
the transport with one ReplicaServer in this process on 127.0.0.1, spoken to by
hand over asyncio streams."""

import asyncio
import itertools

import pytest
from _helpers import free_ports

from fastsched.cluster.cluster import Cluster
from fastsched.consensus.codec import node_to_json
from fastsched.consensus.messages import Command, Decision, Reply, Request, decode, encode
from fastsched.consensus.net import transport
from fastsched.consensus.net.auth import (
    CLIENT,
    HANDSHAKE_LIMIT,
    MAC_BYTES,
    SECRET_ENV,
    Initiator,
    Responder,
    resolve_secret,
)
from fastsched.consensus.net.frames import FrameReader, frame
from fastsched.errors import AuthenticationError, FrameError, ValidationError

SECRET = b"0123456789abcdef-test-secret"
WAIT = 30.0                     # bound on any one wait (never asserted on)


# -- the secret -------------------------------------------------------------------------


def test_the_secret_comes_from_an_argument_a_file_or_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "cluster.secret"
    path.write_bytes(b"  " + SECRET + b"\n")
    monkeypatch.delenv(SECRET_ENV, raising=False)
    assert resolve_secret(SECRET) == SECRET
    assert resolve_secret(SECRET.decode()) == SECRET
    assert resolve_secret(secret_file=path) == SECRET           # whitespace stripped
    assert resolve_secret(insecure=True) == b""
    monkeypatch.setenv(SECRET_ENV, str(path))
    assert resolve_secret() == SECRET


@pytest.mark.parametrize("kwargs, field", [
    ({}, "secret"),                                     # none given, none in the environment
    ({"secret": b"short"}, "secret"),
    ({"secret": 12345678901234567890}, "secret"),
    ({"secret": SECRET, "secret_file": "x"}, "secret"),
    ({"secret": SECRET, "insecure": True}, "insecure"),
    ({"insecure": "yes"}, "insecure"),
    ({"secret_file": "/nonexistent/secret"}, "secret_file"),
])
def test_a_missing_or_weak_secret_is_refused_by_field(kwargs, field, monkeypatch):
    monkeypatch.delenv(SECRET_ENV, raising=False)
    with pytest.raises(ValidationError) as err:
        resolve_secret(**kwargs)
    assert err.value.field == field


def test_a_short_or_huge_secret_file_is_refused(tmp_path):
    short, huge = tmp_path / "short", tmp_path / "huge"
    short.write_bytes(b"abc\n")
    huge.write_bytes(b"x" * 5000)
    for path in (short, huge):
        with pytest.raises(ValidationError, match=str(path)) as err:
            resolve_secret(secret_file=path)
        assert err.value.field == "secret_file"


# -- the handshake ----------------------------------------------------------------------


def _body(data):
    """The payload of the single frame ``data``."""
    reader = FrameReader(HANDSHAKE_LIMIT)
    (payload,) = reader.feed(data)
    return payload


def _handshake(secret_i=SECRET, secret_r=SECRET, me=2, target=1, peers=frozenset({1, 2, 3})):
    initiator = Initiator(secret_i, me, target)
    responder = Responder(secret_r, target, peers)
    welcome = responder.on_frame(_body(initiator.hello()))
    proof = initiator.on_frame(_body(welcome))
    assert responder.on_frame(_body(proof)) == b""
    return initiator, responder


def test_a_handshake_authenticates_both_sides_and_keys_both_directions():
    for me in (2, 3, CLIENT):
        initiator, responder = _handshake(me=me)
        assert responder.peer == me and initiator.peer == 1
        a, b = initiator.session, responder.session
        for payload in (b"", b"x", b"y" * 10_000):
            assert b.open(_payload_of(a.seal(payload))) == [payload]
            assert a.open(_payload_of(b.seal(payload))) == [payload]


def _payload_of(sealed):
    (body,) = FrameReader().feed(sealed)
    return body


def test_the_wrong_secret_fails_on_whichever_side_checks_first():
    # The responder proves first: an initiator with another secret notices at once.
    initiator = Initiator(b"another secret, 16+ bytes", 2, 1)
    responder = Responder(SECRET, 1, frozenset({1, 2, 3}))
    welcome = responder.on_frame(_body(initiator.hello()))
    with pytest.raises(AuthenticationError, match="did not prove the shared secret"):
        initiator.on_frame(_body(welcome))
    # An initiator that guesses a proof is refused by the responder.
    responder = Responder(SECRET, 1, frozenset({1, 2, 3}))
    responder.on_frame(_body(Initiator(SECRET, 2, 1).hello()))
    with pytest.raises(AuthenticationError, match="replica 2 did not prove"):
        responder.on_frame(b"FSA1" + bytes(32))
    assert responder.session is None


def test_a_recorded_or_reflected_proof_does_not_authenticate():
    initiator = Initiator(SECRET, 2, 1)
    hello = initiator.hello()
    responder = Responder(SECRET, 1, frozenset({1, 2, 3}))
    proof = initiator.on_frame(_body(responder.on_frame(_body(hello))))
    # Replayed to a new responder: its nonce is new, so the old proof fails.
    again = Responder(SECRET, 1, frozenset({1, 2, 3}))
    again.on_frame(_body(hello))
    with pytest.raises(AuthenticationError):
        again.on_frame(_body(proof))
    # Reflection: the responder's own proof handed back as the initiator's.
    victim = Responder(SECRET, 1, frozenset({1, 2, 3}))
    welcome = _body(victim.on_frame(_body(Initiator(SECRET, 2, 1).hello())))
    with pytest.raises(AuthenticationError):
        victim.on_frame(b"FSA1" + welcome[-32:])


@pytest.mark.parametrize("me, target, match", [
    (7, 1, "replica 7 is not a member"),
    (1, 1, "replica 1 is not a member"),            # nobody dials in as the responder itself
    (2, 3, "addressed to replica 3, not to 1"),
])
def test_a_responder_refuses_a_claim_outside_the_group(me, target, match):
    responder = Responder(SECRET, 1, frozenset({1, 2, 3}))
    with pytest.raises(AuthenticationError, match=match):
        responder.on_frame(_body(Initiator(SECRET, me, target).hello()))


def test_an_initiator_refuses_an_answer_from_another_replica():
    # Replica 3 (holding the secret) answers a dial meant for replica 1.
    initiator = Initiator(SECRET, 2, 1)
    welcome = Responder(SECRET, 3, frozenset({1, 2, 3})).on_frame(
        _body(Initiator(SECRET, 2, 3).hello()))
    with pytest.raises(AuthenticationError, match="dialled replica 1, answered by replica 3"):
        initiator.on_frame(_body(welcome))


@pytest.mark.parametrize("payload", [b"", b"FSA1", b"GET / HTTP/1.1\r\n", b"FSA2" + bytes(40)])
def test_a_handshake_frame_of_the_wrong_shape_is_refused(payload):
    with pytest.raises(AuthenticationError, match="handshake"):
        Responder(SECRET, 1, frozenset({1, 2})).on_frame(payload)


# -- MACed frames -----------------------------------------------------------------------


def _pair():
    initiator, responder = _handshake()
    return initiator.session, responder.session


def test_a_tampered_byte_anywhere_in_a_frame_fails_its_mac():
    msg = encode(Request("c", 1, Command.make("c:1", "read", {})))
    a, b = _pair()
    for i in range(len(msg) + MAC_BYTES):
        body = bytearray(_payload_of(a.seal(msg)))
        body[i] ^= 0x01
        with pytest.raises(AuthenticationError, match="fails its MAC"):
            b.open(bytes(body))
        assert b.received == 0              # a failed frame does not advance the sequence
        a.sent = 0
    assert b.open(_payload_of(a.seal(msg))) == [msg]


def test_replayed_reordered_dropped_or_foreign_frames_fail():
    a, b = _pair()
    frames = [_payload_of(a.seal(f"m{i}".encode())) for i in range(3)]
    assert b.open(frames[0]) == [b"m0"]
    with pytest.raises(AuthenticationError):          # replayed
        b.open(frames[0])
    a, b = _pair()
    frames = [_payload_of(a.seal(f"m{i}".encode())) for i in range(3)]
    with pytest.raises(AuthenticationError):          # reordered (or one dropped)
        b.open(frames[1])
    other, _ = _pair()
    _, b = _pair()
    with pytest.raises(AuthenticationError):          # from another connection
        b.open(_payload_of(other.seal(b"m0")))
    a, _ = _pair()
    with pytest.raises(AuthenticationError):          # reflected back to its sender
        a.open(_payload_of(a.seal(b"m0")))
    with pytest.raises(AuthenticationError, match="no MAC"):
        b.open(b"short")


def test_many_payloads_share_a_frame_up_to_the_limit():
    a, b = _pair()
    payloads = [bytes([i]) * (i * 10) for i in range(50)]
    sealed = a.seal_many(payloads)
    assert a.sent == 1                                  # one frame, one MAC
    assert b.open(_payload_of(sealed)) == payloads
    # A limit splits them, in order, each frame within it; one too big goes alone.
    a, b = _pair()
    payloads.append(b"x" * 5000)
    frames = FrameReader().feed(a.seal_many(payloads, limit=1000))
    assert all(len(f) <= 1000 for f in frames[:-1]) and len(frames[-1]) > 1000
    assert [p for f in frames for p in b.open(f)] == payloads
    assert a.seal_many([]) == b""


def test_a_batch_whose_lengths_do_not_add_up_is_refused():
    a, b = _pair()
    # Sealed with the right key, but the body is no sequence of frames.
    bad = a._seal(b"\0\0\0\x09abc")
    with pytest.raises(FrameError):
        b.open(_payload_of(bad))


def test_session_keys_differ_per_connection():
    (a1, _), (a2, _) = _pair(), _pair()
    assert a1.seal(b"same") != a2.seal(b"same")


def test_frame_reader_pops_one_frame_at_a_time_under_a_changing_limit():
    stream = frame(b"tiny") + frame(b"x" * 1000) + frame(b"z")
    reader = FrameReader(limit=10)
    for i in range(0, len(stream), 7):
        reader.push(stream[i:i + 7])
    assert reader.pop() == b"tiny"
    with pytest.raises(FrameError):
        reader.pop()                                   # 1000 > 10
    reader.limit = 2000
    assert reader.pop() == b"x" * 1000 and reader.pop() == b"z" and reader.pop() is None
    assert reader.buffered == 0


# -- the transport ----------------------------------------------------------------------


class Peer:
    """One connection to the server, spoken by hand."""

    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer
        self.frames = FrameReader()
        self.session = None

    @classmethod
    async def open(cls, port, me=CLIENT, secret=SECRET, target=1):
        peer = cls(*await asyncio.open_connection("127.0.0.1", port))
        if me is not None:
            handshake = Initiator(secret, me, target)
            peer.writer.write(handshake.hello())
            peer.writer.write(handshake.on_frame(await peer.next()))
            peer.session = handshake.session
        return peer

    async def next(self):
        while (payload := self.frames.pop()) is None:
            data = await asyncio.wait_for(self.reader.read(1 << 16), WAIT)
            if not data:
                raise ConnectionError("closed")
            self.frames.push(data)
        return payload

    def send(self, msg):
        self.writer.write(self.session.seal(encode(msg)))

    async def closed(self):
        """Whether the server closes this connection (reads until it does)."""
        try:
            while await asyncio.wait_for(self.reader.read(1 << 16), WAIT):
                pass
        except ConnectionError:
            pass
        return True

    async def state(self, name="probe"):
        """The server's ``state`` reply on this connection: every frame sent
        before it has been handled."""
        cid = f"{name}:{next(_IDS)}"
        self.send(Request(name, 1, Command.make(cid, "state", {})))
        while True:
            for payload in self.session.open(await self.next()):
                reply = decode(payload)
                if isinstance(reply, Reply) and reply.command_id == cid:
                    return reply

    def close(self):
        self.writer.close()


_IDS = itertools.count()


async def until(condition):
    """Wait for ``condition()`` (the server runs in this loop) up to WAIT seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not condition():
        assert loop.time() < deadline
        await asyncio.sleep(0.01)


def _add_node(name):
    scratch = Cluster()
    scratch.add_node(name, {"cpu": "4", "memory": "8Gi", "pods": "10"})
    return Command.make(f"x:{name}", "add_node", {"node": node_to_json(scratch.node(name))})


def _serve(tmp_path, test, **kwargs):
    """Run ``test(server, port)`` against replica 1 of a three-member group whose
    other members are down (it still learns decisions, which is what we need)."""
    ports = free_ports(3)
    if "tls" not in kwargs:
        kwargs.setdefault("secret", SECRET)

    async def main():
        server = transport.ReplicaServer(1, [("127.0.0.1", p) for p in ports], tmp_path,
                                         fsync=False, **kwargs)
        await server.start()
        try:
            await test(server, ports[0])
        finally:
            server.stop()
    asyncio.run(main())


def test_a_message_must_come_from_the_authenticated_peer(tmp_path):
    async def test(server, port):
        replica2 = await Peer.open(port, me=2)
        client = await Peer.open(port, me=CLIENT)
        # Replica 2 speaking for replica 3, a client speaking for replica 2, a
        # replica sending a client's request: dropped and counted, the connection kept.
        replica2.send(Decision(3, 1, 0, _add_node("evil-a")))
        client.send(Decision(2, 1, 0, _add_node("evil-b")))
        replica2.send(Request("r2", 1, Command.make("r2:1", "read", {})))
        await until(lambda: server.stats.forged == 3)
        assert (await client.state()).ok                # the client's connection is kept
        assert list(server.machine.cluster.node_names) == []
        # The same decision under replica 2's own id is applied: the sender check,
        # not something else, dropped the others.
        replica2.send(Decision(2, 1, 0, _add_node("good")))
        await until(lambda: server.machine.cluster.node_names)
        assert list(server.machine.cluster.node_names) == ["good"]
        assert server.stats.forged == 3 and server.stats.bad_macs == 0
        assert server.stats.auth_failures == 0
        replica2.close()
        client.close()
    _serve(tmp_path, test)


def test_bad_macs_and_failed_handshakes_close_the_connection_and_are_counted(tmp_path):
    async def test(server, port):
        # No handshake: a peer message as the first frame.
        raw = await Peer.open(port, me=None)
        raw.writer.write(frame(encode(Decision(2, 1, 0, _add_node("evil-a")))))
        assert await raw.closed()
        # The wrong secret: this side cannot check the server's proof, and the
        # proof it makes up is refused.
        with pytest.raises(AuthenticationError):
            await Peer.open(port, me=2, secret=b"not the group's secret")
        guess = await Peer.open(port, me=None)
        guess.writer.write(Initiator(SECRET, 2, 1).hello())
        await guess.next()
        guess.writer.write(frame(b"FSA1" + bytes(32)))
        assert await guess.closed()
        # Authenticated, then a frame whose MAC was altered; then a replayed frame.
        peer = await Peer.open(port, me=2)
        sealed = bytearray(peer.session.seal(encode(Decision(2, 1, 0, _add_node("evil-b")))))
        sealed[-1] ^= 0xFF
        peer.writer.write(bytes(sealed))
        assert await peer.closed()
        peer = await Peer.open(port, me=CLIENT)
        request = peer.session.seal(encode(Request("c", 1, Command.make("c:1", "state", {}))))
        peer.writer.write(request)
        await peer.next()                               # answered
        peer.writer.write(request)                      # the same bytes again
        assert await peer.closed()
        assert server.stats.auth_failures == 2          # the raw frame, the made-up proof
        assert server.stats.bad_macs == 2               # the altered MAC, the replay
        assert list(server.machine.cluster.node_names) == []
    _serve(tmp_path, test)


def test_unauthenticated_connections_get_a_timeout_and_a_small_budget(tmp_path, monkeypatch):
    monkeypatch.setattr(transport, "HANDSHAKE_TIMEOUT", 1.0)
    monkeypatch.setattr(transport, "MAX_HANDSHAKING", 2)

    async def test(server, port):
        # A handshake frame may be no longer than the largest handshake message.
        big = await Peer.open(port, me=None)
        big.writer.write((HANDSHAKE_LIMIT + 1).to_bytes(4, "big"))
        assert await big.closed()
        assert server.stats.auth_failures == 1
        # Silent connections are closed after the timeout; over MAX_HANDSHAKING at
        # once, a new one is closed at the door.
        idle = [await Peer.open(port, me=None) for _ in range(2)]
        await asyncio.sleep(0.05)
        extra = await Peer.open(port, me=None)
        assert await extra.closed()
        assert server.stats.overloaded == 1
        for peer in idle:
            assert await peer.closed()
        assert server.stats.auth_failures == 3
        # Afterwards the server still serves.
        assert (await (await Peer.open(port)).state()).ok
    _serve(tmp_path, test)


def test_buffered_input_is_capped_in_total(tmp_path, monkeypatch):
    monkeypatch.setattr(transport, "MAX_BUFFERED", 100_000)

    async def test(server, port):
        first = await Peer.open(port, me=2)
        second = await Peer.open(port, me=3)
        # Two half-sent frames, each under the per-frame limit: the first fits under
        # the total cap, the second crosses it and is closed.
        first.writer.write((1_000_000).to_bytes(4, "big") + bytes(60_000))
        await until(lambda: server._buffered >= 60_004)
        second.writer.write((1_000_000).to_bytes(4, "big") + bytes(60_000))
        assert await second.closed()
        assert server.stats.overloaded == 1
        first.close()
        await until(lambda: server._buffered == 0)     # closed connections give it back
    _serve(tmp_path, test)


def test_a_client_frame_is_capped_below_a_replica_frame(tmp_path):
    async def test(server, port):
        client = await Peer.open(port, me=CLIENT)
        client.writer.write((transport.MAX_CLIENT_FRAME + 1).to_bytes(4, "big"))
        assert await client.closed()
        assert server.stats.bad_frames == 1
        # A replica may send that much (it is no message, so it is dropped, but the
        # connection stays).
        replica = await Peer.open(port, me=2)
        replica.writer.write(replica.session.seal(b" " * (transport.MAX_CLIENT_FRAME + 1)))
        await until(lambda: server.stats.bad_frames == 2)
        assert [c.transport.is_closing() for c in server._connections if c.peer == 2] == [False]
    _serve(tmp_path, test)
