"""The plugin registry (fastsched.plugins) and the kernel codes it shares with
placement.pyx (fastsched._kernels.common): every plugin module registered, every
code numbered once, the default profile as upstream v1.35 writes it."""

import importlib
import pkgutil

import pytest

import fastsched.plugins as plugins
from fastsched import Profile
from fastsched._kernels import common as codes
from fastsched.plugins import FILTER_CODES, REASONS, REGISTRY, RESOURCE0, SCORE_ROWS, Plugin

# Helpers of the plugins, not plugins.
SUPPORT = {"base", "topology", "_args", "_arrays"}


def plugin_modules():
    for info in pkgutil.iter_modules(plugins.__path__):
        if info.name not in SUPPORT:
            yield importlib.import_module(f"fastsched.plugins.{info.name}")


def test_every_plugin_module_is_registered_once():
    found = {m.PLUGIN.name: m for m in plugin_modules()}
    assert set(found) == set(REGISTRY)
    assert all(REGISTRY[name] is m.PLUGIN for name, m in found.items())
    assert len(plugins.PLUGINS) == len(REGISTRY)


def test_default_profile_is_upstreams():
    # pkg/scheduler/apis/config/v1/default_plugins.go (v1.35), restricted to the
    # plugins fastsched runs: filters in multiPoint order, then the score weights.
    p = Profile.default()
    assert p.filters == ("NodeUnschedulable", "NodeName", "TaintToleration", "NodeAffinity",
                         "NodePorts", "NodeResourcesFit", "PodTopologySpread",
                         "InterPodAffinity")
    assert p.scores == (("TaintToleration", 3), ("NodeAffinity", 2), ("NodeResourcesFit", 1),
                        ("PodTopologySpread", 2), ("InterPodAffinity", 2),
                        ("NodeResourcesBalancedAllocation", 1), ("ImageLocality", 1))


def test_filter_codes_are_the_kernels_and_distinct():
    assert sorted(FILTER_CODES.values()) == sorted(int(c) for c in codes.FilterCode)
    assert FILTER_CODES["NodePorts"] == codes.FilterCode.F_PORTS
    assert FILTER_CODES["NodeResourcesFit"] == codes.FilterCode.F_FIT


def test_score_rows_cover_the_kernels_output():
    assert sorted(SCORE_ROWS.values()) == list(range(int(codes.ScoreRow.SCORE_ROWS)))
    assert SCORE_ROWS["InterPodAffinity"] == codes.ScoreRow.SC_INTERPOD


def test_every_reason_bucket_has_one_plugin_and_one_text():
    owners = {}
    for plugin in plugins.PLUGINS:
        for code in plugin.reasons:
            assert code not in owners, f"{code} claimed by {owners.get(code)} and {plugin.name}"
            owners[code] = plugin.name
    assert sorted(owners) == list(range(RESOURCE0)) == list(range(len(REASONS)))
    assert RESOURCE0 == codes.ReasonCode.R_RESOURCE0
    assert REASONS[codes.ReasonCode.R_PORTS] == \
        "node(s) didn't have free ports for the requested pod ports"
    assert owners[codes.ReasonCode.R_EXISTING_ANTI] == "InterPodAffinity"


def test_static_bits_are_distinct_single_bits_of_a_byte():
    values = [int(b) for b in codes.StaticBit]
    assert len(set(values)) == len(values)
    assert all(v and v & (v - 1) == 0 and v < 256 for v in values)
    assert codes.PASSES == 255 and codes.PASSES not in list(range(RESOURCE0 + 64))


def test_static_plugins_name_what_their_bits_depend_on():
    for plugin in plugins.PLUGINS:
        assert (plugin.static is None) == (plugin.static_key is None), plugin.name
        assert (plugin.row is None) == (plugin.raw is None), plugin.name
        if plugin.score is not None:
            assert plugin.weight > 0 and plugin.weight_field.startswith("w_"), plugin.name


@pytest.mark.parametrize("name,kind", [("NodeName", "filter"), ("ImageLocality", "score"),
                                       ("NodeAffinity", "both")])
def test_kind(name, kind):
    assert REGISTRY[name].kind == kind
    assert repr(REGISTRY[name]) == f"Plugin({name!r}, {kind})"


def test_args_fields_are_the_upstream_args_types():
    # pkg/scheduler/apis/config/v1 types: the fields of each <Plugin>Args kind.
    args = {p.name: p.args[0] for p in plugins.PLUGINS if p.args is not None}
    assert args == {
        "NodeResourcesFit": ("ignoredResources", "ignoredResourceGroups", "scoringStrategy"),
        "NodeResourcesBalancedAllocation": ("resources",),
        "NodeAffinity": ("addedAffinity",),
        "PodTopologySpread": ("defaultConstraints", "defaultingType"),
        "InterPodAffinity": ("hardPodAffinityWeight", "ignorePreferredTermsOfExistingPods"),
    }


def test_strategy_codes_follow_the_names():
    from fastsched.plugins.noderesources_fit import STRATEGIES, STRATEGY_CODES
    assert tuple(STRATEGY_CODES) == STRATEGIES
    assert [int(c) for c in STRATEGY_CODES.values()] == [int(s) for s in codes.Strategy]


def test_plugin_is_a_value():
    p = Plugin("Example", filter=0)
    assert p.kind == "filter" and p.reasons == {} and p.static is None
