"""Kept so `perfdash.analyze.checks` still names the unit of a verdict; it lives in `perfdash.check`
because the load-tool packages build checks too and must not depend on the analysis layer."""

from perfdash.check import SEVERITY, Check, fmt_value

__all__ = ["SEVERITY", "Check", "fmt_value"]
