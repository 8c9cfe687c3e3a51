"""``python -m tokbytes``: the same as the ``tokbytes`` console script."""

from tokbytes.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
