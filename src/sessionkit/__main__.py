"""``python -m sessionkit``: the ``sessionkit`` command."""

from sessionkit.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
