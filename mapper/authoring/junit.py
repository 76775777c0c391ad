"""`mapper test --junit FILE`: case results as JUnit XML, one test suite per case file."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable

from mapper.authoring.cases import CaseResult
from mapper.errors import Diagnostic


def junit_xml(results: Iterable[CaseResult], problems: Iterable[Diagnostic] = ()) -> bytes:
    """The JUnit XML of a `mapper test` run; case-file problems are errors of their file."""
    suites: dict[str, list[CaseResult]] = {}
    for result in results:
        suites.setdefault(_suite_name(result), []).append(result)
    broken: dict[str, list[Diagnostic]] = {}
    for diag in problems:
        broken.setdefault(diag.span.path if diag.span else "<paths>", []).append(diag)
    root = ET.Element("testsuites", name="mapper test")
    total = failed = errors = 0
    for name in sorted(set(suites) | set(broken)):
        cases, diags = suites.get(name, []), broken.get(name, [])
        suite = ET.SubElement(root, "testsuite", name=name)
        for res in cases:
            case = ET.SubElement(suite, "testcase", classname=name, name=res.case.title)
            if not res.passed:
                text = "\n\n".join(res.failures)
                failure = ET.SubElement(case, "failure", message=res.failures[0].split("\n")[0])
                failure.text = text
        for diag in diags:
            case = ET.SubElement(suite, "testcase", classname=name, name=f"{diag.code} (case file)")
            error = ET.SubElement(case, "error", message=diag.message, type=diag.code)
            error.text = str(diag)
        n_failed = sum(not r.passed for r in cases)
        suite.set("tests", str(len(cases) + len(diags)))
        suite.set("failures", str(n_failed))
        suite.set("errors", str(len(diags)))
        total += len(cases) + len(diags)
        failed += n_failed
        errors += len(diags)
    root.set("tests", str(total))
    root.set("failures", str(failed))
    root.set("errors", str(errors))
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"


def _suite_name(result: CaseResult) -> str:
    return str(result.case.file)
