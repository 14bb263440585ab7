"""Every diagnosis rule, by id: the table the engine, the CLI, the views and the docs read.
A rule is added by appending it to its kind's tuple (`rules_redis.py`,
`rules_memcached.py`); ids are unique (checked at import)."""

from __future__ import annotations

from monitor.doctor.model import Rule
from monitor.doctor.rules_memcached import MEMCACHED_RULES
from monitor.doctor.rules_redis import REDIS_RULES

__all__ = ["RULES", "rule"]

RULES: dict[str, Rule] = {}
for _rule in (*REDIS_RULES, *MEMCACHED_RULES):
    if _rule.id in RULES:
        raise ValueError(f"two doctor rules share the id {_rule.id!r}")
    RULES[_rule.id] = _rule


def rule(rule_id: str) -> Rule | None:
    return RULES.get(rule_id)
