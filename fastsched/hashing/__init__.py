"""Consistent hashing: spread keys over nodes so that a change of nodes moves few keys.

* :class:`HashRing` -- the Karger ring with virtual nodes, bit-exact with
  uhashring's ketama mode (``mode="ketama"``, the default), uhashring's default
  ring (``"uhashring"``) and the libketama C library (``"libketama"``), plus a
  ``"fast"`` ring of 64-bit MurmurHash3 points. Lookups are vectorized; replicas
  walk the ring; :meth:`HashRing.assign` adds bounded loads (Mirrokni, Thorup and
  Zadimoghaddam).
* :func:`jump_hash` -- Lamping and Veach's jump consistent hash, bit-exact with the
  ``jump-consistent-hash`` package.
* :class:`Rendezvous` -- highest random weight, weighted by the ``-w / ln(u)`` rule.
* :class:`Maglev` -- Maglev's lookup table (NSDI 2016).

Keys. A key is a ``str``, ``bytes`` or ``int`` (NumPy integers too); anything else
raises :class:`KeyTypeError`. The ketama and uhashring modes hash ``str(key)``
encoded as UTF-8, exactly as uhashring does -- so ``42`` hashes like ``"42"``, and
**``b"abc"`` hashes like the text ``"b'abc'"``**, not like ``"abc"`` (uhashring's
behaviour, kept for compatibility: decode bytes keys first if you mean the text).
The other hashes take a str as UTF-8, bytes as they are and an int as
``str(key)`` -- except :func:`jump_hash`, which uses an int's value modulo 2**64
as the paper does; ``libketama`` also cuts a key at its first NUL byte, as the C
library reads C strings. A ``uint64`` NumPy array is taken as keys that are
already hashed (see :meth:`HashRing.hash_keys` and :func:`fast_hash`).

Weights. Integer weights (the ketama, uhashring and libketama rings) lie in
``[1, 2**63 - 1]``, fractional ones (the fast ring, :class:`Rendezvous`,
:class:`Maglev`) in ``[1e-300, 1e300]``; a ring has at most :data:`MAX_POINTS`
points, and a weight that would give more is refused naming its node. The ketama
formulas floor a share: a node far lighter than the others may get no points
(and no keys), exactly as in uhashring and libketama.

The fast hash is MurmurHash3 x64_128 with seed 0 (the ``mmh3`` package's
``hash64(key, signed=False)``): its first 64-bit half hashes keys and ring points,
both halves give Maglev's offset and skip.

Layout: one module per algorithm -- :mod:`.ring` (:class:`HashRing`),
:mod:`.bounded` (:class:`BoundedLoads`, what :meth:`HashRing.assign` returns),
:mod:`.jump`, :mod:`.rendezvous`, :mod:`.maglev` -- over two shared ones:
:mod:`.keys` (how keys become hashes, :func:`fast_hash`, :class:`KeyTypeError`)
and :mod:`.nodes` (node names and weights, their checks, the base of the
ring-less choosers). Three tiers, as before the split: these Python modules check
every argument and shape the arrays; the Cython kernels ``_kernels/hashring.pyx``
(the ring) and ``_kernels/hashpick.pyx`` (key hashing, jump, rendezvous, Maglev)
trust them; both inline the hash primitives of ``_kernels/hashes.pxd``.
"""

# MAX_BUCKETS and MAX_TABLE_SIZE stay importable from here, as they were from the
# single module, though they were never in __all__.
from .bounded import BoundedLoads
from .jump import MAX_BUCKETS, jump_hash  # noqa: F401
from .keys import MODES, KeyTypeError, fast_hash
from .maglev import MAX_TABLE_SIZE, Maglev, is_prime  # noqa: F401
from .rendezvous import Rendezvous
from .ring import MAX_POINTS, HashRing

__all__ = ["HashRing", "Rendezvous", "Maglev", "BoundedLoads", "KeyTypeError", "jump_hash",
           "fast_hash", "is_prime", "MODES", "MAX_POINTS"]
