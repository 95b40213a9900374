"""NodePorts: a pod's host ports must be free on the node (spec §3.6). Ports clash on
the same protocol and number when either IP is 0.0.0.0 or the IPs are equal.

The ports that count, for the incoming pod and the node's pods alike, are
``Pod.host_ports``: those of regular and of sidecar init containers, as upstream's
``schedutil.GetHostPorts``."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._kernels.common import FilterCode, ReasonCode
from ..model.pod import Pod
from .base import Plugin

NAME = "NodePorts"
REASON = "node(s) didn't have free ports for the requested pod ports"


def spec(ctx: Any, pod: Pod) -> None:
    ctx.memo.setdefault(NAME, []).append(pod.host_ports)


def configure(ctx: Any, b: Any) -> None:
    """Host-port occupancy: one column per distinct (ip, protocol, port) that a spec
    asks for; a node's column is set when a used port clashes with it."""
    n = ctx.n
    port_lists = ctx.memo.get(NAME, [])
    triples = sorted({t for ports in port_lists for t in ports})
    T = len(triples)
    b.occ = np.zeros((max(n, 1), max(T, 1)), np.uint8)
    index = {t: i for i, t in enumerate(triples)}

    def clashing(port: tuple) -> list[int]:
        ip, proto, number = port
        return [index[t] for t in triples if t[1] == proto and t[2] == number
                and (ip == "0.0.0.0" or t[0] == "0.0.0.0" or t[0] == ip)]

    if T:
        for _, row, ports in ctx.cluster.columns.ported_pods():
            for port in ports:
                b.occ[row, clashing(port)] = 1
    chk_off: list[int] = [0]
    chk: list[int] = []
    set_off: list[int] = [0]
    set_col: list[int] = []
    for ports in port_lists:
        chk.extend(index[t] for t in ports)
        chk_off.append(len(chk))
        set_col.extend(sorted({c for t in ports for c in clashing(t)}))
        set_off.append(len(set_col))
    if not port_lists:
        chk_off.append(0)
        set_off.append(0)
    b.chk_off = np.ascontiguousarray(chk_off, np.int64)
    b.chk = np.ascontiguousarray(chk or [0], np.int64)
    b.set_off = np.ascontiguousarray(set_off, np.int64)
    b.set_col = np.ascontiguousarray(set_col or [0], np.int64)


PLUGIN = Plugin(NAME, filter=FilterCode.F_PORTS, reasons={ReasonCode.R_PORTS: REASON},
                spec=spec, configure=configure)
