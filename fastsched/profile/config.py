"""Reading a ``KubeSchedulerConfiguration`` (``kubescheduler.config.k8s.io/v1``).

``profile_from_config`` goes through the same stages as kube-scheduler, restricted
to what a fastsched ``Profile`` holds: load the document, apply the v1 defaults,
validate, then build the plugin lists the way the scheduling framework does.
Errors are ``ValidationError``s whose ``field`` is the path inside the document
(``profiles[0].pluginConfig[1].args.scoringStrategy.resources[0].weight``).

Plugin lists (Kubernetes v1.35, ``pkg/scheduler/apis/config/v1/default_plugins.go``
``mergePluginSet`` and ``pkg/scheduler/framework/runtime/framework.go``
``expandMultiPointPlugins`` / ``getScoreWeights``):

1. The default profile enables every plugin through ``multiPoint``. The user's
   ``multiPoint`` set is merged into it: a default named in ``disabled`` is dropped
   (``"*"`` drops them all); a default named again in ``enabled`` is replaced *in
   place* by the user's entry (so its weight is the user's); the other ``enabled``
   entries are appended in the order given.
2. ``filter`` and ``score`` have no defaults of their own; their ``enabled`` lists
   name plugins registered explicitly at that point. Each multiPoint plugin that
   implements the point is then added unless the point disables it (or ``"*"``,
   which skips multiPoint for that point altogether). Resulting order: plugins
   that are in both lists (in the point's order), then the multiPoint ones, then
   the rest of the point's list. So disabling a default and enabling it again
   moves it to the end, while enabling it without disabling it moves it first.
3. A score plugin's weight is taken from its ``score.enabled`` entry if it has
   one, else from its multiPoint entry; a missing or 0 weight means 1 -- also for
   a default re-listed without a weight (upstream behaviour: the default weight
   lives in the default entry, which the user's entry replaced).

Arguments follow the v1 defaulting (``defaults.go``) and validation
(``validation_pluginargs.go``): NodeResourcesFit without ``scoringStrategy`` is
LeastAllocated over cpu and memory, an empty ``resources`` list means cpu and
memory, a weight of 0 (or none) means 1, and only then are weights checked to
lie in [1, 100]. NodeResourcesBalancedAllocation's resource weights must be 1.

Where fastsched is stricter than kube-scheduler: plugin names it does not know
(out-of-tree plugins) are errors, also in ``disabled`` lists; a score weight
must be at most 100; unknown fields are errors everywhere (kube-scheduler's
decoder is strict too). Top-level settings that do not shape a profile
(``parallelism``, ``leaderElection``, ``extenders``, ...) are accepted and ignored.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .._documents import parse_documents
from .._validation import check_int, check_str
from ..errors import ValidationError
from ..plugins import DEFAULT_FILTERS, DEFAULT_SCORES, FILTER_PLUGINS, NOOP_PLUGINS, REGISTRY, SCORE_PLUGINS
from ..plugins._args import as_list as _list
from ..plugins._args import check_fields as _check_fields

__all__ = ["profile_arguments", "choose", "API_VERSION", "KIND", "DEFAULT_SCHEDULER_NAME"]

API_VERSION = "kubescheduler.config.k8s.io/v1"
KIND = "KubeSchedulerConfiguration"
DEFAULT_SCHEDULER_NAME = "default-scheduler"

# Fields of KubeSchedulerConfiguration v1. Only profiles and percentageOfNodesToScore
# shape a Profile; the others configure the scheduler process and are ignored.
_TOP_FIELDS = ("apiVersion", "kind", "parallelism", "leaderElection", "clientConnection",
               "enableProfiling", "enableContentionProfiling", "percentageOfNodesToScore",
               "podInitialBackoffSeconds", "podMaxBackoffSeconds", "profiles", "extenders",
               "delayCacheUntilActive")
_PROFILE_FIELDS = ("schedulerName", "percentageOfNodesToScore", "plugins", "pluginConfig")
_POINTS = ("multiPoint", "preEnqueue", "queueSort", "preFilter", "filter", "postFilter",
           "preScore", "score", "reserve", "permit", "preBind", "bind", "postBind")
# Which plugins fastsched runs at the two points it models. NOOP plugins are taken
# to implement both: they are dropped from the result anyway.
_POINT_PLUGINS = {"filter": FILTER_PLUGINS, "score": SCORE_PLUGINS}
_POINT_TITLES = {"filter": "Filter", "score": "Score"}
_IMPLEMENTED = frozenset(FILTER_PLUGINS) | frozenset(SCORE_PLUGINS)
_KNOWN = _IMPLEMENTED | frozenset(NOOP_PLUGINS)
# Removed in-tree plugins: kube-scheduler rejects them in v1 configurations.
_REMOVED = ("AzureDiskLimits", "CinderLimits", "EBSLimits", "GCEPDLimits")
_MAX_WEIGHT = 100  # Profile's limit; kube-scheduler only guards against overflow


@dataclass(frozen=True)
class _Entry:
    """One ``{name, weight}`` item of an ``enabled`` list; ``path`` is where it was
    written ('' for a built-in default)."""

    name: str
    weight: int | None
    path: str


@dataclass(frozen=True)
class _PluginSet:
    enabled: tuple[_Entry, ...] = ()
    disabled: frozenset[str] = frozenset()


_DEFAULT_WEIGHTS = dict(DEFAULT_SCORES)
# The default multiPoint list, restricted to the plugins fastsched runs (the others
# are NOOP and would be dropped). Filters first is upstream's relative order too.
_DEFAULT_MULTIPOINT = tuple(
    _Entry(name, _DEFAULT_WEIGHTS.get(name), "")
    for name in dict.fromkeys(DEFAULT_FILTERS + tuple(n for n, _ in DEFAULT_SCORES)))


def profile_arguments(config: Any) -> dict[str, tuple[str, dict[str, Any]]]:
    """Every profile of ``config``: ``schedulerName`` → (its path in the document,
    the ``Profile`` keyword arguments it defines), in document order.

    ``config`` is a mapping, YAML or JSON text (a ``str`` with a newline, or
    starting with ``{``), or the path of a file holding it. A configuration without
    profiles has the default one. Every profile is validated.
    """
    data = _load(config)
    _check_fields(data, _TOP_FIELDS, "")
    for key, expected in (("apiVersion", API_VERSION), ("kind", KIND)):
        if data.get(key) != expected:
            raise ValidationError(f"must be {expected!r}, got {data.get(key)!r}", key)
    fallback = check_int(data.get("percentageOfNodesToScore"), "percentageOfNodesToScore",
                         lo=0, hi=100, allow_none=True)

    items = data.get("profiles")
    if items is None or (isinstance(items, list) and not items):
        items = [{}]  # v1 defaulting: one profile with the default plugins
    if not isinstance(items, list):
        raise ValidationError(f"expected a list, got {type(items).__name__}", "profiles")
    profiles: dict[str, tuple[str, dict[str, Any]]] = {}
    first_at: dict[str, int] = {}
    for i, item in enumerate(items):
        path = f"profiles[{i}]"
        _check_fields(item, _PROFILE_FIELDS, path)
        name = item.get("schedulerName")
        if name is None and len(items) == 1:  # only a lone profile gets the default name
            name = DEFAULT_SCHEDULER_NAME
        if name is None or name == "":
            raise ValidationError("required", f"{path}.schedulerName")
        name = check_str(name, f"{path}.schedulerName")
        if name in first_at:
            raise ValidationError(f"duplicate of profiles[{first_at[name]}].schedulerName",
                                  f"{path}.schedulerName")
        first_at[name] = i
        profiles[name] = (path, _profile(item, path, name, fallback))
    return profiles


def choose(profiles: Mapping[str, Any], profile: str | None) -> Any:
    """The profile named ``profile`` (by ``schedulerName``; default: the first)."""
    if profile is None:
        return next(iter(profiles.values()))
    if profile not in profiles:
        raise ValidationError(f"no profile with schedulerName {profile!r} (have "
                              f"{', '.join(repr(n) for n in profiles)})", "profiles")
    return profiles[profile]


# -- loading -------------------------------------------------------------------------

def _load(config: Any) -> Mapping[str, Any]:
    if isinstance(config, Mapping):
        return config
    if isinstance(config, bytes):
        config = config.decode("utf-8")
    if isinstance(config, str) and ("\n" in config or config.lstrip().startswith("{")):
        return _parse(config, "<text>")
    if isinstance(config, (str, os.PathLike)):
        label = os.fsdecode(config)
        if not os.path.isfile(config):
            raise FileNotFoundError(errno.ENOENT, "no such configuration file (a str without "
                                    "a newline is taken as a path)", label)
        with open(config, encoding="utf-8") as f:
            return _parse(f.read(), label)
    raise ValidationError(f"expected a file path, YAML/JSON text or a mapping, got "
                          f"{type(config).__name__}")


def _parse(text: str, label: str) -> Mapping[str, Any]:
    # The manifests' reader, with its bounds (duplicate keys, depth, alias bombs).
    docs = [doc for _, _, doc in parse_documents(text, label)]
    if len(docs) > 1:
        raise ValidationError(f"{label}: expected one KubeSchedulerConfiguration document, "
                              f"got {len(docs)}")
    data = docs[0] if docs else None
    if not isinstance(data, Mapping):
        raise ValidationError(f"{label}: expected a KubeSchedulerConfiguration mapping, got "
                              f"{type(data).__name__}")
    return data


# -- profiles and plugin lists -------------------------------------------------------

def _profile(data: Mapping[str, Any], path: str, name: str,
             fallback: int | None) -> dict[str, Any]:
    pct = check_int(data.get("percentageOfNodesToScore"), f"{path}.percentageOfNodesToScore",
                    lo=0, hi=100, allow_none=True)
    filters, scores = _plugins(data.get("plugins"), f"{path}.plugins")
    args = _plugin_config(data.get("pluginConfig"), f"{path}.pluginConfig")
    return dict(name=name, filters=filters, scores=scores,
                percentage_of_nodes_to_score=fallback if pct is None else pct, **args)


def _plugins(data: Any, path: str) -> tuple[tuple[str, ...], tuple[tuple[str, int], ...]]:
    if data is None:
        data = {}
    _check_fields(data, _POINTS, path)
    sets = {point: _plugin_set(data.get(point), f"{path}.{point}", point) for point in _POINTS}
    multipoint = _merge(_DEFAULT_MULTIPOINT, sets["multiPoint"])
    filters = tuple(n for n in _expand("filter", multipoint, sets["filter"])
                    if n in FILTER_PLUGINS)
    weights = _score_weights(sets["score"].enabled + multipoint)
    scores = tuple((n, weights[n]) for n in _expand("score", multipoint, sets["score"])
                   if n in SCORE_PLUGINS)
    return filters, scores


def _plugin_set(data: Any, path: str, point: str) -> _PluginSet:
    if data is None:
        return _PluginSet()
    _check_fields(data, ("enabled", "disabled"), path)
    enabled: list[_Entry] = []
    first_at: dict[str, int] = {}
    for i, item in enumerate(_list(data.get("enabled"), f"{path}.enabled")):
        at = f"{path}.enabled[{i}]"
        _check_fields(item, ("name", "weight"), at)
        name = _plugin_name(item.get("name"), f"{at}.name")
        # kube-scheduler refuses a plugin registered twice at one point.
        if name in first_at:
            raise ValidationError(f"plugin {name!r} is already enabled at "
                                  f"{path}.enabled[{first_at[name]}]", f"{at}.name")
        first_at[name] = i
        if point in _POINT_PLUGINS and name in _IMPLEMENTED \
                and name not in _POINT_PLUGINS[point]:
            raise ValidationError(f"plugin {name!r} does not extend {_POINT_TITLES[point]}",
                                  f"{at}.name")
        weight = check_int(item.get("weight"), f"{at}.weight", lo=0, allow_none=True)
        enabled.append(_Entry(name, weight, at))
    disabled = set()
    for i, item in enumerate(_list(data.get("disabled"), f"{path}.disabled")):
        at = f"{path}.disabled[{i}]"
        _check_fields(item, ("name", "weight"), at)
        disabled.add(_plugin_name(item.get("name"), f"{at}.name", star=True))
    return _PluginSet(tuple(enabled), frozenset(disabled))


def _plugin_name(value: Any, path: str, *, star: bool = False) -> str:
    name = check_str(value, path, allow_empty=False)
    if star and name == "*":
        return name
    if name in _REMOVED:
        raise ValidationError(f"plugin {name!r} was removed and is invalid in {API_VERSION}",
                              path)
    if name not in _KNOWN:
        raise ValidationError(f"unknown plugin {name!r}", path)
    return name


def _merge(defaults: tuple[_Entry, ...], custom: _PluginSet) -> tuple[_Entry, ...]:
    """A default plugin set with the user's set merged in (``mergePluginSet``)."""
    mine = {e.name: e for e in custom.enabled}
    merged = []
    if "*" not in custom.disabled:
        for entry in defaults:
            if entry.name not in custom.disabled:
                # re-listed defaults are replaced where they stand, keeping the order
                merged.append(mine.pop(entry.name, entry))
    return tuple(merged) + tuple(e for e in custom.enabled if e.name in mine)


def _expand(point: str, multipoint: tuple[_Entry, ...], own: _PluginSet) -> list[str]:
    """The plugin names enabled at ``point`` (``expandMultiPointPlugins``)."""
    names = [e.name for e in own.enabled]
    if "*" in own.disabled:
        return names
    overridden, added = set(), []
    for entry in multipoint:
        if not (entry.name in _POINT_PLUGINS[point] or entry.name in NOOP_PLUGINS) \
                or entry.name in own.disabled:
            continue
        if entry.name in names:
            overridden.add(entry.name)  # the point's own entry wins
        elif entry.name not in added:
            added.append(entry.name)
    return ([n for n in names if n in overridden] + added
            + [n for n in names if n not in overridden])


def _score_weights(entries: tuple[_Entry, ...]) -> dict[str, int]:
    """Weight of every score plugin: the first entry naming it wins (``score``
    entries come before multiPoint ones); 0 or missing means 1."""
    weights: dict[str, int] = {}
    for entry in entries:
        if entry.name not in SCORE_PLUGINS or entry.name in weights:
            continue
        weight = entry.weight or 1
        if weight > _MAX_WEIGHT:
            raise ValidationError(f"must be <= {_MAX_WEIGHT} (fastsched's limit on score "
                                  f"weights), got {weight}", f"{entry.path}.weight")
        weights[entry.name] = weight
    return weights


# -- plugin arguments ----------------------------------------------------------------

def _plugin_config(items: Any, path: str) -> dict[str, Any]:
    """``Profile`` keyword arguments from ``pluginConfig``. Arguments of plugins that
    take none, or that fastsched does not run, are accepted and ignored."""
    out: dict[str, Any] = {}
    first_at: dict[str, int] = {}
    for i, item in enumerate(_list(items, path)):
        at = f"{path}[{i}]"
        _check_fields(item, ("name", "args"), at)
        name = _plugin_name(item.get("name"), f"{at}.name")
        if name in first_at:
            raise ValidationError(f"duplicate config for plugin {name!r} (first at "
                                  f"{path}[{first_at[name]}])", f"{at}.name")
        first_at[name] = i
        plugin = REGISTRY.get(name)
        reader = plugin.args if plugin is not None else None
        if reader is None:
            continue
        fields, read = reader
        args = item.get("args")
        args = {} if args is None else args
        _check_fields(args, ("apiVersion", "kind") + fields, f"{at}.args")
        _check_type_meta(args, name, f"{at}.args")
        out.update(read(args, f"{at}.args"))
    return out


def _check_type_meta(args: Mapping[str, Any], plugin: str, path: str) -> None:
    if "apiVersion" in args and args["apiVersion"] != API_VERSION:
        raise ValidationError(f"must be {API_VERSION!r}, got {args['apiVersion']!r}",
                              f"{path}.apiVersion")
    if "kind" in args and args["kind"] != f"{plugin}Args":
        raise ValidationError(f"must be {plugin + 'Args'!r}, got {args['kind']!r}",
                              f"{path}.kind")
