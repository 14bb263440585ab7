"""The doctor: diagnosis rules evaluated over the store (findings with evidence and fixes),
the namespace sampler's runner, and what `cachewatch doctor` and the views read.

    from monitor.doctor import RULES, evaluate, EngineQuerier
    findings = evaluate(EngineQuerier(Engine(store)), now_ms())
"""

from __future__ import annotations

from monitor.doctor.engine import EngineQuerier, Querier, evaluate, evidence_of
from monitor.doctor.model import Evidence, EvidenceValue, Finding, Rule, Severity, Unit
from monitor.doctor.rules import RULES

__all__ = [
    "RULES",
    "evaluate",
    "evidence_of",
    "EngineQuerier",
    "Querier",
    "Evidence",
    "EvidenceValue",
    "Finding",
    "Rule",
    "Severity",
    "Unit",
]
