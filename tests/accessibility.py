"""axe-core in the browser tests: `assert_no_axe_violations(page)` runs axe-core over the page
as it is now, with axe's default rules (WCAG 2 A and AA, and best practices), and fails with
each violation's rule, help text and the nodes it found.

axe-core's script comes from the PyPI package axe-playwright-python (a test extra), which
ships it: nothing is downloaded at run time and no browser of Playwright's own is needed. The
run reports the axe-core version it used.
"""

from __future__ import annotations

MAX_NODES = 8  # per rule, in a failure's report
MAX_HTML = 160


def axe_results(page) -> dict:
    """axe-core's raw results (`violations` only) for `page`, a Playwright sync page."""
    from axe_playwright_python.sync_playwright import Axe

    return Axe().run(page, options={"resultTypes": ["violations"]}).response


def describe_violations(results: dict) -> str:
    violations = results["violations"]
    engine = results.get("testEngine", {})
    lines = [
        f"axe-core {engine.get('version', '?')} found {len(violations)} rule(s) violated "
        f"on {results.get('url', '?')}:"
    ]
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation.get('impact') or 'no impact'}): "
            f"{violation['help']} <{violation['helpUrl']}>"
        )
        nodes = violation["nodes"]
        for node in nodes[:MAX_NODES]:
            target = " ".join(str(part) for part in node["target"])
            html = " ".join(node.get("html", "").split())[:MAX_HTML]
            lines.append(f"    {target}: {html}")
            summary = node.get("failureSummary") or ""
            lines.extend(f"      {line.strip()}" for line in summary.splitlines() if line.strip())
        if len(nodes) > MAX_NODES:
            lines.append(f"    ...and {len(nodes) - MAX_NODES} more")
    return "\n".join(lines)


def assert_no_axe_violations(page, *, label: str = "") -> None:
    """Fail, listing every violation, unless axe-core finds none on `page`."""
    results = axe_results(page)
    if results["violations"]:
        prefix = f"{label}: " if label else ""
        raise AssertionError(prefix + describe_violations(results))
