"""Findings as plain text for `cachewatch doctor --format table` (no colours, safe to pipe)."""

from __future__ import annotations

import textwrap
import time
from collections.abc import Sequence

from monitor.doctor.model import Finding

__all__ = ["render_findings"]

_WIDTH = 100


def _clock(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000))


def _wrapped(label: str, text: str) -> list[str]:
    return textwrap.wrap(
        text, _WIDTH, initial_indent=f"  {label}: ", subsequent_indent=" " * (len(label) + 4)
    )


def render_finding(finding: Finding) -> str:
    keys = ", ".join(f"{k} {v}" for k, v in finding.labels.items() if k != "instance")
    head = f"{finding.severity.value.upper():<8} {finding.instance}  {finding.title}"
    lines = [head, f"  rule: {finding.rule}" + (f" ({keys})" if keys else "")]
    if finding.detail:
        lines += _wrapped("detail", finding.detail)
    for evidence in finding.evidence:
        lines.append(f"  evidence: {evidence.name} = {evidence.text or 'no data'}")
        lines.append(f"      query: {evidence.query}")
    lines += _wrapped("why", finding.why)
    lines += _wrapped("fix", finding.fix)
    lines.append(
        f"  seen: first {_clock(finding.first_seen_ms)}, last {_clock(finding.last_seen_ms)}"
    )
    return "\n".join(lines)


def render_findings(findings: Sequence[Finding], targets: Sequence[str], rules: int) -> str:
    counts = {
        s: sum(1 for f in findings if f.severity.value == s)
        for s in ("critical", "warning", "info")
    }
    summary = (
        f"{len(targets)} target(s), {rules} rules: {counts['critical']} critical, "
        f"{counts['warning']} warning, {counts['info']} info"
    )
    if not findings:
        return summary + "\nnothing found"
    return summary + "\n\n" + "\n\n".join(render_finding(f) for f in findings)
