"""Service routing: endpoints from a cluster, clients over them, rebalancing, and
the ``fastsched route`` command."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
import pytest
import uhashring

from fastsched import Cluster, Pod, Service, ValidationError
from fastsched.cli.route import add_route_parser, cmd_route
from fastsched.hashing import Maglev, Rendezvous
from fastsched.routing import (
    Endpoint,
    Rebalance,
    Routes,
    endpoints,
    rebalance_report,
    route,
    route_to,
)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NODES, APP = str(EXAMPLES / "nodes.yaml"), str(EXAMPLES / "seed-app.yaml")
CLIENTS = [f"10.0.{i // 256}.{i % 256}" for i in range(5000)]


def web_cluster(replicas=6):
    cluster = Cluster()
    for i in range(3):
        cluster.add_node(f"n{i}", {"cpu": "8", "memory": "32Gi"})
    for i in range(replicas):   # bound in reverse name order: endpoints sort them
        cluster.bind(Pod(f"web-{replicas - 1 - i}", labels={"app": "web", "tier": "front"}),
                     f"n{i % 3}")
    cluster.bind(Pod("db-0", labels={"app": "db"}), "n0")
    cluster.bind(Pod("web-other", namespace="other", labels={"app": "web"}), "n1")
    return cluster


WEB = Service("web", selector={"app": "web"})


def test_endpoints_are_the_bound_selected_pods_sorted():
    cluster = web_cluster()
    found = endpoints(WEB, cluster)
    assert [e.pod for e in found] == [f"default/web-{i}" for i in range(6)]
    assert all(isinstance(e, Endpoint) and e.node == cluster.node_of(e.pod) for e in found)
    assert endpoints(Service("none"), cluster) == ()          # no selector: no pods
    assert [e.pod for e in endpoints(Service("web", namespace="other",
                                             selector={"app": "web"}), cluster)] == [
        "other/web-other"]
    with pytest.raises(ValidationError, match="service"):
        endpoints("web", cluster)
    with pytest.raises(ValidationError, match="cluster"):
        endpoints(WEB, {})


def test_route_with_each_method():
    cluster = web_cluster()
    pods = [f"default/web-{i}" for i in range(6)]
    maglev = route(WEB, cluster, CLIENTS)
    assert isinstance(maglev, Routes) and maglev.method == "maglev" and len(maglev) == len(CLIENTS)
    assert maglev.pods() == Maglev(pods).get_nodes(CLIENTS, names=True).tolist()
    # ketama: the same endpoint as a uhashring ketama ring over the pod keys
    ketama = route(WEB, cluster, CLIENTS, method="ketama")
    theirs = uhashring.HashRing(pods, hash_fn="ketama")
    assert ketama.pods() == [theirs.get_node(c) for c in CLIENTS]
    hrw = route(WEB, cluster, CLIENTS, method="rendezvous")
    assert hrw.pods() == Rendezvous(pods).get_nodes(CLIENTS, names=True).tolist()
    assert maglev[0] == maglev.endpoints[maglev.index[0]]
    counts = maglev.counts()
    assert list(counts) == pods and sum(counts.values()) == len(CLIENTS)
    assert max(counts.values()) < 1.2 * len(CLIENTS) / 6
    # independent of binding order: the same pods bound differently route alike
    again = Cluster()
    for i in range(3):
        again.add_node(f"n{i}", {"cpu": "8", "memory": "32Gi"})
    for i in range(6):
        again.bind(Pod(f"web-{i}", labels={"app": "web"}), f"n{(i + 1) % 3}")
    assert route(WEB, again, CLIENTS).pods() == maglev.pods()


def test_route_errors():
    cluster = web_cluster()
    with pytest.raises(ValidationError, match="service: Service default/api has no endpoints"):
        route(Service("api", selector={"app": "api"}), cluster, CLIENTS)
    with pytest.raises(ValidationError, match="method: must be one of maglev, ketama, rendezvous"):
        route(WEB, cluster, CLIENTS, method="random")
    with pytest.raises(ValidationError, match="table_size"):
        route(WEB, cluster, CLIENTS, table_size=65536)
    with pytest.raises(ValidationError, match="table_size"):
        route(WEB, cluster, CLIENTS, table_size=5)        # not larger than 6 endpoints
    with pytest.raises(TypeError):
        route(WEB, cluster, [1.5])
    with pytest.raises(ValidationError, match="endpoints: no endpoints"):
        route_to([], CLIENTS)
    with pytest.raises(ValidationError, match=r"endpoints\[1\]: duplicate endpoint pod 'a'"):
        route_to(["a", "a"], CLIENTS)
    with pytest.raises(ValidationError, match=r"endpoints\[0\]"):
        route_to([3], CLIENTS)
    with pytest.raises(ValidationError, match="endpoints"):
        route_to("abc", CLIENTS)


@pytest.mark.parametrize("method", ["ketama", "rendezvous"])
def test_rebalance_on_a_ring_moves_only_what_it_must(method):
    old = [f"default/p{i}" for i in range(10)]
    removed = rebalance_report(old, old[:4] + old[5:], CLIENTS, method)
    assert isinstance(removed, Rebalance) and removed.clients == len(CLIENTS)
    assert removed.moved == removed.from_removed > 0
    assert removed.to_added == removed.between_kept == 0
    assert removed.ideal == pytest.approx(0.1) and removed.fraction == removed.moved / len(CLIENTS)
    assert abs(removed.fraction - 0.1) < 0.05
    added = rebalance_report(old, old + ["default/p10"], CLIENTS, method)
    assert added.moved == added.to_added > 0 and added.from_removed == added.between_kept == 0
    assert added.ideal == pytest.approx(1 / 11)
    same = rebalance_report(old, list(reversed(old)), CLIENTS, method)
    assert same.moved == 0 and same.ideal == 0


def test_rebalance_with_maglev_has_some_disruption():
    old = [Endpoint(f"default/p{i}", "n0") for i in range(100)]
    keys = np.random.default_rng(3).integers(0, 2**64 - 1, 200_000, dtype=np.uint64)
    report = rebalance_report(old, old[:42] + old[43:], keys)
    assert report.method == "maglev"
    assert report.from_removed == pytest.approx(0.01 * len(keys), rel=0.1)
    assert 0 < report.between_kept < 0.01 * len(keys)
    assert report.moved == report.from_removed + report.between_kept
    # pods rescheduled to other nodes are the same endpoints: nobody moves
    moved_nodes = [Endpoint(e.pod, "n1") for e in old]
    assert rebalance_report(old, moved_nodes, keys).moved == 0
    # (pod, node) tuples and pod keys are accepted alike, in any order
    assert rebalance_report([tuple(e) for e in old], [e.pod for e in old][::-1], keys).moved == 0
    assert route_to(old[::-1], keys[:10]).endpoints == tuple(sorted(old))


# -- the command ------------------------------------------------------------------------


def parse(*argv):
    parser = argparse.ArgumentParser(prog="fastsched")
    add_route_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["route", *argv])


def run(capsys, *argv, stdin=""):
    args = parse(*argv)
    assert args.run is cmd_route
    code = cmd_route(args, stdin=io.StringIO(stdin))
    out, err = capsys.readouterr()
    return code, out, err


def test_route_command_prints_each_keys_endpoint(capsys, tmp_path):
    keys = tmp_path / "keys.txt"
    keys.write_text("10.0.0.1\n10.0.0.2\n\nclient é\r\n10.0.0.1\n", encoding="utf-8")
    code, out, err = run(capsys, NODES, APP, "--service", "my-service", "--keys", str(keys),
                         "--schedule")
    assert code == 0 and err == ""
    lines = [line.split("\t") for line in out.splitlines()]
    assert [line[0] for line in lines] == ["10.0.0.1", "10.0.0.2", "client é", "10.0.0.1"]
    assert lines[0] == lines[3]
    pods = {f"default/my-deployment-{i}" for i in range(3)}
    assert all(line[1] in pods and line[2].startswith("node-") for line in lines)
    expect = Maglev(sorted(pods)).get_nodes(["10.0.0.1", "10.0.0.2", "client é"], names=True)
    assert [line[1] for line in lines[:3]] == expect.tolist()
    # from standard input, with another method and namespace/name
    code, out2, _ = run(capsys, NODES, APP, "--service", "default/my-service", "--keys", "-",
                        "--schedule", "--method", "ketama", stdin="10.0.0.1\n")
    assert code == 0 and out2.count("\n") == 1 and out2.split("\t")[1] in pods


def test_route_command_errors(capsys, tmp_path):
    code, out, err = run(capsys, NODES, APP, "--service", "my-service", "--keys", "-",
                         stdin="a\n")
    assert code == 2 and out == ""
    assert err == ("fastsched: error: Service default/my-service has no endpoints (3 of its "
                   "pods are pending: add --schedule to place them first)\n")
    code, _, err = run(capsys, NODES, APP, "--service", "nope", "--keys", "-", stdin="a\n")
    assert code == 2 and err == "fastsched: error: no Service default/nope\n"
    code, _, err = run(capsys, NODES, APP, "--service", "my-service", "--keys",
                       str(tmp_path / "missing.txt"))
    assert code == 2 and err.startswith("fastsched: error: ") and "missing.txt" in err
    binary = tmp_path / "keys.bin"
    binary.write_bytes(b"\xff\xfe\x00")
    code, _, err = run(capsys, NODES, APP, "--service", "my-service", "--keys", str(binary))
    assert code == 2 and "not UTF-8" in err
    with pytest.raises(SystemExit) as done:      # --table-size is checked by argparse
        parse(NODES, APP, "--service", "my-service", "--keys", "-", "--table-size", "100")
    assert done.value.code == 2 and "--table-size: must be a prime" in capsys.readouterr().err
    code, _, err = run(capsys, str(tmp_path / "none.yaml"), "--service", "s", "--keys", "-")
    assert code == 2 and "none.yaml" in err
    code, out, _ = run(capsys, NODES, APP, "--service", "my-service", "--keys", "-",
                       "--schedule", stdin="\n\n")
    assert code == 0 and out == ""
