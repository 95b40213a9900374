"""What a plugin is: kube-scheduler's unit of filtering and scoring, as fastsched
compiles it.

A plugin module defines one :class:`Plugin`: its upstream name, the kernel codes
that identify it (``fastsched._kernels.common``), the reason strings it reports, its
default weight, how its ``pluginConfig`` arguments become ``Profile`` fields, and
its *compile steps*: functions of the compiler (``ctx``, see
``fastsched.scheduler.compiler``) and a pod spec that produce the arrays its
kernel code reads. The compiler calls every registered plugin's steps; each step
decides from ``ctx.profile`` whether its plugin is on.

Compile steps (all optional):

* ``static(ctx, pod) -> uint8[n] | None``: static failure bits (``StaticBit``) of
  the nodes the plugin rejects whatever is placed; ``static_key(pod)`` is the part
  of the pod they depend on (bits are cached per key and per node columns);
* ``row = (kind, spec_field, rows_field)`` with ``raw(ctx, pod) -> (key, compute)
  | None``: a per-node score row, computed by ``compute()`` and deduplicated and
  cached by ``key`` (None: no row for this pod), its index per spec in
  ``batch.<spec_field>`` and the rows in ``batch.<rows_field>``;
* ``spec(ctx, pod)``: per-spec values kept on ``ctx`` (read by ``configure``);
* ``configure(ctx, batch)``: plan-level arrays and scalars on the kernel's batch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Plugin"]


@dataclass(frozen=True, eq=False)
class Plugin:
    """One kube-scheduler plugin as fastsched runs it.

    ``filter``: its ``FilterCode`` when it filters; ``score``: its ``ScoreRow`` when
    it scores, with ``weight`` its default weight and ``weight_field`` the batch
    field the kernel reads the profile's weight from. ``reasons``: ``ReasonCode`` →
    upstream's reason string. ``args``: the fields of its ``pluginConfig`` args and
    a reader ``(args, path) -> Profile keyword arguments``.
    """

    name: str
    filter: int | None = None
    score: int | None = None
    weight: int = 0
    weight_field: str = ""
    reasons: Mapping[int, str] = field(default_factory=dict)
    args: tuple[tuple[str, ...], Callable[[Mapping[str, Any], str], dict[str, Any]]] | None = None
    static: Callable[[Any, Any], Any] | None = None
    static_key: Callable[[Any], Any] | None = None
    row: tuple[str, str, str] | None = None
    raw: Callable[[Any, Any], Any] | None = None
    spec: Callable[[Any, Any], None] | None = None
    configure: Callable[[Any, Any], None] | None = None

    @property
    def kind(self) -> str:
        """``"filter"``, ``"score"`` or ``"both"``."""
        if self.filter is not None and self.score is not None:
            return "both"
        return "filter" if self.filter is not None else "score"

    def __repr__(self) -> str:
        return f"Plugin({self.name!r}, {self.kind})"
