"""Feature gates (fastsched/profile/gates.py): v1.35 defaults, unknown names, and
the ``--feature-gates`` syntax of component-base's flag."""

import pytest

from fastsched import Cluster, Scheduler
from fastsched.errors import ValidationError
from fastsched.profile.gates import DEFAULT_GATES, parse_feature_gates
from fastsched.profile.profile import Profile


def test_defaults_are_v1_35s():
    p = Profile()
    assert p.gate("TaintTolerationComparisonOperators") is False   # alpha in 1.35
    assert p.gate("PodLevelResources") is True                      # beta since 1.34
    assert dict(p.feature_gates) == dict(DEFAULT_GATES)


def test_profile_and_scheduler_take_gates():
    on = {"TaintTolerationComparisonOperators": True}
    assert Profile(feature_gates=on).gate("TaintTolerationComparisonOperators") is True
    s = Scheduler(Cluster(), feature_gates=on)
    assert s.profile.gate("TaintTolerationComparisonOperators") is True
    assert s.profile.gate("PodLevelResources") is True
    # Equal gates, equal profiles (a profile stays hashable).
    assert Profile(feature_gates=on) == Profile().with_gates(on)
    hash(Profile(feature_gates=on))


@pytest.mark.parametrize("gates, field", [
    ({"NoSuchGate": True}, "featureGates.NoSuchGate"),
    ({"PodLevelResources": "yes"}, "featureGates.PodLevelResources"),
])
def test_bad_gates_name_the_gate(gates, field):
    with pytest.raises(ValidationError) as err:
        Profile(feature_gates=gates)
    assert err.value.field == field
    with pytest.raises(ValidationError):
        Scheduler(Cluster(), feature_gates=gates)


def test_parse_feature_gates():
    assert parse_feature_gates("") == {}
    assert parse_feature_gates("TaintTolerationComparisonOperators=true,PodLevelResources=false") \
        == {"TaintTolerationComparisonOperators": True, "PodLevelResources": False}
    # Spaces trimmed, empty items skipped, strconv.ParseBool spellings.
    assert parse_feature_gates(" PodLevelResources = F ,,SidecarContainers=1") == {
        "PodLevelResources": False, "SidecarContainers": True}


@pytest.mark.parametrize("text, message", [
    ("PodLevelResources", "missing bool value for PodLevelResources"),
    ("PodLevelResources=yes", "invalid value of PodLevelResources=yes"),
    ("Bogus=true", "unrecognized feature gate: Bogus"),
])
def test_parse_feature_gates_errors(text, message):
    with pytest.raises(ValidationError) as err:
        parse_feature_gates(text)
    assert err.value.message == message
    assert err.value.field == "--feature-gates"
