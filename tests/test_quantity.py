"""Tests for fastsched.model.quantity against the rules of spec §1.1 and §13."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastsched.errors import QuantityError
from fastsched.model.quantity import format_quantity, parse_quantity, parse_quantity_exact

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)

# Multipliers written out independently of the module under test.
MULTIPLIERS = {
    "": Fraction(1),
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 10**3),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
    "Ki": Fraction(2**10),
    "Mi": Fraction(2**20),
    "Gi": Fraction(2**30),
    "Ti": Fraction(2**40),
    "Pi": Fraction(2**50),
    "Ei": Fraction(2**60),
}


def ceil_away(x: Fraction) -> int:
    """Reference rounding: up in magnitude, away from zero."""
    return math.ceil(x) if x >= 0 else -math.ceil(-x)


def reference(x: Fraction, resource: str) -> int:
    return ceil_away(x * 1000 if resource == "cpu" else x)


# --- each suffix, cpu (millicores) and memory (bytes) ------------------------

SUFFIX_TABLE = [
    # text, cpu millicores, memory bytes
    ("1n", 1, 1),
    ("1000000n", 1, 1),
    ("1000001n", 2, 1),
    ("1u", 1, 1),
    ("1000u", 1, 1),
    ("1500u", 2, 1),
    ("1m", 1, 1),
    ("100m", 100, 1),
    ("1000m", 1000, 1),
    ("1001m", 1001, 2),
    ("2", 2000, 2),
    ("1k", 1_000_000, 1000),
    ("1M", 10**9, 10**6),
    ("1G", 10**12, 10**9),
    ("1T", 10**15, 10**12),
    ("1P", 10**18, 10**15),
    ("1E", None, 10**18),  # 1E alone is exa, not an exponent
    ("1Ki", 1024 * 1000, 1024),
    ("1Mi", 2**20 * 1000, 2**20),
    ("1Gi", 2**30 * 1000, 2**30),
    ("1Ti", 2**40 * 1000, 2**40),
    ("1Pi", 2**50 * 1000, 2**50),
    ("1Ei", None, 2**60),
]


@pytest.mark.parametrize("text,cpu,memory", SUFFIX_TABLE)
def test_each_suffix(text, cpu, memory):
    if cpu is None:
        with pytest.raises(QuantityError):
            parse_quantity(text, "cpu")
    else:
        assert parse_quantity(text, "cpu") == cpu
        assert parse_quantity(text) == cpu  # cpu is the default resource
    assert parse_quantity(text, "memory") == memory


# --- syntax forms, exponents, signs, rounding -------------------------------

VALUE_TABLE = [
    # text, resource, expected
    # spec §13.2 examples
    ("100m", "memory", 1),
    ("100m", "cpu", 100),
    ("1n", "memory", 1),
    ("1n", "cpu", 1),
    ("1.5Gi", "memory", 1610612736),
    ("0.5Mi", "memory", 524288),
    ("100.035Ki", "memory", 102436),
    # forms of the number
    ("1.", "memory", 1),
    ("1.", "cpu", 1000),
    (".001", "cpu", 1),
    (".5", "cpu", 500),
    (".5", "memory", 1),
    ("1.G", "memory", 10**9),
    ("+1", "memory", 1),
    ("+1", "cpu", 1000),
    ("-0", "memory", 0),
    ("-0", "cpu", 0),
    ("0", "cpu", 0),
    ("000123", "memory", 123),
    ("1.250", "cpu", 1250),
    ("0.0", "memory", 0),
    # decimal exponents
    ("1e3", "memory", 1000),
    ("1E6", "memory", 10**6),
    ("1e-3", "cpu", 1),
    ("1e-3", "memory", 1),
    ("1E+3", "memory", 1000),
    ("1e+3", "cpu", 1_000_000),
    ("1e0", "memory", 1),
    ("1.5e3", "memory", 1500),
    ("1.e3", "memory", 1000),
    (".5e1", "memory", 5),
    ("25e-1", "memory", 3),
    ("-25e-1", "memory", -3),
    ("1e18", "memory", 10**18),
    ("0e999999999", "memory", 0),
    ("0e999999999", "cpu", 0),
    # rounding up, away from zero
    ("0.0005", "cpu", 1),
    ("0.0005", "memory", 1),
    ("3.001n", "cpu", 1),
    ("3.001n", "memory", 1),
    ("2000001n", "cpu", 3),
    ("0.0000000001", "cpu", 1),
    ("0.000000000001Ki", "cpu", 1),
    ("1.1E-9", "memory", 1),
    ("1e-999999999", "cpu", 1),
    ("-1e-999999999", "cpu", -1),
    ("1.0000000001", "memory", 2),
    ("2.5", "memory", 3),
    ("1500u", "cpu", 2),
    # negative values round away from zero too
    ("-1.5", "memory", -2),
    ("-1.5", "cpu", -1500),
    ("-100m", "memory", -1),
    ("-1n", "cpu", -1),
    ("-3.001n", "memory", -1),
    ("-0.5Mi", "memory", -524288),
    ("-1Gi", "memory", -(2**30)),
    # other resources behave like memory (plain ceil)
    ("110", "pods", 110),
    ("2", "nvidia.com/gpu", 2),
    ("500m", "nvidia.com/gpu", 1),
    ("1Gi", "hugepages-2Mi", 2**30),
    ("10Gi", "ephemeral-storage", 10 * 2**30),
]


@pytest.mark.parametrize("text,resource,expected", VALUE_TABLE)
def test_values(text, resource, expected):
    result = parse_quantity(text, resource)
    assert result == expected
    assert type(result) is int


EXACT_TABLE = [
    ("100.035Ki", Fraction(10243584, 100)),
    ("1.5Gi", Fraction(3 * 2**29)),
    ("100m", Fraction(1, 10)),
    ("-0", Fraction(0)),
    ("12E", Fraction(12 * 10**18)),  # DecimalSI is kept exactly, not clamped
    # upstream: TestQuantityParse "Things that saturate/round": BinarySI is capped at 2^63-1
    ("9Ei", Fraction(INT64_MAX)),
    ("9223372036854775807Ki", Fraction(INT64_MAX)),
    ("-9Ei", Fraction(-INT64_MAX)),
    # finer than 1n is rounded up, away from zero (spec §13.2)
    ("3.001n", Fraction(4, 10**9)),
    ("0.0000000001", Fraction(1, 10**9)),
    ("0.00000012345", Fraction(124, 10**9)),
    ("1.1E-9", Fraction(2, 10**9)),
    ("0.000000000001Ki", Fraction(2, 10**9)),
    ("-3.001n", Fraction(-4, 10**9)),
    ("-1e-999999999", Fraction(-1, 10**9)),
]


@pytest.mark.parametrize("text,expected", EXACT_TABLE)
def test_exact_value(text, expected):
    assert parse_quantity_exact(text) == expected


def test_exact_rejects_non_strings_and_huge():
    with pytest.raises(QuantityError):
        parse_quantity_exact(5)  # type: ignore[arg-type]
    with pytest.raises(QuantityError, match="out of range"):
        parse_quantity_exact("1e40")
    assert parse_quantity_exact("9e39") == 9 * 10**39


# --- invalid syntax ----------------------------------------------------------

INVALID = [
    "", " 1", "1 ", "1\n", "1.1.M", "1+1.0M", "0.1mi", "0.1am", "aoeu", ".5i",
    "1i", "-3.01i", "-3.01e-", ".", "+", "-", "1e", "1Mi3", "1e3.5", "1ki",
    "1KI", "1mi", "1.5 Gi", "--1", "+-1", "1e+", "e3", "1ee3", "1Ki1", "0x10",
    "1_000", "\u0661",  # ARABIC-INDIC DIGIT ONE is not an ASCII digit
    "1K", "1g", "1B", "1Mb", "1.5.", "..5", "1,5",
]


@pytest.mark.parametrize("text", INVALID)
@pytest.mark.parametrize("resource", ["cpu", "memory"])
def test_invalid_syntax(text, resource):
    with pytest.raises(QuantityError) as info:
        parse_quantity(text, resource)
    err = info.value
    assert isinstance(err, ValueError)
    assert repr(text) in str(err)
    assert err.text == text
    assert err.field == ""


def test_invalid_message_wording():
    with pytest.raises(QuantityError) as info:
        parse_quantity("1.1.M")
    assert str(info.value) == (
        "invalid quantity '1.1.M': expected a number with an optional suffix "
        "(n u m k M G T P E Ki Mi Gi Ti Pi Ei) or exponent"
    )


@pytest.mark.parametrize("text", INVALID)
def test_invalid_exact(text):
    with pytest.raises(QuantityError, match="invalid quantity"):
        parse_quantity_exact(text)


# --- field path --------------------------------------------------------------

def test_field_is_in_message():
    with pytest.raises(QuantityError) as info:
        parse_quantity("1.1.M", "memory", field="containers[0].requests.memory")
    err = info.value
    assert err.field == "containers[0].requests.memory"
    assert str(err).startswith("containers[0].requests.memory: ")
    assert "'1.1.M'" in str(err)


@pytest.mark.parametrize("value", ["12E", None, True, 0.5, "x"])
def test_field_on_every_error_kind(value):
    with pytest.raises(QuantityError) as info:
        parse_quantity(value, "memory", field="spec.x")
    assert str(info.value).startswith("spec.x: ")
    assert repr(value) in str(info.value)
    assert info.value.field == "spec.x"


def test_cached_value_does_not_leak_field():
    # The string path is cached; a later failing call must still get its own field.
    for field in ("a", "b"):
        with pytest.raises(QuantityError) as info:
            parse_quantity("12E", "memory", field=field)
        assert info.value.field == field


# --- int and float inputs ----------------------------------------------------

@pytest.mark.parametrize("value", [0, 1, 500, -7, INT64_MAX, INT64_MIN])
@pytest.mark.parametrize("resource", ["cpu", "memory", "pods"])
def test_int_passes_through(value, resource):
    result = parse_quantity(value, resource)
    assert result == value and type(result) is int


def test_int_subclass_and_integral():
    class MyInt(int):
        pass

    result = parse_quantity(MyInt(5), "cpu")
    assert result == 5 and type(result) is int


@pytest.mark.parametrize("value,expected", [(2.0, 2), (0.0, 0), (-3.0, -3), (1e18, 10**18)])
def test_whole_float_accepted(value, expected):
    result = parse_quantity(value, "cpu")
    assert result == expected and type(result) is int


@pytest.mark.parametrize("value", [0.5, 1.25, -0.1, math.nan, math.inf, -math.inf])
def test_fractional_or_nonfinite_float_rejected(value):
    with pytest.raises(QuantityError) as info:
        parse_quantity(value, "cpu")
    assert "'500m'" in str(info.value)
    assert repr(value) in str(info.value)


@pytest.mark.parametrize("value", [2.0**63, -(2.0**64), 1e300])
def test_out_of_range_float_rejected(value):
    with pytest.raises(QuantityError, match="out of range"):
        parse_quantity(value, "memory")


@pytest.mark.parametrize("value,type_name", [
    (True, "bool"), (False, "bool"), (None, "NoneType"), (b"1", "bytes"),
    ([1], "list"), (Fraction(1, 2), "Fraction"), (object(), "object"),
])
def test_other_types_rejected(value, type_name):
    with pytest.raises(QuantityError) as info:
        parse_quantity(value, "cpu")
    err = info.value
    assert isinstance(err, ValueError)
    assert not isinstance(err, TypeError)
    assert type_name in str(err)
    assert repr(value) in str(err)


# --- int64 boundaries --------------------------------------------------------

ACCEPTED_EDGES = [
    ("9223372036854775807m", "cpu", INT64_MAX),
    ("9223372036854775.807", "cpu", INT64_MAX),
    ("9223372036854775.8069", "cpu", INT64_MAX),  # rounds up onto the maximum
    ("-9223372036854775808m", "cpu", INT64_MIN),
    ("-9223372036854775.808", "cpu", INT64_MIN),
    ("9223372036854775807", "memory", INT64_MAX),
    ("9223372036854775806.5", "memory", INT64_MAX),
    ("-9223372036854775808", "memory", INT64_MIN),
    ("7Ei", "memory", 7 * 2**60),
    ("-7Ei", "memory", -7 * 2**60),
    ("9E", "memory", 9 * 10**18),
    ("8191Pi", "memory", 8191 * 2**50),
]

REJECTED_EDGES = [
    ("9223372036854775808m", "cpu"),
    ("9223372036854775.8071", "cpu"),
    ("-9223372036854775809m", "cpu"),
    ("9223372036854775807", "cpu"),  # ×1000 overflows
    ("1E", "cpu"),
    ("9223372036854775808", "memory"),
    ("9223372036854775807.000000001", "memory"),
    ("-9223372036854775809", "memory"),
    ("-9223372036854775808.1", "memory"),
    ("9Ei", "cpu"),                   # capped at 2^63-1 cores: still too many millicores
    ("12E", "memory"),
    ("10E", "memory"),
    ("1e19", "memory"),
    ("1e999999999", "memory"),
    ("-1e999999999", "cpu"),
    ("1e" + "9" * 5000, "memory"),
]


# upstream: TestQuantityParse "Things that saturate/round" ("9Ei", "9223372036854775807Ki"
# are maxAllowed, 2^63-1) and its negative and explicit-plus variants of every case.
BINARY_CAPPED = [
    ("9Ei", "memory", INT64_MAX),
    ("9223372036854775807Ki", "memory", INT64_MAX),
    ("-9Ei", "memory", -INT64_MAX),
    ("-9223372036854775807Ki", "memory", -INT64_MAX),
    ("+9Ei", "memory", INT64_MAX),
    ("+9223372036854775807Ki", "ephemeral-storage", INT64_MAX),
    # 2^63 itself and -2^63 are beyond the cap too (its magnitude is 2^63-1).
    ("8Ei", "memory", INT64_MAX),
    ("-8Ei", "memory", -INT64_MAX),
    ("8192Pi", "hugepages-2Mi", INT64_MAX),
    ("9223372036854775807.5Ki", "memory", INT64_MAX),
    ("1" + "0" * 60 + "Ei", "memory", INT64_MAX),   # far past 10^40: capped, not rejected
    ("9Ei", "example.com/foo", INT64_MAX),
]


@pytest.mark.parametrize("text,resource,expected", BINARY_CAPPED)
def test_binary_suffix_capped_at_int64(text, resource, expected):
    assert parse_quantity(text, resource) == expected


@pytest.mark.parametrize("text,resource,expected", ACCEPTED_EDGES)
def test_int64_largest_accepted(text, resource, expected):
    assert parse_quantity(text, resource) == expected


@pytest.mark.parametrize("text,resource", REJECTED_EDGES)
def test_int64_smallest_rejected(text, resource):
    with pytest.raises(QuantityError, match="out of range") as info:
        parse_quantity(text, resource)
    assert repr(text) in str(info.value)


@pytest.mark.parametrize("value", [INT64_MAX + 1, INT64_MIN - 1, 10**30])
def test_int_out_of_range(value):
    with pytest.raises(QuantityError, match="out of range") as info:
        parse_quantity(value, "memory", field="f")
    assert repr(value) in str(info.value)


# --- pathological inputs stay cheap -----------------------------------------

@pytest.mark.parametrize("text,resource,expected", [
    ("1e999999999", "memory", None),
    ("1e-999999999", "memory", 1),
    ("0e999999999", "memory", 0),
    ("1e" + "9" * 100_000, "cpu", None),
    ("1e-" + "9" * 100_000, "cpu", 1),
    ("0." + "0" * 100_000 + "1", "memory", 1),
    ("1." + "0" * 100_000 + "1", "memory", 2),
    ("0." + "9" * 100_000 + "Ki", "memory", 1024),
    ("0" * 100_000 + "5", "memory", 5),
    ("5" + "0" * 100_000 + "e-100000", "memory", 5),
])
def test_huge_inputs_do_not_blow_up(text, resource, expected):
    # Huge exponents and digit strings must neither build giant integers nor hang.
    if expected is None:
        with pytest.raises(QuantityError, match="out of range"):
            parse_quantity(text, resource)
    else:
        assert parse_quantity(text, resource) == expected


# --- format_quantity ---------------------------------------------------------

FORMAT_TABLE = [
    (0, "cpu", "0"),
    (500, "cpu", "500m"),
    (2000, "cpu", "2"),
    (1500, "cpu", "1500m"),
    (1, "cpu", "1m"),
    (-250, "cpu", "-250m"),
    (0, "memory", "0"),
    (2**30, "memory", "1Gi"),
    (300 * 2**20, "memory", "300Mi"),
    (1025, "memory", "1025"),
    (1024, "memory", "1Ki"),
    (1536, "memory", "1536"),  # 1.5Ki: not a multiple of 1024, so plain bytes
    (2**60, "memory", "1Ei"),
    (2**62, "memory", "4Ei"),
    (2048, "memory", "2Ki"),
    (-(2**20), "memory", "-1Mi"),
    (10 * 2**30, "ephemeral-storage", "10Gi"),
    (2**21, "hugepages-2Mi", "2Mi"),
    (110, "pods", "110"),
    (1024, "pods", "1024"),
    (3, "nvidia.com/gpu", "3"),
    (0, "pods", "0"),
]


@pytest.mark.parametrize("amount,resource,expected", FORMAT_TABLE)
def test_format(amount, resource, expected):
    assert format_quantity(amount, resource) == expected
    assert parse_quantity(expected, resource) == amount


def test_format_largest_suffix_is_ei():
    # Beyond int64, but format_quantity is display only and does not range-check.
    assert format_quantity(2**70, "memory") == "1024Ei"


@pytest.mark.parametrize("amount", [1.5, "1", None, True])
def test_format_rejects_non_integers(amount):
    with pytest.raises(QuantityError):
        format_quantity(amount, "cpu")  # type: ignore[arg-type]


# --- property tests ----------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(n=st.integers(min_value=0, max_value=10**22), suffix=st.sampled_from(sorted(MULTIPLIERS)))
def test_integer_with_suffix_matches_fraction(n, suffix):
    expected = math.ceil(Fraction(n) * MULTIPLIERS[suffix])
    text = f"{n}{suffix}"
    if suffix.endswith("i"):
        expected = min(expected, INT64_MAX)     # BinarySI is capped (spec §13.2)
    if expected > INT64_MAX:
        with pytest.raises(QuantityError, match="out of range"):
            parse_quantity(text, "memory")
    else:
        assert parse_quantity(text, "memory") == expected


@st.composite
def quantity_texts(draw):
    """Random valid quantity strings, with their exact value computed independently."""
    sign = draw(st.sampled_from(["", "+", "-"]))
    whole = draw(st.text("0123456789", min_size=0, max_size=12))
    frac = draw(st.text("0123456789", min_size=0, max_size=12))
    dot = draw(st.booleans())
    if not whole:
        frac = frac or "5"
        dot = True
    number = whole + ("." + frac if dot else "")
    if not dot:
        frac = ""
    value = Fraction(int(whole or "0") * 10 ** len(frac) + int(frac or "0"), 10 ** len(frac))
    kind = draw(st.sampled_from(["suffix", "exponent"]))
    if kind == "suffix":
        suffix = draw(st.sampled_from(sorted(MULTIPLIERS)))
        value *= MULTIPLIERS[suffix]
    else:
        exp = draw(st.integers(min_value=-30, max_value=30))
        letter = draw(st.sampled_from("eE"))
        plus = "+" if exp >= 0 and draw(st.booleans()) else ""
        suffix = f"{letter}{plus}{exp}"
        value *= Fraction(10) ** exp
    if sign == "-":
        value = -value
    return sign + number + suffix, value


@settings(max_examples=500, deadline=None)
@given(case=quantity_texts(), resource=st.sampled_from(["cpu", "memory", "pods"]))
def test_random_quantities_match_reference(case, resource):
    text, value = case
    if text.endswith("i") and abs(value) > INT64_MAX:
        value = INT64_MAX if value > 0 else -INT64_MAX    # BinarySI is capped (spec §13.2)
    expected = reference(value, resource)
    if abs(value) >= 10**40 or not INT64_MIN <= expected <= INT64_MAX:
        with pytest.raises(QuantityError, match="out of range"):
            parse_quantity(text, resource)
    else:
        assert parse_quantity(text, resource) == expected
    if abs(value) < 10**40:
        # The exact value differs from the true one only below 1n, away from zero.
        exact = parse_quantity_exact(text)
        assert exact == Fraction(ceil_away(value * 10**9), 10**9)


@settings(max_examples=300, deadline=None)
@given(x=st.integers(min_value=0, max_value=2**62),
       resource=st.sampled_from(["cpu", "memory", "pods", "nvidia.com/gpu"]))
def test_format_round_trips(x, resource):
    text = format_quantity(x, resource)
    assert parse_quantity(text, resource) == x
    assert parse_quantity(format_quantity(-x, resource), resource) == -x


@settings(max_examples=200, deadline=None)
@given(j=st.integers(min_value=0, max_value=6), m=st.integers(min_value=1, max_value=2**20))
def test_format_memory_uses_largest_power(j, m):
    x = m * 1024**j
    if x > 2**62:
        return
    text = format_quantity(x, "memory")
    mantissa = int(text.rstrip("KMGTPEi"))
    assert mantissa % 1024 != 0
    assert parse_quantity(text, "memory") == x
