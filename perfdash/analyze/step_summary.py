"""The run's verdict on the CI job's own page: GitHub Actions shows the Markdown a step appends to
the file named by `GITHUB_STEP_SUMMARY`, so a reader sees what failed without downloading the
artifacts.

Several steps (and several perfdash runs in one step) write to the same file, so it is only ever
appended to. The text passes through the run's redaction first: a job page is read by everyone who
can read the repository, and it lasts longer than the run's secrets stay secret.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from perfdash.analyze.report_cells import headline, run_line, shown_value, table_cell
from perfdash.diagnose.render import diagnosis_headlines_markdown
from perfdash.secret import Secret, redact_command

STEP_SUMMARY_VAR = "GITHUB_STEP_SUMMARY"
# A check that did not pass and is why the run is not green: failed, or could not be measured.
_NOT_GREEN = {"fail": "❌ fail", "not measured": "❔ not measured"}


def step_summary_markdown(summary: Mapping[str, Any], run_dir: Path) -> str:
    """The verdict, the checks that failed, the problems, the diagnosis' first findings and where
    the run's files are: the rest is in the run directory's summary.md."""
    lines = [f"## {headline(dict(summary))}", "", run_line(dict(summary)), ""]
    checks = [c for c in summary.get("checks") or [] if isinstance(c, Mapping)]
    failed = [c for c in checks if c.get("status") in _NOT_GREEN]
    if failed:
        lines += ["### Checks that did not pass", "",
                  "| status | check | value | threshold | detail |", "|---|---|---:|---|---|"]
        lines += ["| " + " | ".join(table_cell(x) for x in (
            _NOT_GREEN[str(c.get("status"))], c.get("name", c.get("id", "?")), shown_value(dict(c)),
            c.get("threshold") or "—")) + f" | {table_cell(c.get('detail') or '', 160)} |" for c in failed]
        lines.append("")
    problems = [p for p in summary.get("problems") or [] if isinstance(p, Mapping)]
    if problems:
        lines += ["### Problems", ""]
        # one line each: a tool's multi-line message must not start headings of its own on the page
        lines += [f"- {_line(p.get('what', ''))}" + (f" — fix: {_line(p['fix'])}" if p.get("fix") else "")
                  for p in problems]
        lines.append("")
    if summary.get("diagnosis") is not None:
        lines += diagnosis_headlines_markdown(summary.get("diagnosis"))
    lines += [f"Run directory: `{_near(run_dir)}` (summary.md, junit.xml and every artifact)", ""]
    return "\n".join(lines) + "\n"


def _line(text: object) -> str:
    return " ".join(str(text).split())


def _near(run_dir: Path) -> Path:
    """The run directory as the job's checkout names it (`results/perf/...`, the artifact's path)
    when it is inside the working directory, else in full."""
    try:
        return run_dir.resolve().relative_to(Path.cwd().resolve())
    except (OSError, ValueError):
        return run_dir


def append_step_summary(summary: Mapping[str, Any], run_dir: Path, secrets: Sequence[Secret] = (),
                        environ: Mapping[str, str] | None = None) -> str | None:
    """Append the run to the file `GITHUB_STEP_SUMMARY` names, when it is set.

    Returns a warning sentence when the file cannot be written, None otherwise: the verdict and the
    exit code are the run's, and a CI page that cannot be written must not change them."""
    target = (os.environ if environ is None else environ).get(STEP_SUMMARY_VAR, "").strip()
    if not target:
        return None
    # The blank line first: an earlier step's last line without its newline must not swallow the heading.
    text = "\n" + redact_command(step_summary_markdown(summary, run_dir), list(secrets))
    try:
        with open(target, "a", encoding="utf-8") as out:
            out.write(text)
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        return (f"cannot append the verdict to {STEP_SUMMARY_VAR} ({target}: {why}); point it at a "
                "writable file or unset it.")
    return None
