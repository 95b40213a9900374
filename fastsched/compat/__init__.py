"""Drop-in replacements for other libraries' APIs, built on fastsched's kernels.

* :mod:`.uhashring` -- :class:`~.uhashring.HashRing`, uhashring's ``HashRing`` with
  its constructor, methods and key placement: ``from fastsched.compat.uhashring
  import HashRing``.

This package sits above the algorithms it wraps (``fastsched.hashing``) and nothing
in fastsched imports it.
"""
