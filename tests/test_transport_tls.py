"""The replica transport over mutual TLS: certificates name the peer (replica-<id>
or client), and the sender check, the caps and the client work as with the
shared secret. Certificates are made with the openssl command (skipped without)."""

import asyncio
import shutil
import subprocess
import sys
import time

import pytest
from _helpers import free_ports
from test_transport_auth import WAIT, Peer, _add_node, _serve, until

from fastsched.consensus.messages import Decision
from fastsched.consensus.net.auth import CLIENT
from fastsched.consensus.net.client import Client
from fastsched.consensus.net.tls import PlainSession, TLSConfig, peer_identity
from fastsched.errors import AuthenticationError, ValidationError

NAMES = ("replica-1", "replica-2", "replica-3", "client")


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _make_ca(tmp, ca, names):
    """A CA named ``ca`` in ``tmp`` and a certificate signed by it for each name."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", f"{ca}.key", "-out", f"{ca}.pem", "-days", "2",
             "-subj", f"/CN={ca}", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=tmp)
    (tmp / "leaf.ext").write_text("basicConstraints=CA:FALSE\nsubjectKeyIdentifier=hash\n"
                                  "authorityKeyIdentifier=keyid\n")
    out = {}
    for name in names:
        stem = f"{ca}-{name}"
        _openssl("req", *ec, "-keyout", f"{stem}.key", "-out", f"{stem}.csr",
                 "-subj", f"/CN={name}", cwd=tmp)
        _openssl("x509", "-req", "-in", f"{stem}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
                 "-CAcreateserial", "-out", f"{stem}.pem", "-days", "2", "-extfile", "leaf.ext",
                 cwd=tmp)
        out[name] = TLSConfig(str(tmp / f"{stem}.pem"), str(tmp / f"{stem}.key"),
                              str(tmp / f"{ca}.pem"))
    return out


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    tmp = tmp_path_factory.mktemp("tls")
    return _make_ca(tmp, "ca", NAMES), _make_ca(tmp, "other-ca", ("client", "replica-2"))


def test_peer_identity_reads_the_common_name():
    ids = frozenset({1, 2, 3})

    def cert(*names):
        return {"subject": tuple((("commonName", n),) for n in names)}
    assert peer_identity(cert("replica-2"), ids) == 2
    assert peer_identity(cert("client"), ids) == CLIENT
    for bad in (cert(), cert("replica-4"), cert("replica-02"), cert("replica-x"),
                cert("Replica-1"), cert("replica-1", "client"), None):
        with pytest.raises(AuthenticationError):
            peer_identity(bad, ids)


def test_tls_and_a_secret_exclude_each_other(certs, tmp_path):
    good, _ = certs
    with pytest.raises(ValidationError, match="not both"):
        Client("127.0.0.1:1", tls=good["client"], secret=b"0123456789abcdef")
    with pytest.raises(ValidationError) as err:
        TLSConfig(str(tmp_path / "none.pem"), str(tmp_path / "none.key"),
                  good["client"].ca).client_context()
    assert err.value.field == "tls_cert"


class TLSPeer(Peer):
    @classmethod
    async def open(cls, port, tls):
        peer = cls(*await asyncio.open_connection("127.0.0.1", port,
                                                  ssl=tls.client_context()))
        peer.session = PlainSession()
        return peer


def test_a_tls_peer_is_who_its_certificate_names(certs, tmp_path):
    good, other = certs

    async def test(server, port):
        replica2 = await TLSPeer.open(port, good["replica-2"])
        client = await TLSPeer.open(port, good["client"])
        replica2.send(Decision(3, 1, 0, _add_node("evil-a")))      # as replica 3: dropped
        client.send(Decision(2, 1, 0, _add_node("evil-b")))        # a client: dropped
        await until(lambda: server.stats.forged == 2)
        assert (await client.state()).ok
        assert list(server.machine.cluster.node_names) == []
        replica2.send(Decision(2, 1, 0, _add_node("good")))        # its own name: applied
        await until(lambda: server.machine.cluster.node_names)
        assert list(server.machine.cluster.node_names) == ["good"]
        # A certificate of another CA, or no TLS at all, gets no further.
        with pytest.raises(OSError):            # it cannot check ours, nor we its
            stranger = await TLSPeer.open(port, other["replica-2"])
            stranger.send(Decision(2, 1, 1, _add_node("evil-c")))
            await stranger.closed()
        plain = await Peer.open(port, me=None)
        plain.writer.write(b"\0\0\0\x05hello")
        assert await plain.closed()
        assert list(server.machine.cluster.node_names) == ["good"]
        # A blocking Client with its certificate works; with another CA's it is refused.
        loop = asyncio.get_running_loop()
        addr = f"127.0.0.1:{port},127.0.0.1:1,127.0.0.1:2"
        state = await loop.run_in_executor(
            None, lambda: Client(addr, tls=good["client"], timeout=WAIT).local_state(1))
        assert state["nodes"] == ["good"]
        with pytest.raises(AuthenticationError):
            await loop.run_in_executor(
                None, lambda: Client(addr, tls=other["client"], timeout=WAIT).local_state(1))
    _serve(tmp_path, test, tls=good["replica-1"])


def test_a_replica_must_present_the_name_of_the_one_dialled(certs, tmp_path):
    good, _ = certs

    async def test(server, port):
        addr = f"127.0.0.1:{port},127.0.0.1:1,127.0.0.1:2"
        loop = asyncio.get_running_loop()
        with pytest.raises(AuthenticationError, match="dialled replica 1, whose certificate "
                                                      "names 2"):
            await loop.run_in_executor(
                None, lambda: Client(addr, tls=good["client"], timeout=WAIT).local_state(1))
    _serve(tmp_path, test, tls=good["replica-2"])      # replica 1 with replica 2's certificate


def test_three_processes_over_tls_agree(certs, tmp_path):
    good, _ = certs
    peers = ",".join(f"127.0.0.1:{p}" for p in free_ports(3))
    procs = []
    try:
        for rid in (1, 2, 3):
            tls = good[f"replica-{rid}"]
            with open(tmp_path / f"replica{rid}.err", "wb") as err:
                procs.append(subprocess.Popen(
                    [sys.executable, "-m", "fastsched.consensus.net.server", "--id", str(rid),
                     "--peers", peers, "--data", str(tmp_path / f"data{rid}"),
                     "--tls-cert", tls.cert, "--tls-key", tls.key, "--tls-ca", tls.ca],
                    stdout=subprocess.DEVNULL, stderr=err))
        with Client(peers, tls=good["client"], timeout=WAIT) as client:
            assert client.add_node("node-0", {"cpu": "100", "memory": "100Gi", "pods": "200"})["ok"]
            pairs = [({"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": f"p{i}", "namespace": "default"},
                       "spec": {"containers": [{"name": "c"}]}}, "node-0") for i in range(100)]
            assert all(r["ok"] for r in client.submit_binds(pairs))
            final = client.state()
            assert len(final["bindings"]) == 100
            deadline = time.monotonic() + WAIT
            while True:
                states = [client.local_state(rid) for rid in (1, 2, 3)]
                if all(s["digest"] == final["digest"] for s in states):
                    break
                assert time.monotonic() < deadline
                time.sleep(0.1)
            assert all(s["stats"]["forged"] == 0 and s["stats"]["auth_failures"] == 0
                       for s in states)
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(timeout=WAIT)


def test_replica_command_names_an_unreadable_tls_file(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "fastsched.consensus.net.server", "--id", "1", "--peers",
         "127.0.0.1:1,127.0.0.1:2", "--data", str(tmp_path), "--tls-cert", "x.pem",
         "--tls-key", "x.key", "--tls-ca", "ca.pem"],
        capture_output=True, text=True, timeout=WAIT)
    assert proc.returncode == 2 and "x.pem" in proc.stderr and "Traceback" not in proc.stderr
