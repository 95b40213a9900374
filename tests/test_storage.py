"""fastsched.consensus.storage: linear reload, torn tails, and no silent amnesia.

An acceptor that forgets a promise or vote it replied with can break Paxos'
safety, so every way of losing durable state (a log emptied, cut below what was
synced, deleted, its last synced record damaged; a snapshot damaged, cut or
deleted; the marker lost) must stop the replica from voting unless the operator
says ``recover``. Torn writes past what was synced are still dropped silently.
"""

import os
import random
import socket
import subprocess
import sys
import time

import pytest

from fastsched.consensus import (
    NOOP,
    Ballot,
    Command,
    FileStorage,
    LogCorruptError,
    LogMachine,
    MemoryStorage,
    Replica,
    ReplicaConfig,
)
from fastsched.consensus.marker import MARKER_NAME
from fastsched.errors import LostStateError

CMD = Command.make("c1:1", "put", {"k": 1})
SNAP = '{"machine":[],"results":{}}'


def _filled(path, votes=5, snapshot=None):
    """A synced, closed storage: one promise, ``votes`` votes (and a snapshot)."""
    s = FileStorage(path, fsync=False)
    s.load()
    s.promise(Ballot(2, 1))
    for slot in range(votes):
        s.accept(slot, Ballot(2, 1), Command.make(f"c:{slot}", "put", slot))
    s.sync()
    if snapshot is not None:
        s.install_snapshot(snapshot, SNAP)
        s.accept(votes, Ballot(2, 1), CMD)
        s.sync()
    s.close()
    return path / "acceptor.log"


def _refused(path, *words):
    with pytest.raises(LostStateError) as info:
        FileStorage(path, fsync=False).load()
    message = str(info.value)
    for word in words + ("--recover",):
        assert word in message, message
    return info.value


def _recovers(path):
    s = FileStorage(path, fsync=False, recover=True)
    rec = s.load()
    s.close()
    assert rec.lost                                     # the loss is reported
    again = FileStorage(path, fsync=False)              # and accepted from now on
    assert again.load().lost == ()
    again.close()
    return rec


# -- fresh directories ---------------------------------------------------------------


def test_fresh_directory_starts_empty_and_gets_a_marker(tmp_path):
    rec = FileStorage(tmp_path / "new", fsync=False).load()
    assert rec.promised is None and rec.accepted == {} and rec.snapshot is None
    assert (tmp_path / "new" / MARKER_NAME).exists()
    # An empty existing directory is fresh too, and so is one that never voted.
    assert FileStorage(tmp_path, fsync=False).load().lost == ()
    assert FileStorage(tmp_path, fsync=False).load().accepted == {}


# -- the log -------------------------------------------------------------------------


@pytest.mark.parametrize("keep", [0, 1, 30, -5])
def test_log_cut_below_what_was_synced_refuses_to_vote(tmp_path, keep):
    log = _filled(tmp_path)
    data = log.read_bytes()
    log.write_bytes(data[:keep % len(data)])        # emptied, one byte, mid-record, short
    err = _refused(tmp_path, "cut short", f"{len(data)} bytes were made durable")
    assert err.path == str(log)
    rec = _recovers(tmp_path)
    assert len(rec.accepted) < 5


def test_deleted_log_refuses_to_vote(tmp_path):
    log = _filled(tmp_path)
    log.unlink()
    _refused(tmp_path, "log is missing")
    assert _recovers(tmp_path).accepted == {}


def test_flipped_byte_in_the_last_synced_record_refuses_to_vote(tmp_path):
    log = _filled(tmp_path)
    data = bytearray(log.read_bytes())
    data[-3] ^= 0x04
    log.write_bytes(bytes(data))
    _refused(tmp_path, "a last record that fails its checksum")
    rec = _recovers(tmp_path)
    assert sorted(rec.accepted) == [0, 1, 2, 3] and rec.promised == Ballot(2, 1)


def test_damage_in_the_middle_names_its_offset_and_recover_keeps_the_prefix(tmp_path):
    log = _filled(tmp_path)
    data = bytearray(log.read_bytes())
    promise_len = 12 + int.from_bytes(data[0:4], "little")
    data[promise_len + 20] ^= 0x01                  # a payload byte of the first vote
    log.write_bytes(bytes(data))
    with pytest.raises(LogCorruptError, match=f"offset {promise_len}: payload checksum"):
        FileStorage(tmp_path, fsync=False).load()
    rec = _recovers(tmp_path)
    assert rec.accepted == {} and rec.promised == Ballot(2, 1)


def test_torn_writes_past_what_was_synced_are_still_dropped(tmp_path):
    log = _filled(tmp_path)
    synced = log.read_bytes()
    s = FileStorage(tmp_path, fsync=False)
    s.load()
    s.accept(9, Ballot(3, 0), CMD)                  # written, never synced: a crash now
    os.close(s._fd)
    whole = log.read_bytes()
    assert len(whole) > len(synced)
    flipped = bytearray(whole)
    flipped[-2] ^= 0x10
    for torn in (whole[:-4], whole[: len(synced) + 7], bytes(flipped),
                 synced + b"\0" * 40):
        log.write_bytes(torn)
        rec = FileStorage(tmp_path, fsync=False).load()
        assert 9 not in rec.accepted and sorted(rec.accepted) == [0, 1, 2, 3, 4]
        assert rec.lost == () and log.read_bytes() == synced


# -- the snapshot ---------------------------------------------------------------------


def test_damaged_snapshot_is_named_damaged(tmp_path):
    _filled(tmp_path, snapshot=3)
    snap = tmp_path / "snapshot"
    data = bytearray(snap.read_bytes())
    data[-4] ^= 0x01
    snap.write_bytes(bytes(data))
    err = _refused(tmp_path, "snapshot file is damaged (checksum mismatch)")
    assert err.path == str(snap) and "incomplete" not in str(err)
    rec = _recovers(tmp_path)
    assert rec.snapshot is None and sorted(rec.accepted) == [3, 4, 5]


def test_cut_or_deleted_snapshot_refuses_to_vote(tmp_path):
    _filled(tmp_path, snapshot=3)
    snap = tmp_path / "snapshot"
    good = snap.read_bytes()
    snap.write_bytes(good[:-5])
    _refused(tmp_path, "snapshot file is incomplete")
    snap.unlink()
    _refused(tmp_path, "snapshot is missing", "slot 3")
    snap.write_bytes(good)
    rec = FileStorage(tmp_path, fsync=False).load()
    assert rec.snapshot_slot == 3 and rec.snapshot == SNAP


# -- the marker -----------------------------------------------------------------------


def test_lost_or_damaged_marker_refuses_to_vote(tmp_path):
    _filled(tmp_path)
    mark = tmp_path / MARKER_NAME
    good = mark.read_bytes()
    mark.unlink()
    _refused(tmp_path, "marker is missing")
    bad = bytearray(good)
    bad[9] ^= 0xFF
    mark.write_bytes(bytes(bad))
    _refused(tmp_path, "marker is damaged")
    mark.write_bytes(good[:10])
    _refused(tmp_path, "marker is damaged")
    mark.write_bytes(good)
    assert sorted(FileStorage(tmp_path, fsync=False).load().accepted) == [0, 1, 2, 3, 4]


def test_marker_follows_syncs_and_snapshots(tmp_path):
    s = FileStorage(tmp_path, fsync=False)
    s.load()
    s.accept(0, Ballot(1, 0), CMD)
    s.sync()
    assert s.marker.current.log_bytes == os.path.getsize(s.log_path)
    s.accept(1, Ballot(1, 0), NOOP)
    job = s.sync_job()                  # the transport's threaded sync
    assert not s.dirty
    job()
    assert s.marker.current.log_bytes == os.path.getsize(s.log_path)
    s.install_snapshot(1, SNAP)
    assert s.marker.current.snapshot_slot == 1
    assert s.marker.current.log_bytes == os.path.getsize(s.log_path)
    s.close()
    rec = FileStorage(tmp_path, fsync=False).load()
    assert rec.snapshot_slot == 1 and rec.accepted == {1: (Ballot(1, 0), NOOP)}


# -- the replica ----------------------------------------------------------------------


def test_replica_over_lost_state_does_not_start_without_recover(tmp_path):
    log = _filled(tmp_path)
    log.write_bytes(b"")
    with pytest.raises(LostStateError):
        Replica(0, [0, 1, 2], LogMachine(), FileStorage(tmp_path, fsync=False))
    replica = Replica(0, [0, 1, 2], LogMachine(), FileStorage(tmp_path, fsync=False,
                                                              recover=True))
    assert replica.promised is None and replica.accepted == {}


def _server(data, *extra):
    secret = data.parent / f"{data.name}.secret"
    secret.write_text("s3cret-for-this-test-only-0123456789abcdef\n")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return subprocess.Popen(
        [sys.executable, "-m", "fastsched.consensus.net.server", "--id", "1", "--peers",
         f"127.0.0.1:{port}", "--data", str(data), "--no-fsync", "--secret-file", str(secret), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_replica_process_refuses_lost_state_with_one_line_and_recovers(tmp_path):
    log = _filled(tmp_path)
    log.write_bytes(b"")
    proc = _server(tmp_path)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "cut short" in lines[0] and "--recover" in lines[0], err
    proc = _server(tmp_path, "--recover")
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 60
        seen = ""
        while "listening" not in seen and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            seen += line
        assert "listening" in seen, seen
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


# -- reloading is exact ----------------------------------------------------------------


def test_reload_equals_the_state_written_on_random_histories(tmp_path):
    rng = random.Random(7)
    for trial in range(20):
        path = tmp_path / str(trial)
        s = FileStorage(path, fsync=False)
        s.load()
        promised, accepted, floor = None, {}, 0
        for _ in range(rng.randrange(1, 200)):
            ballot = Ballot(rng.randrange(1, 9), rng.randrange(3))
            if rng.random() < 0.2 and (promised is None or ballot > promised):
                s.promise(ballot)               # a replica only ever promises upwards
                promised = ballot
            else:
                slot = rng.randrange(floor, floor + 40)
                body = rng.choice(["null", '"x\\u00e9\u00e9"', '{"a":[1,2]}'])
                cmd = Command(f"id:{rng.randrange(10**6)}", "put", body)
                s.accept(slot, ballot, cmd)
                accepted[slot] = (ballot, cmd)
            if rng.random() < 0.05:
                floor += rng.randrange(1, 20)
                s.install_snapshot(floor, SNAP)
                accepted = {k: v for k, v in accepted.items() if k >= floor}
        s.close()
        rec = FileStorage(path, fsync=False).load()
        assert rec.accepted == accepted
        assert rec.promised == promised
        assert rec.snapshot_slot == floor


def test_memory_and_file_storage_agree(tmp_path):
    mem, disk = MemoryStorage(), FileStorage(tmp_path, fsync=False)
    for s in (mem, disk):
        s.load()
        s.promise(Ballot(1, 0))
        for slot in range(30):
            s.accept(slot, Ballot(1, 0), Command.make(f"c:{slot}", "put", [slot, "é"]))
        s.promise(Ballot(4, 2))
        s.accept(7, Ballot(4, 2), NOOP)
        s.sync()
        s.install_snapshot(5, SNAP)
        s.close()
    assert mem.load() == FileStorage(tmp_path, fsync=False).load()


# -- bounded logs ----------------------------------------------------------------------


def _elect(replica: Replica) -> None:
    """Tick a one-member group until its replica leads."""
    now = 0.0
    while not replica.is_leader:
        now += 10
        replica.on_tick(now)


def test_replica_snapshots_when_its_log_passes_the_record_limit():
    config = ReplicaConfig(heartbeat_interval=1, election_timeout=10, retransmit_interval=2,
                           snapshot_every=0, snapshot_records=20, snapshot_bytes=0)
    storage = MemoryStorage()
    replica = Replica(0, [0], LogMachine(), storage, config=config)
    _elect(replica)
    for i in range(200):
        assert replica.submit(Command.make(f"c:{i}", "put", i)).result is not None
        assert storage.durable_records <= 22
    assert replica.log_start > 150 and replica.machine.log == [f"c:{i}" for i in range(200)]


def test_replica_snapshots_when_its_log_passes_the_byte_limit(tmp_path):
    config = ReplicaConfig(heartbeat_interval=1, election_timeout=10, retransmit_interval=2,
                           snapshot_every=0, snapshot_records=0, snapshot_bytes=20_000)
    storage = FileStorage(tmp_path, fsync=False)
    replica = Replica(0, [0], LogMachine(), storage, config=config)
    _elect(replica)
    for i in range(100):
        replica.submit(Command.make(f"c:{i}", "put", "x" * 1000))
        assert os.path.getsize(storage.log_path) < 25_000
    storage.close()
    again = Replica(0, [0], LogMachine(), FileStorage(tmp_path, fsync=False), config=config)
    assert again.log_start > 50 and again.machine.log[:again.log_start] == [
        f"c:{i}" for i in range(again.log_start)]


def test_config_checks_the_snapshot_limits():
    with pytest.raises(ValueError, match="snapshot_records"):
        ReplicaConfig(snapshot_records=-1)
    with pytest.raises(ValueError, match="snapshot_bytes"):
        ReplicaConfig(snapshot_bytes=1.5)
