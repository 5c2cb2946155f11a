"""Allows `python -m perfdash`, the same entry point as the `perfdash` console script."""

from perfdash.cli import main

raise SystemExit(main())
