"""`python -m perfdash.tools.k6.launcher SPEC.json`: the one child the orchestrator starts for k6
split across generators (see perfdash.tools.k6.generators). A module of its own, so running it
does not re-import the module that defines it."""

from __future__ import annotations

import sys

from perfdash.tools.k6.generators import main

if __name__ == "__main__":
    sys.exit(main())
