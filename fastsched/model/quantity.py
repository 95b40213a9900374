"""Kubernetes resource quantities: parsing to scheduler integers and printing back.

The scheduler keeps every resource amount as one signed 64-bit integer
(spec §1.1): ``cpu`` in millicores, every other resource (memory,
ephemeral-storage, pods, hugepages, extended resources) in bytes or counts.

* :func:`parse_quantity` turns a quantity string (``"500m"``, ``"1.5Gi"``,
  ``"1e3"``), or an amount that is already an integer, into that integer.
* :func:`format_quantity` prints such an integer as a short canonical string.
* :func:`parse_quantity_exact` gives the value of a quantity string as a
  :class:`~fractions.Fraction`, before it is rounded to the scheduler's unit.

Syntax (spec §13.1): an optional sign, then ``digits``, ``digits.``,
``digits.digits`` or ``.digits``, then optionally one suffix: a decimal SI suffix
``n u m k M G T P E`` (10^-9 … 10^18), a binary SI suffix ``Ki Mi Gi Ti Pi Ei``
(2^10 … 2^60), or a decimal exponent ``e``/``E`` with an optional sign and digits.
``1E`` alone means exa (10^18). No whitespace is allowed anywhere.

Value rules (spec §13.2): the value is the exact decimal ``number × multiplier``.
Kubernetes keeps at most nine fractional digits (a precision of 1n = 10^-9) and
rounds anything finer *up, away from zero*; the integer accessors round the same
way. Rounding away from zero means a negative non-integer goes further negative:
``"-1.5"`` memory is ``-2`` bytes, ``"-1n"`` cpu is ``-1`` millicore.

Range (spec §13.2): a value with a binary suffix whose magnitude exceeds 2^63 − 1 is
clamped to ±(2^63 − 1), as ``resource.ParseQuantity`` caps BinarySI values (``"9Ei"``
memory is 9223372036854775807 bytes). Any other result outside int64, including a
clamped value that is still too large once in millicores (``"9Ei"`` cpu), is
rejected rather than wrapped, where Go's integer accessors would overflow silently.

All arithmetic is on Python integers; no floats are involved, and no input, not
even ``"1e999999999"``, makes the parser build a huge number.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from functools import lru_cache
from numbers import Integral

from ..errors import QuantityError

__all__ = ["parse_quantity", "parse_quantity_exact", "format_quantity"]

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1

# sign, integer digits, fraction digits (after "digits."), fraction digits (after
# a bare "."), suffix, exponent. ASCII digits only: \d would admit other scripts.
_QUANTITY_RE = re.compile(
    r"([+-]?)(?:([0-9]+)(?:\.([0-9]*))?|\.([0-9]+))"
    r"(?:([numkMGTPE]|[KMGTPE]i)|[eE]([+-]?[0-9]+))?"
)

# suffix -> (power of ten, power of two) of its multiplier
_SUFFIXES: dict[str, tuple[int, int]] = {
    "": (0, 0),
    "n": (-9, 0), "u": (-6, 0), "m": (-3, 0),
    "k": (3, 0), "M": (6, 0), "G": (9, 0), "T": (12, 0), "P": (15, 0), "E": (18, 0),
    "Ki": (0, 10), "Mi": (0, 20), "Gi": (0, 30), "Ti": (0, 40), "Pi": (0, 50), "Ei": (0, 60),
}

_NANO = 10**9
# ParseQuantity caps BinarySI values at 2^63 - 1 (its maxAllowed), kept here in nanos.
_BINARY_CAP_NANOS = INT64_MAX * _NANO
# parse_quantity_exact refuses values of this magnitude or more. int64 millicores
# or bytes stay below 10^19, so nothing representable is lost, and the bound keeps
# every intermediate integer small whatever exponent the text carries.
_MAX_DECIMAL_DIGITS = 40
_MAX_NANOS = 10 ** (_MAX_DECIMAL_DIGITS + 9)
# Exponents longer than this are clamped; 10^15 is already far past both bounds
# (too large to be in range, too small to be more than 1n).
_MAX_EXPONENT_DIGITS = 15

_SYNTAX_HINT = (
    "expected a number with an optional suffix "
    "(n u m k M G T P E Ki Mi Gi Ti Pi Ei) or exponent"
)

# Resources printed with binary suffixes by format_quantity.
_BINARY_RESOURCES = frozenset({"memory", "ephemeral-storage"})
_BINARY_PREFIXES = ("Ki", "Mi", "Gi", "Ti", "Pi", "Ei")


class _Invalid(Exception):
    """Internal: a parse failure, turned into a QuantityError carrying ``field``.

    Kept apart from QuantityError so the cached string parser does not need to
    know the field of each caller.
    """


class _TooLarge(_Invalid):
    """Internal: a syntactically valid quantity whose magnitude is 10^40 or more."""


def _is_byte_resource(resource: str) -> bool:
    return resource in _BINARY_RESOURCES or resource.startswith("hugepages-")


def _unit_name(resource: str) -> str:
    if resource == "cpu":
        return "millicores"
    return "bytes" if _is_byte_resource(resource) else "units"


def _nanos(text: str) -> int:
    """The value of ``text`` as an integer number of 1n (10^-9) steps.

    Finer precision is rounded up, away from zero, exactly as Kubernetes does
    when it parses a quantity; a binary-suffix magnitude above 2^63 - 1 is capped
    there. Raises _Invalid on bad syntax or, without a binary suffix, on
    |value| >= 10^40.
    """
    m = _QUANTITY_RE.fullmatch(text)
    if m is None:
        raise _Invalid(f"invalid quantity {text!r}: {_SYNTAX_HINT}")
    sign, whole, frac_a, frac_b, suffix, exponent = m.groups()
    frac = frac_a if frac_a is not None else (frac_b or "")
    digits = (whole or "") + frac
    dec_exp, bin_exp = _SUFFIXES[suffix or ""]
    dec_exp -= len(frac)
    if exponent is not None:
        exp_sign = -1 if exponent[0] == "-" else 1
        exp_digits = exponent.lstrip("+-").lstrip("0") or "0"
        if len(exp_digits) > _MAX_EXPONENT_DIGITS:
            dec_exp += exp_sign * 10**_MAX_EXPONENT_DIGITS
        else:
            dec_exp += exp_sign * int(exp_digits)

    # The value is int(digits) * 10^dec_exp * 2^bin_exp. Normalise the digits
    # so that they start and end with a non-zero digit.
    digits = digits.lstrip("0")
    if not digits:
        return 0
    significant = digits.rstrip("0")
    dec_exp += len(digits) - len(significant)
    digits = significant
    capped = -_BINARY_CAP_NANOS if sign == "-" else _BINARY_CAP_NANOS
    if len(digits) - 1 + dec_exp >= _MAX_DECIMAL_DIGITS:
        if bin_exp:
            return capped   # far beyond the cap: no need to build the number
        raise _TooLarge(f"quantity {text!r} is out of range: its magnitude is "
                       f"10^{_MAX_DECIMAL_DIGITS} or more")

    # With d = int(digits) * 10^dec_exp, let x = floor(d * 10^(9 + bin_exp));
    # `inexact` says whether non-zero digits were cut off to get it. The value
    # in nanos is then (x + r) * 2^bin_exp / 10^bin_exp, 0 <= r < 1, r > 0 iff
    # inexact.
    # 2^bin_exp divides 10^bin_exp, so x * 2^bin_exp and every multiple of
    # 10^bin_exp are multiples of 2^bin_exp: adding r * 2^bin_exp < 2^bin_exp
    # can never reach the next multiple. Hence "floor, plus one if anything
    # was inexact or left over" is the exact ceiling, with all numbers small.
    shift = dec_exp + 9 + bin_exp
    if shift >= 0:
        x = int(digits) * 10**shift
        inexact = False
    else:
        keep = len(digits) + shift
        x = int(digits[:keep]) if keep > 0 else 0
        inexact = True
    scaled = x << bin_exp
    step = 10**bin_exp
    nanos, rem = divmod(scaled, step)
    if inexact or rem:
        nanos += 1
    if bin_exp and nanos > _BINARY_CAP_NANOS:
        return capped
    if nanos >= _MAX_NANOS:
        raise _TooLarge(f"quantity {text!r} is out of range: its magnitude is "
                       f"10^{_MAX_DECIMAL_DIGITS} or more")
    return -nanos if sign == "-" else nanos


def _ceil_away(nanos: int, per_unit: int) -> int:
    """nanos / per_unit rounded up in magnitude (away from zero)."""
    units = -(-abs(nanos) // per_unit)
    return -units if nanos < 0 else units


def _out_of_range(value: object, resource: str, amount: object = None) -> _Invalid:
    got = f" ({amount} {_unit_name(resource)})" if amount is not None else ""
    return _Invalid(
        f"quantity {value!r} is out of range for {resource}{got}: the scheduler "
        f"needs {_unit_name(resource)} within int64 [{INT64_MIN}, {INT64_MAX}]"
    )


@lru_cache(maxsize=4096)
def _parse_string(text: str, resource: str) -> int:
    # Cached: manifests repeat the same few strings ("100m", "128Mi") many times.
    # Failures raise and are not cached; only bad input pays to re-parse.
    try:
        nanos = _nanos(text)
    except _TooLarge:
        raise _out_of_range(text, resource) from None
    amount = _ceil_away(nanos, 10**6 if resource == "cpu" else _NANO)
    if not INT64_MIN <= amount <= INT64_MAX:
        raise _out_of_range(text, resource, amount)
    return amount


def parse_quantity_exact(text: str) -> Fraction:
    """Return the value of the quantity string ``text`` as a Fraction.

    This is the value Kubernetes stores for the quantity: the exact decimal
    ``number × multiplier`` (``"100.035Ki"`` → ``102435.84``). Like Kubernetes,
    it keeps at most nine fractional digits: anything finer than 1n is rounded
    up, away from zero (``"3.001n"`` → ``4/10**9``, ``"-1e-20"`` → ``-1/10**9``).
    That step never changes what :func:`parse_quantity` returns, since
    millicores and whole units are multiples of 1n.

    A binary-suffix value beyond 2^63 − 1 in magnitude is capped there, as
    Kubernetes does (``"9Ei"`` → ``2**63 - 1``).

    Raises :class:`~fastsched.errors.QuantityError` (a ``ValueError``) if
    ``text`` is not a string in the syntax of spec §13.1 or if the magnitude of
    any other value is 10^40 or more (far beyond any int64 amount).
    """
    if not isinstance(text, str):
        raise QuantityError(
            f"invalid quantity {text!r}: expected a string, got {type(text).__name__}",
            text=text,
        )
    try:
        return Fraction(_nanos(text), _NANO)
    except _Invalid as exc:
        raise QuantityError(str(exc), text=text) from None


def parse_quantity(value: object, resource: str = "cpu", *, field: str = "") -> int:
    """Convert a resource quantity to the integer the scheduler uses.

    ``resource`` picks the unit: for ``"cpu"`` the result is millicores,
    ``ceil(value × 1000)``; for every other resource it is ``ceil(value)``
    (bytes for memory and storage, counts for pods and extended resources).

    ``value`` may be

    * a ``str`` in Kubernetes quantity syntax (spec §13.1), e.g. ``"500m"``,
      ``"1.5Gi"``, ``"1e3"``, ``".5"``, ``"-0"``. A non-integer result is rounded
      up *away from zero*, as Kubernetes does: ``"100m"`` memory → ``1``,
      ``"1n"`` cpu → ``1``, ``"-1.5"`` memory → ``-2``;
    * an ``int`` (any ``numbers.Integral`` except ``bool``): taken as already
      converted (millicores for cpu, bytes/counts otherwise) and returned as is;
    * a ``float`` that is finite and whole (``2.0``), likewise already converted.
      Fractional floats are refused; write them as strings such as ``'500m'``.

    The result must fit in int64 ``[-2**63, 2**63 - 1]``.

    Raises :class:`~fastsched.errors.QuantityError` (a ``ValueError``, also for
    values of the wrong type) whose message quotes ``value`` with ``repr()``;
    when ``field`` is given the error carries it and its message starts with
    ``"<field>: "``.
    """
    try:
        if type(value) is str:
            return _parse_string(value, resource)
        if type(value) is int and INT64_MIN <= value <= INT64_MAX:
            return value
        if isinstance(value, str):
            return _parse_string(value, resource)
        if isinstance(value, bool):
            raise _Invalid(
                f"invalid quantity {value!r}: expected a quantity string such as "
                f"'500m' or '1Gi' or an integer, got bool"
            )
        if isinstance(value, Integral):
            amount = int(value)
            if not INT64_MIN <= amount <= INT64_MAX:
                raise _out_of_range(value, resource)
            return amount
        if isinstance(value, float):
            if not math.isfinite(value) or not value.is_integer():
                raise _Invalid(
                    f"invalid quantity {value!r}: a float must be a whole number of "
                    f"{_unit_name(resource)} for {resource}; write other amounts as a "
                    f"string such as '500m' or '1.5Gi'"
                )
            amount = int(value)
            if not INT64_MIN <= amount <= INT64_MAX:
                raise _out_of_range(value, resource)
            return amount
        raise _Invalid(
            f"invalid quantity {value!r}: expected a quantity string such as "
            f"'500m' or '1Gi' or an integer, got {type(value).__name__}"
        )
    except _Invalid as exc:
        raise QuantityError(str(exc), field, value) from None


def format_quantity(amount: int, resource: str = "cpu") -> str:
    """Print a scheduler integer as a short Kubernetes quantity string.

    The inverse of :func:`parse_quantity` for display:
    ``parse_quantity(format_quantity(x, r), r) == x``.

    * ``cpu`` (millicores): whole cores when divisible by 1000, else millicores:
      ``500`` → ``"500m"``, ``2000`` → ``"2"``, ``1500`` → ``"1500m"``.
    * ``memory``, ``ephemeral-storage``, ``hugepages-*`` (bytes): the largest
      binary suffix whose power of 1024 divides the amount: ``2**30`` → ``"1Gi"``,
      ``314572800`` → ``"300Mi"``, ``1025`` → ``"1025"``.
    * anything else (counts): the plain decimal integer, ``"110"``.

    Zero prints ``"0"``. Raises :class:`~fastsched.errors.QuantityError` if
    ``amount`` is not an integer.
    """
    if isinstance(amount, bool) or not isinstance(amount, Integral):
        raise QuantityError(
            f"cannot format {amount!r}: expected an integer amount, "
            f"got {type(amount).__name__}",
            text=amount,
        )
    amount = int(amount)
    if amount == 0:
        return "0"
    if resource == "cpu":
        cores, millis = divmod(amount, 1000)
        return str(cores) if millis == 0 else f"{amount}m"
    if _is_byte_resource(resource):
        mantissa, suffix = amount, ""
        for prefix in _BINARY_PREFIXES:
            if mantissa % 1024:
                break
            mantissa //= 1024
            suffix = prefix
        return f"{mantissa}{suffix}"
    return str(amount)
