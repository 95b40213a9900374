"""``python -m fastsched``: the ``fastsched`` command."""

from .cli import main

raise SystemExit(main())
