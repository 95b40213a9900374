"""How a key becomes a hash: the accepted key types, the kernels' hash and
normalisation codes for each ring mode, and :func:`fast_hash`.

Every algorithm of the package hashes its keys through here, so the rules of the
package docstring ("Keys") hold for all of them alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._kernels import hashpick as _pick
from ..errors import KeyTypeError, ValidationError

__all__ = ["KeyTypeError", "fast_hash", "MODES"]

MODES = ("ketama", "uhashring", "libketama", "fast")

_HASH = _pick.HASHES
_NORM = _pick.NORMS


@dataclass(frozen=True)
class _Mode:
    hash: int          # HASH_* code of the kernels
    norm: int          # NORM_* code: how a Python key becomes bytes
    left: bool         # bisect_left (first point >= h) instead of bisect_right
    digests: bool      # ketama layout: 4 points per MD5 digest
    wide: bool         # 128-bit positions (hi, lo)


_MODES = {
    "ketama": _Mode(_HASH["ketama"], _NORM["compat"], False, True, False),
    "uhashring": _Mode(_HASH["md5"], _NORM["compat"], False, False, True),
    "libketama": _Mode(_HASH["ketama"], _NORM["cstring"], True, True, False),
    "fast": _Mode(_HASH["fast"], _NORM["raw"], False, False, False),
}


def _key_input(keys: Any, field: str) -> list | np.ndarray:
    """A list of keys to hash, or a C-contiguous uint64 array of hashed keys."""
    if isinstance(keys, np.ndarray):
        if keys.ndim != 1:
            raise ValidationError(f"expected a 1-D array, got shape {keys.shape}", field)
        if keys.dtype == np.uint64:
            return np.ascontiguousarray(keys)
        if keys.dtype.kind in "USO":
            return keys.tolist()
        raise KeyTypeError(
            f"a {keys.dtype} array is not accepted: pass a uint64 array of keys that are "
            "already hashed (uniform over 64 bits), or a list of str/bytes/int keys to "
            "hash", field)
    if isinstance(keys, list):
        return keys
    if isinstance(keys, (str, bytes, int)) or not isinstance(keys, Iterable):
        raise KeyTypeError("expected a sequence of keys (a list of str/bytes/int or a uint64 "
                           f"array), got {type(keys).__name__}; use get_node for one key",
                           field)
    return list(keys)


def _bad_key(key: Any, field: str, norm: int) -> ValidationError:
    if isinstance(key, str):
        return ValidationError("key cannot be encoded as UTF-8 (a lone surrogate?)", field)
    allowed = "str, bytes or int" if norm != _NORM["int"] else "int, str or bytes"
    return KeyTypeError(f"expected a {allowed} key, got {type(key).__name__}", field)


def _hash_list(keys: list, hash_: int, norm: int, wide: bool, field: str,
               single: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """Hash a list of keys; ``field`` names it in errors (``single``: one key)."""
    hi = np.empty(len(keys), np.uint64)
    lo = np.empty(len(keys), np.uint64) if wide else None
    bad = _pick.hash_keys(keys, hash_, norm, hi, lo)
    if bad >= 0 and isinstance(keys[bad], np.integer):
        # NumPy integers (list(np.arange(n))) are ints too: str() prints them alike.
        keys = [int(k) if isinstance(k, np.integer) else k for k in keys]
        bad = _pick.hash_keys(keys, hash_, norm, hi, lo)
    if bad >= 0:
        raise _bad_key(keys[bad], field if single else f"{field}[{bad}]", norm)
    return hi, lo


def _positions(keys: Any, mode: _Mode, field: str = "keys",
               ) -> tuple[np.ndarray, np.ndarray | None]:
    """Ring positions of ``keys``: (hi, lo); lo is None unless the ring is 128-bit
    and the keys were hashed here."""
    seq = _key_input(keys, field)
    if isinstance(seq, np.ndarray):
        return seq, None
    return _hash_list(seq, mode.hash, mode.norm, mode.wide, field)


def _one_key(key: Any, mode: _Mode) -> tuple[np.ndarray, np.ndarray | None]:
    return _hash_list([key], mode.hash, mode.norm, mode.wide, "key", single=True)



def fast_hash(keys: Any) -> np.ndarray:
    """The fast 64-bit hash of each key (``uint64``), as the ``"fast"`` ring,
    :class:`Rendezvous`, :class:`Maglev` and string keys of :func:`jump_hash` use
    it: MurmurHash3 x64_128 (seed 0), first half, of the key's bytes (str as
    UTF-8, bytes as they are, int as ``str(key)``). Pass the result to any of
    their lookups as pre-hashed keys."""
    seq = _key_input(keys, "keys")
    if isinstance(seq, np.ndarray):
        raise KeyTypeError("keys are already a uint64 array (hashed)", "keys")
    return _hash_list(seq, _HASH["fast"], _NORM["raw"], False, "keys")[0]
