"""Findings as series, so rules, Alertmanager and Grafana can use them:

    cachewatch_finding{rule, severity, [keys]} 1
    cachewatch_finding_first_seen_timestamp_seconds{rule, severity, [keys]}
    cachewatch_finding_last_seen_timestamp_seconds{rule, severity, [keys]}
    cachewatch_doctor_last_evaluation_timestamp_seconds

The last is on every target once the doctor has evaluated its rules: without it a view
cannot tell "no finding stands" from "the doctor has not looked yet".

They are added to their target's own polls (like the hot-key top-K series), so they carry
the target's labels (`instance`, `cluster`, user labels...), show on `/metrics`, and end with
a stale marker at the first poll after the finding clears.
"""

from __future__ import annotations

from collections.abc import Iterable

from monitor.doctor.model import Finding
from monitor.model import MetricType, SampleBatch

__all__ = [
    "FINDING_METRICS",
    "add_finding_samples",
    "FINDING",
    "FIRST_SEEN",
    "LAST_SEEN",
    "EVALUATED",
]

FINDING = "cachewatch_finding"
FIRST_SEEN = "cachewatch_finding_first_seen_timestamp_seconds"
LAST_SEEN = "cachewatch_finding_last_seen_timestamp_seconds"
EVALUATED = "cachewatch_doctor_last_evaluation_timestamp_seconds"

FINDING_METRICS: dict[str, tuple[MetricType, str]] = {
    FINDING: (MetricType.GAUGE, "1 while a doctor finding stands (rule, severity, its keys)"),
    FIRST_SEEN: (MetricType.GAUGE, "When the standing doctor finding was first seen"),
    LAST_SEEN: (MetricType.GAUGE, "When the doctor last saw the finding hold"),
    EVALUATED: (MetricType.GAUGE, "When the doctor last evaluated its rules over the store"),
}


def add_finding_samples(
    findings: Iterable[Finding], batch: SampleBatch, evaluated_ms: int | None = None
) -> None:
    """One target's standing findings into its poll's batch, and when the doctor last
    evaluated (None: not yet)."""
    if evaluated_ms is not None:
        batch.add(EVALUATED, evaluated_ms / 1000, ())
    for finding in findings:
        labels = tuple(
            sorted(
                {
                    "rule": finding.rule,
                    "severity": finding.severity.value,
                    **{k: v for k, v in finding.labels.items() if k != "instance"},
                }.items()
            )
        )
        batch.add(FINDING, 1.0, labels)
        batch.add(FIRST_SEEN, finding.first_seen_ms / 1000, labels)
        batch.add(LAST_SEEN, finding.last_seen_ms / 1000, labels)
    for name, (kind, help_text) in FINDING_METRICS.items():
        batch.describe(name, kind, help_text)
