"""Profiles: the default profile, and reading KubeSchedulerConfiguration v1 documents
(plugin merging as in kube-scheduler v1.35, v1 argument defaulting, validation paths)."""

import copy
import json
from pathlib import Path

import pytest

from fastsched import ValidationError
from fastsched.model.pod import NodeAffinity
from fastsched.profile.profile import (
    DEFAULT_SCORES,
    FILTER_PLUGINS,
    SCORE_PLUGINS,
    FitArgs,
    Profile,
)

DATA = Path(__file__).parent / "data" / "config"
HEAD = {"apiVersion": "kubescheduler.config.k8s.io/v1", "kind": "KubeSchedulerConfiguration"}
DEFAULT_FILTER_ORDER = ("NodeUnschedulable", "NodeName", "TaintToleration", "NodeAffinity",
                        "NodePorts", "NodeResourcesFit", "PodTopologySpread", "InterPodAffinity")
DEFAULT_SCORE_WEIGHTS = (("TaintToleration", 3), ("NodeAffinity", 2), ("NodeResourcesFit", 1),
                         ("PodTopologySpread", 2), ("InterPodAffinity", 2),
                         ("NodeResourcesBalancedAllocation", 1), ("ImageLocality", 1))


def config(*profiles, **top):
    """A KubeSchedulerConfiguration dict with the given profiles (none: key absent)."""
    doc = dict(HEAD, **top)
    if profiles:
        doc["profiles"] = list(profiles)
    return doc


def with_plugins(**points):
    return config({"plugins": points})


def with_args(name, args):
    return config({"pluginConfig": [{"name": name, "args": args}]})


def fit(**strategy):
    return with_args("NodeResourcesFit", {"scoringStrategy": strategy})


# -- the default profile --------------------------------------------------------------

def test_default_profile_contents():
    p = Profile.default()
    assert p.name == "default-scheduler"
    assert p.filters == DEFAULT_FILTER_ORDER == FILTER_PLUGINS
    assert p.scores == DEFAULT_SCORE_WEIGHTS == DEFAULT_SCORES
    assert p.fit == FitArgs() == FitArgs("LeastAllocated", (("cpu", 1), ("memory", 1)))
    assert p.balanced_resources == (("cpu", 1), ("memory", 1))
    assert p.added_affinity is None and p.percentage_of_nodes_to_score is None


def test_default_total_max_score():
    # Each plugin scores in [0, 100]; the framework sums weight x score.
    assert sum(100 * w for _, w in Profile.default().scores) == 100 * (3 + 2 + 1 + 2 + 2 + 1 + 1)


def test_weight():
    p = Profile.default()
    assert [p.weight(n) for n in SCORE_PLUGINS] == [3, 2, 1, 2, 2, 1, 1]
    assert p.weight("NodeName") == 0 and p.weight("NoSuchPlugin") == 0


def test_with_scores():
    p = Profile.default().with_scores(ImageLocality=0, NodeResourcesFit=5)
    assert p.scores == (("TaintToleration", 3), ("NodeAffinity", 2), ("NodeResourcesFit", 5),
                        ("PodTopologySpread", 2), ("InterPodAffinity", 2),
                        ("NodeResourcesBalancedAllocation", 1))
    assert p.weight("ImageLocality") == 0
    assert p.filters == Profile.default().filters
    again = p.with_scores(ImageLocality=4)  # re-enabled in canonical order
    assert [n for n, _ in again.scores] == list(SCORE_PLUGINS)
    with pytest.raises(ValidationError, match="weight"):
        p.with_scores(NodeAffinity=101)
    with pytest.raises(ValidationError, match="weight"):
        p.with_scores(NodeAffinity=-1)


# -- minimal documents and sources ----------------------------------------------------

MINIMAL = [
    pytest.param(config(), id="no-profiles"),
    pytest.param(config(profiles=[]), id="empty-profiles"),
    pytest.param(config({}), id="profile-without-name-or-plugins"),
    pytest.param(config({"schedulerName": "default-scheduler", "plugins": {},
                         "pluginConfig": []}), id="empty-sections"),
    pytest.param(config({"plugins": {"multiPoint": {"enabled": [{"name": "NodeAffinity",
                                                                "weight": 2}]}}}),
                 id="default-relisted-with-its-weight"),
    pytest.param(with_args("NodeResourcesFit", {}), id="fit-args-empty"),
    pytest.param(with_args("NodeResourcesFit", None), id="fit-args-null"),
    pytest.param(fit(type="LeastAllocated", resources=[]), id="empty-resources-default"),
    pytest.param(with_args("NodeResourcesBalancedAllocation", {"resources": []}),
                 id="balanced-empty-resources"),
    pytest.param(config(parallelism=32, leaderElection={"leaderElect": False},
                        clientConnection={"kubeconfig": "/x"}, enableProfiling=False,
                        podInitialBackoffSeconds=2, extenders=[]),
                 id="process-settings-ignored"),
]


@pytest.mark.parametrize("doc", MINIMAL)
def test_minimal_config_is_default_profile(doc):
    assert Profile.from_config(doc) == Profile.default()


def test_text_sources():
    yaml_text = "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n"
    assert Profile.from_config(yaml_text) == Profile.default()
    assert Profile.from_config(json.dumps(HEAD)) == Profile.default()  # one line, JSON
    assert Profile.from_config(json.dumps(HEAD, indent="\t")) == Profile.default()
    assert Profile.from_config(yaml_text.encode()) == Profile.default()


def test_from_file_path(tmp_path):
    path = tmp_path / "sched.yaml"
    path.write_text("apiVersion: kubescheduler.config.k8s.io/v1\n"
                    "kind: KubeSchedulerConfiguration\n"
                    "profiles:\n"
                    "- schedulerName: packer\n"
                    "  pluginConfig:\n"
                    "  - name: NodeResourcesFit\n"
                    "    args: {scoringStrategy: {type: MostAllocated}}\n")
    for source in (path, str(path)):
        p = Profile.from_config(source)
        assert p.name == "packer"
        assert p.fit == FitArgs("MostAllocated")
    (tmp_path / "sched.json").write_text(json.dumps(config({"schedulerName": "j"})))
    assert Profile.from_config(str(tmp_path / "sched.json")).name == "j"


def test_missing_file():
    with pytest.raises(FileNotFoundError):
        Profile.from_config("/no/such/sched.yaml")


def test_fixture_file_two_profiles():
    path = DATA / "binpack.yaml"
    first = Profile.from_config(path)
    assert first == Profile(percentage_of_nodes_to_score=30)  # top-level value inherited
    p = Profile.from_config(path, profile="binpack")
    assert p.name == "binpack"
    assert p.percentage_of_nodes_to_score == 100
    assert p.filters == DEFAULT_FILTER_ORDER
    assert p.scores == (("NodeResourcesFit", 10), ("TaintToleration", 3), ("NodeAffinity", 2),
                        ("InterPodAffinity", 2))
    assert p.fit == FitArgs("RequestedToCapacityRatio", (("cpu", 2), ("memory", 1)),
                            shape=((0, 0), (100, 10)))


def test_pick_profile_by_name():
    doc = config({"schedulerName": "a", "plugins": {"score": {"disabled": [{"name": "*"}]}}},
                 {"schedulerName": "b", "percentageOfNodesToScore": 10})
    assert Profile.from_config(doc).name == "a"  # first by default
    a = Profile.from_config(doc, profile="a")
    b = Profile.from_config(doc, profile="b")
    assert (a.name, a.scores, a.filters) == ("a", (), DEFAULT_FILTER_ORDER)
    assert (b.name, b.scores, b.percentage_of_nodes_to_score) == ("b", DEFAULT_SCORES, 10)
    with pytest.raises(ValidationError) as err:
        Profile.from_config(doc, profile="default-scheduler")
    assert err.value.field == "profiles"
    assert "'a', 'b'" in str(err.value)


def test_no_profiles_has_default_scheduler_only():
    assert Profile.from_config(config(), profile="default-scheduler") == Profile.default()
    with pytest.raises(ValidationError) as err:
        Profile.from_config(config(), profile="other")
    assert err.value.field == "profiles"


def test_input_dict_not_modified():
    doc = fit(type="MostAllocated", resources=[{"name": "cpu"}])
    before = copy.deepcopy(doc)
    Profile.from_config(doc)
    assert doc == before


# -- plugin lists -----------------------------------------------------------------------

FULL_YAML = """\
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
percentageOfNodesToScore: 50
profiles:
  - schedulerName: custom
    percentageOfNodesToScore: 20
    plugins:
      multiPoint:
        enabled:
          - name: TaintToleration     # a default re-listed: replaced in place
            weight: 5
          - name: VolumeBinding       # not run by fastsched: accepted, ignored
        disabled:
          - name: ImageLocality
      preScore:
        disabled:
          - name: '*'
      filter:
        disabled:
          - name: NodePorts
          - name: NodeName
        enabled:
          - name: NodeName            # disabled and enabled again: moves to the end
      score:
        disabled:
          - name: NodeResourcesFit
        enabled:
          - name: NodeAffinity        # registered at the point: comes first
            weight: 7
          - name: NodeResourcesFit    # disabled and enabled again: last
            weight: 4
    pluginConfig:
      - name: NodeResourcesFit
        args:
          ignoredResourceGroups: [example.com]
          scoringStrategy:
            type: MostAllocated
            resources:
              - {name: cpu, weight: 3}
              - {name: memory}
      - name: PodTopologySpread
        args:
          defaultingType: List
"""


def test_full_yaml_config():
    p = Profile.from_config(FULL_YAML)
    assert p.name == "custom"
    assert p.percentage_of_nodes_to_score == 20
    assert p.filters == ("NodeUnschedulable", "TaintToleration", "NodeAffinity",
                         "NodeResourcesFit", "PodTopologySpread", "InterPodAffinity",
                         "NodeName")
    assert p.scores == (("NodeAffinity", 7), ("TaintToleration", 5), ("PodTopologySpread", 2),
                        ("InterPodAffinity", 2), ("NodeResourcesBalancedAllocation", 1),
                        ("NodeResourcesFit", 4))
    assert p.spread_defaulting == "List"
    assert p.fit == FitArgs("MostAllocated", (("cpu", 3), ("memory", 1)),
                            ignored_resource_groups=frozenset({"example.com"}))
    assert p.weight("ImageLocality") == 0


D = DEFAULT_FILTER_ORDER
S = dict(DEFAULT_SCORES)


def names(*ns, weight=None):
    return [{"name": n} if weight is None else {"name": n, "weight": weight} for n in ns]


# (plugins section, expected filters, expected scores)
MERGES = [
    pytest.param({"multiPoint": {"enabled": names("NodeResourcesFit", weight=9)}},
                 D, (("TaintToleration", 3), ("NodeAffinity", 2), ("NodeResourcesFit", 9))
                 + DEFAULT_SCORES[3:], id="multipoint-relisted-default-keeps-place"),
    pytest.param({"multiPoint": {"enabled": names("TaintToleration")}},
                 D, (("TaintToleration", 1),) + DEFAULT_SCORES[1:],
                 id="multipoint-relisted-without-weight-is-1"),
    pytest.param({"multiPoint": {"enabled": names("TaintToleration", weight=0)}},
                 D, (("TaintToleration", 1),) + DEFAULT_SCORES[1:],
                 id="weight-0-is-1"),
    pytest.param({"multiPoint": {"disabled": names("TaintToleration"),
                                 "enabled": names("TaintToleration", weight=4)}},
                 ("NodeUnschedulable", "NodeName", "NodeAffinity", "NodePorts",
                  "NodeResourcesFit", "PodTopologySpread", "InterPodAffinity", "TaintToleration"),
                 DEFAULT_SCORES[1:] + (("TaintToleration", 4),),
                 id="multipoint-disabled-and-enabled-moves-to-end"),
    pytest.param({"multiPoint": {"disabled": names("*"),
                                 "enabled": names("NodeResourcesFit", "NodeName")}},
                 ("NodeResourcesFit", "NodeName"), (("NodeResourcesFit", 1),),
                 id="multipoint-star-keeps-only-enabled"),
    pytest.param({"multiPoint": {"disabled": names("NodeAffinity")}},
                 ("NodeUnschedulable", "NodeName", "TaintToleration", "NodePorts",
                  "NodeResourcesFit", "PodTopologySpread", "InterPodAffinity"),
                 tuple(x for x in DEFAULT_SCORES if x[0] != "NodeAffinity"),
                 id="multipoint-disable-removes-filter-and-score"),
    pytest.param({"score": {"enabled": names("ImageLocality", weight=6)}},
                 D, (("ImageLocality", 6),) + DEFAULT_SCORES[:6],
                 id="score-enabled-default-goes-first"),
    pytest.param({"score": {"enabled": names("TaintToleration")}},
                 D, (("TaintToleration", 1),) + DEFAULT_SCORES[1:],
                 id="score-entry-without-weight-is-1"),
    pytest.param({"multiPoint": {"enabled": names("NodeAffinity", weight=9)},
                  "score": {"enabled": names("NodeAffinity", weight=4)}},
                 D, (("NodeAffinity", 4), ("TaintToleration", 3)) + DEFAULT_SCORES[2:],
                 id="score-weight-beats-multipoint-weight"),
    pytest.param({"score": {"disabled": names("TaintToleration"),
                            "enabled": names("TaintToleration", weight=2)}},
                 D, DEFAULT_SCORES[1:] + (("TaintToleration", 2),),
                 id="score-disabled-and-enabled-moves-to-end"),
    pytest.param({"score": {"disabled": names("*")}}, D, (), id="score-star"),
    pytest.param({"score": {"disabled": names("*"),
                            "enabled": names("ImageLocality", "NodeAffinity")}},
                 D, (("ImageLocality", 1), ("NodeAffinity", 1)),
                 id="score-star-then-enabled-skips-multipoint"),
    pytest.param({"filter": {"disabled": names("*")}}, (), DEFAULT_SCORES, id="filter-star"),
    pytest.param({"filter": {"disabled": names("*"),
                             "enabled": names("NodeResourcesFit", "TaintToleration")}},
                 ("NodeResourcesFit", "TaintToleration"), DEFAULT_SCORES,
                 id="filter-star-then-enabled-order-given"),
    pytest.param({"filter": {"enabled": names("NodePorts")}},
                 ("NodePorts", "NodeUnschedulable", "NodeName", "TaintToleration",
                  "NodeAffinity", "NodeResourcesFit", "PodTopologySpread", "InterPodAffinity"),
                 DEFAULT_SCORES, id="filter-enabled-default-goes-first"),
    pytest.param({"filter": {"disabled": names("TaintToleration")}},
                 ("NodeUnschedulable", "NodeName", "NodeAffinity", "NodePorts",
                  "NodeResourcesFit", "PodTopologySpread", "InterPodAffinity"), DEFAULT_SCORES,
                 id="filter-disable-keeps-score"),
    pytest.param({"multiPoint": {"enabled": names("VolumeBinding", weight=2),
                                 "disabled": names("DefaultPreemption")},
                  "filter": {"enabled": names("VolumeZone")},
                  "queueSort": {"enabled": names("PrioritySort")},
                  "preFilter": {"disabled": names("*")},
                  "bind": {"enabled": names("DefaultBinder")}},
                 D, DEFAULT_SCORES, id="noop-plugins-ignored"),
]


@pytest.mark.parametrize("plugins,filters,scores", MERGES)
def test_plugin_merging(plugins, filters, scores):
    p = Profile.from_config(with_plugins(**plugins))
    assert p.filters == tuple(filters)
    assert p.scores == tuple(scores)


# -- plugin arguments -------------------------------------------------------------------

def test_most_allocated_custom_weights():
    p = Profile.from_config(fit(type="MostAllocated", resources=[
        {"name": "cpu", "weight": 1}, {"name": "memory", "weight": 2},
        {"name": "nvidia.com/gpu", "weight": 100}]))
    assert p.fit.strategy == "MostAllocated"
    assert p.fit.resources == (("cpu", 1), ("memory", 2), ("nvidia.com/gpu", 100))
    assert p.scores == DEFAULT_SCORES  # args do not change the plugin lists


def test_resource_weight_zero_or_missing_defaults_to_one():
    p = Profile.from_config(fit(type="LeastAllocated", resources=[
        {"name": "cpu", "weight": 0}, {"name": "memory"}]))
    assert p.fit.resources == (("cpu", 1), ("memory", 1))


def test_requested_to_capacity_ratio():
    p = Profile.from_config(fit(
        type="RequestedToCapacityRatio", resources=[{"name": "cpu", "weight": 3}],
        requestedToCapacityRatio={"shape": [{"utilization": 0, "score": 10},
                                            {"utilization": 50, "score": 2},
                                            {"utilization": 100, "score": 0}]}))
    assert p.fit == FitArgs("RequestedToCapacityRatio", (("cpu", 3),),
                            shape=((0, 10), (50, 2), (100, 0)))


def test_ignored_resources():
    p = Profile.from_config(with_args("NodeResourcesFit", {
        "ignoredResources": ["example.com/foo"], "ignoredResourceGroups": ["vendor.io"]}))
    assert p.fit.ignored_resources == {"example.com/foo"}
    assert p.fit.ignored_resource_groups == {"vendor.io"}
    assert p.fit.strategy == "LeastAllocated"  # no scoringStrategy: the v1 default


def test_balanced_allocation_resources():
    p = Profile.from_config(with_args("NodeResourcesBalancedAllocation", {
        "resources": [{"name": "cpu"}, {"name": "memory", "weight": 1},
                      {"name": "nvidia.com/gpu", "weight": 0}]}))
    assert p.balanced_resources == (("cpu", 1), ("memory", 1), ("nvidia.com/gpu", 1))


def test_added_affinity():
    added = {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["batch"]}]}]}}
    p = Profile.from_config(with_args("NodeAffinity", {"addedAffinity": added}))
    assert isinstance(p.added_affinity, NodeAffinity)
    assert p.added_affinity == NodeAffinity.from_dict(added)
    assert p.added_affinity.required[0].match_expressions[0].values == ("batch",)
    assert Profile.from_config(with_args("NodeAffinity", {})).added_affinity is None


def test_args_type_meta_accepted():
    args = {"apiVersion": "kubescheduler.config.k8s.io/v1", "kind": "NodeResourcesFitArgs",
            "scoringStrategy": {"type": "MostAllocated"}}
    assert Profile.from_config(with_args("NodeResourcesFit", args)).fit.strategy == \
        "MostAllocated"


def test_args_of_plugins_without_profile_args_ignored():
    doc = config({"pluginConfig": [
        {"name": "DefaultPreemption", "args": {"minCandidateNodesPercentage": 20}},
        {"name": "TaintToleration", "args": {}}]})
    assert Profile.from_config(doc) == Profile.default()


def test_interpod_and_spread_args():
    doc = config({"pluginConfig": [
        {"name": "InterPodAffinity", "args": {"hardPodAffinityWeight": 5,
                                              "ignorePreferredTermsOfExistingPods": True}},
        {"name": "PodTopologySpread", "args": {"defaultingType": "List", "defaultConstraints": [
            {"maxSkew": 2, "topologyKey": "topology.kubernetes.io/zone",
             "whenUnsatisfiable": "ScheduleAnyway"}]}}]})
    p = Profile.from_config(doc)
    assert p.hard_pod_affinity_weight == 5 and p.ignore_preferred_terms_of_existing_pods
    assert p.spread_defaulting == "List" and p.default_spread_constraints[0].max_skew == 2
    bad = [({"name": "InterPodAffinity", "args": {"hardPodAffinityWeight": 101}},
            "profiles[0].pluginConfig[0].args.hardPodAffinityWeight"),
           ({"name": "PodTopologySpread", "args": {"defaultConstraints": [
               {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway"}]}},
            "profiles[0].pluginConfig[0].args.defaultingType"),
           ({"name": "PodTopologySpread", "args": {"defaultingType": "List", "defaultConstraints": [
               {"maxSkew": 1, "topologyKey": "zone", "labelSelector": {}}]}},
            "profiles[0].pluginConfig[0].args.defaultConstraints[0].labelSelector")]
    for item, field in bad:
        with pytest.raises(ValidationError) as err:
            Profile.from_config(config({"pluginConfig": [item]}))
        assert err.value.field == field


# -- percentageOfNodesToScore -----------------------------------------------------------

@pytest.mark.parametrize("top,own,expected", [
    (None, None, None), (40, None, 40), (None, 70, 70), (40, 70, 70),
    (40, 0, 0),  # an explicit 0 (adaptive) in the profile overrides the top level
    (0, None, 0), (100, None, 100)])
def test_percentage_of_nodes_to_score(top, own, expected):
    profile = {} if own is None else {"percentageOfNodesToScore": own}
    top_level = {} if top is None else {"percentageOfNodesToScore": top}
    p = Profile.from_config(config(profile, **top_level))
    assert p.percentage_of_nodes_to_score == expected


# -- invalid documents ------------------------------------------------------------------

ARGS0 = "profiles[0].pluginConfig[0].args"
STRATEGY = f"{ARGS0}.scoringStrategy"
SHAPE = f"{STRATEGY}.requestedToCapacityRatio.shape"
PLUGINS = "profiles[0].plugins"


def rtcr(*points):
    return fit(type="RequestedToCapacityRatio",
               requestedToCapacityRatio={"shape": [{"utilization": u, "score": s}
                                                   for u, s in points]})


INVALID = [
    # resource weights: checked after defaulting (0 is fine, see above)
    pytest.param(fit(type="MostAllocated", resources=[{"name": "cpu", "weight": 101}]),
                 f"{STRATEGY}.resources[0].weight", id="fit-weight-101"),
    pytest.param(fit(type="MostAllocated", resources=[{"name": "cpu", "weight": -1}]),
                 f"{STRATEGY}.resources[0].weight", id="fit-weight-negative"),
    pytest.param(fit(type="MostAllocated", resources=[{"name": "cpu"},
                                                      {"name": "memory", "weight": "x"}]),
                 f"{STRATEGY}.resources[1].weight", id="fit-weight-not-int"),
    pytest.param(fit(type="MostAllocated", resources=[{"name": "cpu"}, {"name": "cpu"}]),
                 f"{STRATEGY}.resources", id="fit-duplicate-resource"),
    pytest.param(fit(type="MostAllocated", resources=[{"weight": 2}]),
                 f"{STRATEGY}.resources[0].name", id="fit-resource-without-name"),
    pytest.param(fit(type="MostAllocated", resources=[{"name": "cpu", "wieght": 2}]),
                 f"{STRATEGY}.resources[0].wieght", id="fit-resource-unknown-field"),
    # strategy
    pytest.param(fit(type="BestFit"), f"{STRATEGY}.type", id="unknown-strategy"),
    pytest.param(fit(resources=[{"name": "cpu"}]), f"{STRATEGY}.type",
                 id="strategy-without-type"),
    pytest.param(fit(type="RequestedToCapacityRatio"),
                 f"{STRATEGY}.requestedToCapacityRatio", id="rtcr-without-params"),
    pytest.param(rtcr(), SHAPE, id="rtcr-empty-shape"),
    pytest.param(rtcr((0, 0), (100, 11)), f"{SHAPE}[1].score", id="shape-score-11"),
    pytest.param(rtcr((0, -1)), f"{SHAPE}[0].score", id="shape-score-negative"),
    pytest.param(rtcr((0, 0), (101, 10)), f"{SHAPE}[1].utilization", id="shape-utilization-101"),
    pytest.param(rtcr((50, 0), (50, 10)), f"{SHAPE}[1].utilization", id="shape-not-increasing"),
    pytest.param(rtcr((60, 0), (10, 10)), f"{SHAPE}[1].utilization", id="shape-decreasing"),
    pytest.param(fit(type="MostAllocated", requestedToCapacityRatio={"shape": []}),
                 f"{STRATEGY}.requestedToCapacityRatio", id="shape-with-other-strategy"),
    pytest.param(with_args("NodeResourcesFit", {"scoringStratgy": {}}),
                 f"{ARGS0}.scoringStratgy", id="fit-args-typo"),
    pytest.param(with_args("NodeResourcesFit", {"ignoredResourceGroups": ["a.io/b"]}),
                 f"{ARGS0}.ignoredResourceGroups[0]", id="ignored-group-with-slash"),
    pytest.param(with_args("NodeResourcesFit", {"ignoredResources": ["bad name"]}),
                 f"{ARGS0}.ignoredResources[0]", id="ignored-resource-bad-name"),
    pytest.param(with_args("NodeResourcesFit", {"kind": "NodeAffinityArgs"}),
                 f"{ARGS0}.kind", id="args-kind-mismatch"),
    pytest.param(with_args("NodeResourcesFit", [1]), ARGS0, id="args-not-a-mapping"),
    # other plugin args
    pytest.param(with_args("NodeResourcesBalancedAllocation",
                           {"resources": [{"name": "cpu", "weight": 2}]}),
                 f"{ARGS0}.resources[0].weight", id="balanced-weight-not-1"),
    pytest.param(with_args("NodeResourcesBalancedAllocation",
                           {"resources": [{"name": "cpu"}, {"name": "cpu"}]}),
                 f"{ARGS0}.resources[1].name", id="balanced-duplicate"),
    pytest.param(with_args("NodeAffinity", {"addedAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "zone", "operator": "Near", "values": ["a"]}]}]}}}),
                 f"{ARGS0}.addedAffinity.requiredDuringSchedulingIgnoredDuringExecution"
                 ".nodeSelectorTerms[0].matchExpressions[0].operator",
                 id="added-affinity-bad-operator"),
    # pluginConfig entries
    pytest.param(with_args("Coscheduling", {}), "profiles[0].pluginConfig[0].name",
                 id="args-for-unknown-plugin"),
    pytest.param(config({"pluginConfig": [{"name": "NodeAffinity"},
                                          {"name": "NodeAffinity"}]}),
                 "profiles[0].pluginConfig[1].name", id="duplicate-plugin-config"),
    # plugin sets
    pytest.param(with_plugins(score={"enabled": names("ImageLocality", "Foo")}),
                 f"{PLUGINS}.score.enabled[1].name", id="unknown-plugin"),
    pytest.param(with_plugins(multiPoint={"disabled": names("Foo")}),
                 f"{PLUGINS}.multiPoint.disabled[0].name", id="unknown-plugin-disabled"),
    pytest.param(with_plugins(preFilter={"enabled": names("Foo")}),
                 f"{PLUGINS}.preFilter.enabled[0].name", id="unknown-plugin-other-point"),
    pytest.param(with_plugins(filter={"enabled": names("EBSLimits")}),
                 f"{PLUGINS}.filter.enabled[0].name", id="removed-plugin"),
    pytest.param(with_plugins(score={"enabled": names("*")}),
                 f"{PLUGINS}.score.enabled[0].name", id="star-in-enabled"),
    pytest.param(with_plugins(score={"enabled": names("NodeName")}),
                 f"{PLUGINS}.score.enabled[0].name", id="filter-only-plugin-in-score"),
    pytest.param(with_plugins(filter={"enabled": names("ImageLocality")}),
                 f"{PLUGINS}.filter.enabled[0].name", id="score-only-plugin-in-filter"),
    pytest.param(with_plugins(score={"enabled": names("ImageLocality", "ImageLocality")}),
                 f"{PLUGINS}.score.enabled[1].name", id="enabled-twice"),
    pytest.param(with_plugins(score={"enabled": names("ImageLocality", weight=-1)}),
                 f"{PLUGINS}.score.enabled[0].weight", id="score-weight-negative"),
    pytest.param(with_plugins(multiPoint={"enabled": names("NodeAffinity", weight=101)}),
                 f"{PLUGINS}.multiPoint.enabled[0].weight", id="score-weight-101"),
    pytest.param(with_plugins(scores={"enabled": []}), f"{PLUGINS}.scores",
                 id="unknown-extension-point"),
    pytest.param(with_plugins(score={"enable": []}), f"{PLUGINS}.score.enable",
                 id="plugin-set-typo"),
    pytest.param(with_plugins(score={"enabled": {"name": "ImageLocality"}}),
                 f"{PLUGINS}.score.enabled", id="enabled-not-a-list"),
    # document and profiles
    pytest.param(dict(HEAD, apiVersion="kubescheduler.config.k8s.io/v1beta3"), "apiVersion",
                 id="old-api-version"),
    pytest.param({"kind": "KubeSchedulerConfiguration"}, "apiVersion", id="no-api-version"),
    pytest.param(dict(HEAD, kind="KubeProxyConfiguration"), "kind", id="wrong-kind"),
    pytest.param({"apiVersion": "kubescheduler.config.k8s.io/v1"}, "kind", id="no-kind"),
    pytest.param(config(percentageOfNodesToScore=-1), "percentageOfNodesToScore",
                 id="top-percentage-negative"),
    pytest.param(config({"percentageOfNodesToScore": 101}),
                 "profiles[0].percentageOfNodesToScore", id="profile-percentage-101"),
    pytest.param(config(percentageOfNodeToScore=5), "percentageOfNodeToScore",
                 id="unknown-top-level-field"),
    pytest.param(config({"plugin": {}}), "profiles[0].plugin", id="unknown-profile-field"),
    pytest.param(config(profiles={"schedulerName": "x"}), "profiles", id="profiles-not-a-list"),
    pytest.param(config({"schedulerName": "a"}, {}), "profiles[1].schedulerName",
                 id="second-profile-needs-a-name"),
    pytest.param(config({"schedulerName": ""}), "profiles[0].schedulerName",
                 id="empty-scheduler-name"),
    pytest.param(config({"schedulerName": "a"}, {"schedulerName": "a"}),
                 "profiles[1].schedulerName", id="duplicate-scheduler-name"),
    pytest.param(config({"schedulerName": "a"},
                        {"schedulerName": "b", "percentageOfNodesToScore": 101}),
                 "profiles[1].percentageOfNodesToScore", id="every-profile-is-validated"),
]


@pytest.mark.parametrize("doc,field", INVALID)
def test_invalid_config(doc, field):
    with pytest.raises(ValidationError) as err:
        Profile.from_config(doc)
    assert err.value.field == field
    assert str(err.value).startswith(f"{field}: ")


def test_unknown_plugin_message():
    doc = with_plugins(score={"enabled": names("ImageLocality", "Foo")})
    with pytest.raises(ValidationError,
                       match=r"^profiles\[0\]\.plugins\.score\.enabled\[1\]\.name: "
                             r"unknown plugin 'Foo'$"):
        Profile.from_config(doc)


@pytest.mark.parametrize("text", [
    "apiVersion: kubescheduler.config.k8s.io/v1\nkind: [unclosed\n",
    "- just\n- a list\n",
    "",
    "{\"apiVersion\": \n",
])
def test_unreadable_text(text):
    with pytest.raises(ValidationError):
        Profile.from_config(text or "\n")


def test_bad_source_type():
    with pytest.raises(ValidationError, match="got int"):
        Profile.from_config(42)


def test_profile_files_are_read_with_the_manifests_bounds(tmp_path):
    from fastsched.errors import ValidationError
    from fastsched.profile.config import profile_arguments
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
    for text, message in ((bomb, "aliases expand"),
                          ("profiles: []\nprofiles: []\n", "duplicate key 'profiles'"),
                          ("---\nprofiles: []\n---\nprofiles: []\n", "one KubeSchedulerConfiguration")):
        path = tmp_path / "config.yaml"
        path.write_text(text)
        with pytest.raises(ValidationError, match=message):
            profile_arguments(str(path))
