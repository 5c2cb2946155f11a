"""junit.xml: one test case per check, so a CI test view lists every threshold a run judged.

A writer of its own because XML has rules Markdown has not (no control characters, counts in the
suite's attributes) and CI systems read it strictly.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from perfdash.analyze.report_cells import checks_of, profile_name, shown_value

_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: object) -> str:
    """XML 1.0 cannot carry control characters (a tool's colour codes, say); drop them."""
    return _XML_ILLEGAL.sub("", str(text))


def junit_xml(summary: dict[str, Any]) -> str:
    """One test suite, one test case per check, so a CI test view shows each threshold.

    A check that was not measured is an error, and an interrupted run, or an incomplete one without
    such a check, gets an error case of its own: a run that proved nothing must never show green.
    """
    checks = checks_of(summary)
    suite = ET.Element("testsuite", name=f"perfdash {profile_name(summary)}")
    props = ET.SubElement(suite, "properties")
    for key in ("run_id", "status", "environment", "profile"):
        ET.SubElement(props, "property", name=key, value=_xml_text(summary.get(key, "")))
    failures = errors = 0
    for c in checks:
        tool = str(c.get("id", "perfdash")).split(".", 1)[0]
        case = ET.SubElement(suite, "testcase", classname=f"perfdash.{tool}",
                             name=_xml_text(c.get("name", c.get("id", "?"))), time="0")
        shown = shown_value(c)
        threshold = c.get("threshold") or "no threshold"
        status, detail = c.get("status"), str(c.get("detail") or "")
        about = f"{shown} vs {threshold} ({c.get('source') or 'unknown source'})"
        if status == "fail":
            failures += 1
            failure = ET.SubElement(case, "failure", message=_xml_text(f"{shown} vs {threshold}"))
            failure.text = _xml_text("; ".join(x for x in (detail, f"threshold from {c.get('source')}")
                                               if x))
        elif status == "not measured":
            errors += 1
            ET.SubElement(case, "error", message=_xml_text(f"not measured: {detail or 'no reason'}"))
        elif status == "warn":
            out = ET.SubElement(case, "system-out")
            out.text = _xml_text(f"warning (does not fail the run): {about}" +
                                 (f"; {detail}" if detail else ""))
        else:
            ET.SubElement(case, "system-out").text = _xml_text(about)
    run_status = summary.get("status")
    if run_status == "interrupted" or (
            run_status not in ("pass", "fail")
            and not any(c.get("status") == "not measured" for c in checks)):
        errors += 1
        case = ET.SubElement(suite, "testcase", classname="perfdash.run", name="run completed", time="0")
        problems = "; ".join(str(p.get("what", "")) for p in summary.get("problems") or []
                             if isinstance(p, dict))
        ET.SubElement(case, "error", message=_xml_text(
            f"the run was {run_status}" + (f": {problems}" if problems else "")))
    suite.set("tests", str(len(suite.findall("testcase"))))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", "0")
    suite.set("time", str(summary.get("duration_s") or 0))
    if summary.get("started_at"):
        suite.set("timestamp", _xml_text(summary["started_at"]))
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
