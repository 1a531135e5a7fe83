"""``python -m sessionkit``: the ``sessionkit`` command."""

from sessionkit.cli import main

raise SystemExit(main())
