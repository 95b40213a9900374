"""Fuzzing the manifest loader: whatever the document, ``load_manifests`` returns
``Manifests`` or raises ``ValidationError`` (``ManifestError`` is one) -- never
another exception, and never without end.

Documents are built from strategies: random JSON-like values, Kubernetes-shaped
objects whose fields are random (so that the pod, node and workload readers see
them), YAML text with anchors, aliases, merge keys, tags and odd scalars, and JSON
text. Each test runs ``FASTSCHED_FUZZ_EXAMPLES`` examples (200 by default; set it
to 5000 or more for a long run):

    FASTSCHED_FUZZ_EXAMPLES=5000 pytest tests/test_fuzz_manifests.py -q
"""

from __future__ import annotations

import json
import os
import warnings

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastsched import Manifests, ValidationError, load_manifests

EXAMPLES = int(os.environ.get("FASTSCHED_FUZZ_EXAMPLES", "200"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Integers a field may hold: small ones, and the edges of int32, int64 and beyond
# (never a large replica count that is valid: expanding it is slow, not wrong).
INTS = st.one_of(st.integers(-3, 12), st.sampled_from(
    [2**31 - 1, 2**31, 2**63 - 1, 2**63, -(2**63) - 1, 10**30, -(10**31)]))
FLOATS = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                   st.sampled_from([0.5, 1e-300, 5e-324, 1e300, -0.0]))
WORDS = st.sampled_from(["", "a", "node-1", "web", "100m", "1Gi", "4", "-1", "1e3", "0x10",
                         "default", "kube-system", "a/b", "x" * 300, "\x00", "é", "Ki",
                         "NoSchedule", "Exists", "In", "TCP", "zone", "yes", "null", "~"])
TEXT = st.one_of(WORDS, st.text(max_size=12))
SCALARS = st.one_of(st.none(), st.booleans(), INTS, FLOATS, TEXT)


# JSON-like values, nested a few levels (strategies are built once: building them
# per example costs more than the loads).
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)), max_leaves=12)


KINDS = st.sampled_from(["Node", "Pod", "Deployment", "ReplicaSet", "StatefulSet", "Job",
                         "ReplicationController", "Service", "List", "PodList", "ConfigMap",
                         "NodeList", ""])
APIS = st.sampled_from(["v1", "apps/v1", "batch/v1", "extensions/v1beta1", "", "x/y/z"])
FIELDS = ["metadata", "spec", "status", "items", "name", "namespace", "labels", "taints",
          "allocatable", "capacity", "containers", "resources", "requests", "limits", "cpu",
          "memory", "pods", "nodeName", "replicas", "parallelism", "completions", "template",
          "selector", "matchLabels", "matchExpressions", "key", "operator", "values",
          "tolerations", "effect", "affinity", "nodeAffinity", "ports", "containerPort",
          "hostPort", "protocol", "priority", "images", "names", "sizeBytes", "phase",
          "unschedulable", "ownerReferences", "uid", "initContainers", "overhead",
          "topologySpreadConstraints", "maxSkew", "topologyKey", "whenUnsatisfiable",
          "labelSelector", "ordinals", "start", "nodeSelector", "targetPort", "port", "type"]


# Values whose keys are the fields the readers look for, so that they get read.
SHAPED = st.recursive(
    st.one_of(SCALARS, st.sampled_from(["1", "500m", "2Gi", "n1", "app"])),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(
        st.one_of(st.sampled_from(FIELDS), TEXT), inner, max_size=5)), max_leaves=20)


@st.composite
def k8s_objects(draw) -> dict:
    obj = {"apiVersion": draw(APIS), "kind": draw(KINDS)}
    obj["metadata"] = draw(METADATA)
    for field in ("spec", "status", "items"):
        if draw(st.booleans()):
            obj[field] = draw(SHAPED)
    if obj["kind"] in ("List", "PodList", "NodeList") and draw(st.booleans()):
        obj["items"] = draw(ITEMS)
    return obj


METADATA = st.one_of(st.fixed_dictionaries({"name": TEXT}), SHAPED)
OBJECTS = k8s_objects()
ITEMS = st.lists(st.deferred(lambda: OBJECTS), max_size=3)
DOCUMENTS = st.lists(st.one_of(OBJECTS, VALUES), min_size=1, max_size=4)


def check(*sources) -> None:
    """The contract: Manifests, or a ValidationError."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = load_manifests(*sources)
        except ValidationError:
            return
    assert isinstance(result, Manifests)


@FUZZ
@given(DOCUMENTS)
def test_python_objects(docs):
    check(docs)


@FUZZ
@given(DOCUMENTS)
def test_json_and_yaml_text(docs):
    check(json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}))
    try:
        text = yaml.safe_dump_all(docs, allow_unicode=True)
    except yaml.YAMLError:           # a value PyYAML cannot write: nothing to read
        return
    check("---\n" + text)


# YAML written by hand: anchors, aliases, merge keys, tags, odd scalars, flow and block.
YAML_SCALARS = st.sampled_from([
    "0x1F", "0o17", "017", "1_000", "1:30:00", "-0", "+12", ".inf", "-.inf", ".nan", "1e400",
    "~", "null", "yes", "No", "on", "2001-12-14t21:59:43.10-05:00", "2001-99-99", "!!binary aGk=",
    "!!str 12", "!!int abc", "!!float x", "!!bool maybe", "!!timestamp 1", "!!null a",
    "!!int " + "9" * 40, "9" * 31, "9" * 5000, "'quoted'", '"\\x00"', '"\\ud800"', "!!set {a}",
    "!!omap [a: 1]", "!!pairs [a: 1, a: 2]", "!custom x", "!!python/object:os.system x",
    "'500m'", "4", "1Gi", "n1", "&x 1", "*x", "*missing", "[]", "{}", "[a, [b, [c]]]",
    "{a: 1, a: 2}", "? [1]\n  : 2"])
YAML_KEYS = st.sampled_from(["apiVersion", "kind", "metadata", "name", "spec", "status",
                             "allocatable", "cpu", "containers", "replicas", "<<", "a", "a",
                             "items", "labels", "template", "? x", "'k'", "1", "null"])


@st.composite
def yaml_text(draw) -> str:
    lines = [f"apiVersion: {draw(APIS) or 'v1'}", f"kind: {draw(KINDS) or 'Node'}"]
    anchors: list[str] = []
    for i in range(draw(st.integers(0, 8))):
        key = draw(YAML_KEYS)
        indent = "  " * draw(st.integers(0, 3))
        choice = draw(st.integers(0, 5))
        if choice == 0 or not anchors:
            value = draw(YAML_SCALARS)
        elif choice == 1:
            value = "[" + ", ".join(f"*{draw(st.sampled_from(anchors))}"
                                    for _ in range(draw(st.integers(1, 12)))) + "]"
        elif choice == 2:
            value = f"{{<<: *{draw(st.sampled_from(anchors))}, cpu: '1'}}"
        elif choice == 3:
            value = f"*{draw(st.sampled_from(anchors))}"
        else:
            value = "{" + ", ".join(f"{draw(YAML_KEYS)}: {draw(YAML_SCALARS)}"
                                    for _ in range(draw(st.integers(0, 3)))) + "}"
        if draw(st.booleans()):
            anchors.append(f"a{i}")
            value = f"&a{i} {value}"
        lines.append(f"{indent}{key}: {value}")
    text = "\n".join(lines) + "\n"
    if draw(st.booleans()):
        text = text + "---\n" + text
    return text


@FUZZ
@given(yaml_text())
def test_hand_written_yaml(text):
    check(text)


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("{}[]:,-&*!?|>'\"#%@` \n\tab01.~<")), max_size=80))
def test_yaml_and_json_punctuation(text):
    check(text + "\n")


@FUZZ
@given(st.binary(max_size=60))
def test_bytes(data):
    check(data + b"\n")


@settings(max_examples=max(10, EXAMPLES // 10), deadline=None)
@given(st.integers(1, 12), st.integers(2, 12))
def test_nested_alias_bombs_of_any_shape(levels, width):
    # (width ** levels) pods from a few lines: refused, or small enough to load
    lines = ["apiVersion: v1", "kind: List", "items:",
             "- &p0 {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: "
             "[{name: c}]}}"]
    lines += [f"- &p{k} {{apiVersion: v1, kind: List, items: "
              f"[{', '.join([f'*p{k - 1}'] * width)}]}}" for k in range(1, levels + 1)]
    check("\n".join(lines) + "\n")
