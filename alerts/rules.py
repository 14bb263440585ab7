"""Rule files in Prometheus's format, loaded into frozen rule groups or precise problems.

The YAML is walked as a node tree (not loaded into dicts) so every problem carries the file,
line and column of the key or value at fault, the way `promtool check rules` reports them,
and so duplicate keys — which a dict load silently collapses — are caught.
"""

from __future__ import annotations

import glob
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from alerts.exprcheck import ExprError, ExprValidator, validate_expr
from alerts.templating import Template, TemplateError, compile_template
from monitor.durations import parse_duration

__all__ = [
    "SourcePos",
    "AlertingRule",
    "RecordingRule",
    "Rule",
    "RuleGroup",
    "RuleProblem",
    "RuleLoadError",
    "parse_rule_file",
    "load_rule_files",
    "check_rule_files",
    "default_rule_files",
]

_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_GROUP_KEYS = {"name", "interval", "rules"}
_UNSUPPORTED_GROUP_KEYS = {"limit", "query_offset", "source_tenants", "partial_response_strategy"}
_ALERT_KEYS = {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
_RECORD_KEYS = {"record", "expr", "labels"}


@dataclass(frozen=True, slots=True)
class SourcePos:
    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class AlertingRule:
    name: str
    expr: str
    for_ms: int
    keep_firing_for_ms: int
    labels: tuple[tuple[str, Template], ...]
    annotations: tuple[tuple[str, Template], ...]
    pos: SourcePos


@dataclass(frozen=True, slots=True)
class RecordingRule:
    record: str
    expr: str
    labels: tuple[tuple[str, str], ...]
    pos: SourcePos

    @property
    def name(self) -> str:
        return self.record


Rule = AlertingRule | RecordingRule


@dataclass(frozen=True, slots=True)
class RuleGroup:
    name: str
    file: str
    interval_ms: int
    rules: tuple[Rule, ...]

    @property
    def key(self) -> str:
        """Unique per loaded set: Prometheus keys groups by file and name too."""
        return f"{self.file};{self.name}"


@dataclass(frozen=True, slots=True)
class RuleProblem:
    pos: SourcePos
    message: str

    def __str__(self) -> str:
        return f"{self.pos}: {self.message}"


class RuleLoadError(ValueError):
    def __init__(self, problems: list[RuleProblem]):
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))


class _Walker:
    def __init__(self, file: str, validate: ExprValidator):
        self.file = file
        self.validate = validate
        self.problems: list[RuleProblem] = []

    def pos(self, node: yaml.Node, offset_line: int = 0, column: int | None = None) -> SourcePos:
        mark = node.start_mark
        return SourcePos(
            self.file, mark.line + 1 + offset_line, (mark.column if column is None else column) + 1
        )

    def error(self, node: yaml.Node, message: str) -> None:
        self.problems.append(RuleProblem(self.pos(node), message))

    def mapping(self, node: yaml.Node, what: str) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            self.error(node, f"{what} must be a mapping")
            return {}
        entries: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else str(key)
            if name in entries:
                self.error(key, f"duplicate key {name!r} in {what}")
                continue
            entries[name] = (key, value)
        return entries

    def string(self, node: yaml.Node, what: str) -> str | None:
        if not isinstance(node, yaml.ScalarNode) or node.tag == "tag:yaml.org,2002:null":
            self.error(node, f"{what} must be a string")
            return None
        return str(node.value)

    def duration_ms(self, node: yaml.Node, what: str) -> int | None:
        text = self.string(node, what)
        if text is None:
            return None
        try:
            return round(parse_duration(text) * 1000)
        except ValueError as exc:
            self.error(node, f"{what}: {exc}")
            return None

    def labels(self, node: yaml.Node, what: str) -> list[tuple[str, yaml.Node, str]]:
        out = []
        for name, (key, value) in self.mapping(node, what).items():
            if not _LABEL_NAME.match(name) or name.startswith("__"):
                self.error(key, f"invalid {what} name {name!r}")
                continue
            text = self.string(value, f"{what} {name!r}")
            if text is not None:
                out.append((name, value, text))
        return out

    def template(self, node: yaml.Node, text: str, what: str) -> Template | None:
        try:
            return compile_template(text)
        except TemplateError as exc:
            self.problems.append(
                RuleProblem(self.offset_pos(node, exc.offset), f"{what}: template: {exc.message}")
            )
            return None

    def expr(self, node: yaml.Node) -> str | None:
        text = self.string(node, "expr")
        if text is None:
            return None
        try:
            self.validate(text)
        except ExprError as exc:
            pos = self.offset_pos(node, exc.offset or 0)
            self.problems.append(RuleProblem(pos, f"could not parse expression: {exc.message}"))
            return None
        return text

    def offset_pos(self, node: yaml.Node, offset: int) -> SourcePos:
        """File position of character `offset` of a scalar's value."""
        assert isinstance(node, yaml.ScalarNode)
        value = str(node.value)
        before = value[:offset]
        line_index = before.count("\n")
        column_in_line = len(before) - (before.rfind("\n") + 1)
        if node.style in ("|", ">"):
            raw_lines = node.start_mark.buffer.splitlines() if node.start_mark.buffer else []
            first = node.start_mark.line + 1
            indent = 0
            if first < len(raw_lines):
                line = raw_lines[first]
                indent = len(line) - len(line.lstrip(" "))
            return self.pos(node, 1 + line_index, indent + column_in_line)
        quote = 1 if node.style in ("'", '"') else 0
        if line_index == 0:
            return self.pos(node, 0, node.start_mark.column + quote + column_in_line)
        return self.pos(node, line_index, column_in_line)


def parse_rule_file(
    text: str,
    file: str,
    default_interval_ms: int = 60_000,
    validate: ExprValidator = validate_expr,
) -> tuple[list[RuleGroup], list[RuleProblem]]:
    walker = _Walker(file, validate)
    try:
        root = yaml.compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = " ".join(p for p in (exc.context, exc.problem) if p)
        return [], [RuleProblem(SourcePos(file, line, column), f"YAML: {what}")]
    except yaml.YAMLError as exc:
        return [], [RuleProblem(SourcePos(file, 1, 1), f"YAML: {exc}")]
    if root is None:
        return [], []
    top = walker.mapping(root, "rule file")
    for name, (key, _) in top.items():
        if name != "groups":
            walker.error(key, f"unknown field {name!r} (a rule file has only 'groups')")
    groups: list[RuleGroup] = []
    if "groups" in top:
        groups_node = top["groups"][1]
        if not isinstance(groups_node, yaml.SequenceNode):
            walker.error(groups_node, "groups must be a list")
        else:
            seen: set[str] = set()
            for group_node in groups_node.value:
                group = _group(walker, group_node, default_interval_ms, seen)
                if group is not None:
                    groups.append(group)
    return groups, walker.problems


def _group(
    walker: _Walker, node: yaml.Node, default_interval_ms: int, seen: set[str]
) -> RuleGroup | None:
    fields = walker.mapping(node, "group")
    for name, (key, _) in fields.items():
        if name in _UNSUPPORTED_GROUP_KEYS:
            walker.error(key, f"group field {name!r} is not supported by cachewatch")
        elif name not in _GROUP_KEYS:
            walker.error(key, f"unknown group field {name!r}")
    if "name" not in fields:
        walker.error(node, "group has no name")
        return None
    group_name = walker.string(fields["name"][1], "group name")
    if not group_name:
        if group_name == "":
            walker.error(fields["name"][1], "group name must not be empty")
        return None
    name = group_name
    if name in seen:
        walker.error(fields["name"][1], f"group name {name!r} is repeated in the same file")
    seen.add(name)
    interval_ms: int | None = default_interval_ms
    if "interval" in fields:
        interval_ms = walker.duration_ms(fields["interval"][1], "interval")
        if interval_ms is not None and interval_ms <= 0:
            walker.error(fields["interval"][1], "interval must be greater than zero")
    rules: list[Rule] = []
    rules_node = fields.get("rules", (None, None))[1]
    if rules_node is not None and not (
        isinstance(rules_node, yaml.ScalarNode) and rules_node.tag == "tag:yaml.org,2002:null"
    ):
        if not isinstance(rules_node, yaml.SequenceNode):
            walker.error(rules_node, "rules must be a list")
        else:
            for rule_node in rules_node.value:
                rule = _rule(walker, rule_node)
                if rule is not None:
                    rules.append(rule)
    if interval_ms is None or interval_ms <= 0:
        return None
    return RuleGroup(name=name, file=walker.file, interval_ms=interval_ms, rules=tuple(rules))


def _rule(walker: _Walker, node: yaml.Node) -> Rule | None:
    fields = walker.mapping(node, "rule")
    if not fields:
        return None
    is_alert, is_record = "alert" in fields, "record" in fields
    if is_alert == is_record:
        walker.error(node, "a rule needs exactly one of 'alert' or 'record'")
        return None
    allowed = _ALERT_KEYS if is_alert else _RECORD_KEYS
    kind = "alerting" if is_alert else "recording"
    for name, (key, _) in fields.items():
        if name not in allowed:
            walker.error(key, f"invalid field {name!r} in {kind} rule")
    problems_before = len(walker.problems)
    head_key, head_value = fields["alert" if is_alert else "record"]
    title = walker.string(head_value, "alert name" if is_alert else "record name")
    if title is not None and not title:
        walker.error(head_value, f"{'alert' if is_alert else 'record'} name must not be empty")
    elif title is not None and not is_alert and not _METRIC_NAME.match(title):
        walker.error(head_value, f"invalid recording rule name {title!r}")
    expr = None
    if "expr" not in fields:
        walker.error(node, "field 'expr' must be set in rule")
    else:
        expr = walker.expr(fields["expr"][1])
    label_nodes = walker.labels(fields["labels"][1], "label") if "labels" in fields else []
    pos = walker.pos(head_key)
    if not is_alert:
        if len(walker.problems) > problems_before or title is None or expr is None:
            return None
        return RecordingRule(title, expr, tuple((k, v) for k, _, v in label_nodes), pos)
    for_ms = keep_ms = 0
    if "for" in fields:
        for_ms = walker.duration_ms(fields["for"][1], "for") or 0
    if "keep_firing_for" in fields:
        keep_ms = walker.duration_ms(fields["keep_firing_for"][1], "keep_firing_for") or 0
    labels = _templates(walker, [(k, n, v) for k, n, v in label_nodes], "label")
    annotation_nodes: list[tuple[str, yaml.Node, str]] = []
    if "annotations" in fields:
        for name, (key, value) in walker.mapping(fields["annotations"][1], "annotations").items():
            if not _LABEL_NAME.match(name):
                walker.error(key, f"invalid annotation name {name!r}")
                continue
            text = walker.string(value, f"annotation {name!r}")
            if text is not None:
                annotation_nodes.append((name, value, text))
    annotations = _templates(walker, annotation_nodes, "annotation")
    if len(walker.problems) > problems_before or title is None or expr is None:
        return None
    return AlertingRule(title, expr, for_ms, keep_ms, labels, annotations, pos)


def _templates(
    walker: _Walker, entries: list[tuple[str, yaml.Node, str]], what: str
) -> tuple[tuple[str, Template], ...]:
    out = []
    for name, node, text in entries:
        template = walker.template(node, text, f"{what} {name!r}")
        if template is not None:
            out.append((name, template))
    return tuple(out)


def _expand_patterns(patterns: Sequence[str], base_dir: Path) -> tuple[list[Path], list[str]]:
    files: list[Path] = []
    missing: list[str] = []
    for pattern in patterns:
        full = pattern if Path(pattern).is_absolute() else str(base_dir / pattern)
        if glob.has_magic(full):
            files.extend(Path(p) for p in sorted(glob.glob(full)))
        elif Path(full).is_file():
            files.append(Path(full))
        else:
            missing.append(full)
    return files, missing


def load_rule_files(
    patterns: Sequence[str],
    base_dir: Path | None = None,
    default_interval_ms: int = 60_000,
    validate: ExprValidator = validate_expr,
) -> list[RuleGroup]:
    """Every group of every file matching `patterns` (globs relative to `base_dir`).

    Raises RuleLoadError with all problems of all files; a literal path that does not exist
    is a problem, a glob that matches nothing is not (as in Prometheus).
    """
    files, missing = _expand_patterns(patterns, base_dir or Path.cwd())
    problems = [RuleProblem(SourcePos(m, 0, 0), "rule file not found") for m in missing]
    groups: list[RuleGroup] = []
    for path in files:
        found, file_problems = _parse_path(path, default_interval_ms, validate)
        groups.extend(found)
        problems.extend(file_problems)
    if problems:
        raise RuleLoadError(problems)
    return groups


def _parse_path(
    path: Path, default_interval_ms: int, validate: ExprValidator
) -> tuple[list[RuleGroup], list[RuleProblem]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [], [RuleProblem(SourcePos(str(path), 0, 0), f"cannot read: {exc}")]
    return parse_rule_file(text, str(path), default_interval_ms, validate)


def check_rule_files(
    paths: Sequence[str | Path],
    validate: ExprValidator = validate_expr,
    report: Callable[[Path, list[RuleGroup], list[RuleProblem]], None] | None = None,
) -> list[RuleProblem]:
    """Validate files as `promtool check rules` does; returns every problem found."""
    problems: list[RuleProblem] = []
    for raw in paths:
        path = Path(raw)
        groups, file_problems = _parse_path(path, 60_000, validate)
        if report is not None:
            report(path, groups, file_problems)
        problems.extend(file_problems)
    return problems


def default_rule_files() -> list[Path]:
    """The rule pack shipped with cachewatch (`alerts/rules/*.yml`)."""
    return sorted((Path(__file__).parent / "rules").glob("*.yml"))
