"""The part of Go's text/template that Prometheus alert templates use.

Supported: `{{ $labels.name }}`, `{{ $value }}`, `{{ $externalLabels.name }}` (and their
`.Labels`/`.Value`/`.ExternalLabels` spellings), string and number literals, parentheses,
pipelines (`{{ $value | humanize }}`), whitespace trimming (`{{-` / `-}}`), comments, and the
functions in `FUNCTIONS`. Control flow (`if`, `range`, `with`, `define`, `template`), variable
declarations and the `query` family are not supported and are rejected by name when the rule
file is loaded, so a rule never fails later at evaluation time because of its template.

`Template.expand()` never raises: as in Prometheus, a failure at expansion becomes the text
`<error expanding template: ...>` in the annotation, so one bad value cannot lose the alert.
A missing label expands to the empty string (Prometheus's `missingkey=zero`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from alerts.gofmt import (
    go_float,
    go_sprintf,
    humanize,
    humanize1024,
    humanize_duration,
    humanize_percentage,
)
from monitor.regex import RegexError, searcher

__all__ = ["Template", "TemplateError", "TemplateData", "compile_template", "FUNCTIONS"]


class TemplateError(ValueError):
    """A template that cannot be parsed; `offset` is the character index in the template."""

    def __init__(self, message: str, offset: int):
        super().__init__(message)
        self.message = message
        self.offset = offset


@dataclass(frozen=True, slots=True)
class TemplateData:
    labels: Mapping[str, str]
    value: float
    external_labels: Mapping[str, str]
    external_url: str = ""


class _ExpandError(Exception):
    pass


def _to_float(arg: object) -> float:
    if isinstance(arg, bool):
        raise _ExpandError(f"can't convert bool to float: {arg}")
    if isinstance(arg, int | float):
        return float(arg)
    if isinstance(arg, str):
        try:
            return float(arg)
        except ValueError:
            raise _ExpandError(f"can't convert {arg!r} to float") from None
    raise _ExpandError(f"can't convert {type(arg).__name__} to float")


def _one_number(fn: Callable[[float], str]) -> Callable[..., str]:
    def call(*args: object) -> str:
        if len(args) != 1:
            raise _ExpandError(f"wrong number of args: want 1 got {len(args)}")
        return fn(_to_float(args[0]))

    return call


def _humanize_timestamp(*args: object) -> str:
    import datetime

    if len(args) != 1:
        raise _ExpandError(f"wrong number of args: want 1 got {len(args)}")
    seconds = _to_float(args[0])
    try:
        moment = datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
    except (OverflowError, OSError, ValueError):
        return go_float(seconds)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f").rstrip("0").rstrip(".") + " +0000 UTC"


def _printf(*args: object) -> str:
    if not args or not isinstance(args[0], str):
        raise _ExpandError("printf needs a format string first")
    return go_sprintf(args[0], list(args[1:]))


def _string_fn(fn: Callable[[str], str]) -> Callable[..., str]:
    def call(*args: object) -> str:
        if len(args) != 1:
            raise _ExpandError(f"wrong number of args: want 1 got {len(args)}")
        return fn(_stringify(args[0]))

    return call


def _index(*args: object) -> object:
    if len(args) != 2 or not isinstance(args[0], Mapping):
        raise _ExpandError("index needs a label map and a key")
    return args[0].get(_stringify(args[1]), "")


def _re_replace_all(*args: object) -> str:
    if len(args) != 3:
        raise _ExpandError(f"wrong number of args: want 3 got {len(args)}")
    pattern, replacement, text = (_stringify(a) for a in args)
    go_replacement = re.sub(r"\$\{?(\w+)\}?", r"\\g<\1>", replacement)
    try:
        # RE2: the pattern comes from a rule file, the text from label values
        return searcher(pattern, go_replacement)(text)
    except RegexError as exc:
        raise _ExpandError(f"reReplaceAll: {exc}") from None


def _strip_port(*args: object) -> str:
    if len(args) != 1:
        raise _ExpandError(f"wrong number of args: want 1 got {len(args)}")
    host = _stringify(args[0])
    if host.startswith("[") and "]" in host:
        return host[1 : host.index("]")]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


FUNCTIONS: dict[str, Callable[..., object]] = {
    "humanize": _one_number(humanize),
    "humanize1024": _one_number(humanize1024),
    "humanizePercentage": _one_number(humanize_percentage),
    "humanizeDuration": _one_number(humanize_duration),
    "humanizeTimestamp": _humanize_timestamp,
    "printf": _printf,
    "toUpper": _string_fn(str.upper),
    "toLower": _string_fn(str.lower),
    "title": _string_fn(str.title),
    "safeHtml": _string_fn(str),
    "stripPort": _strip_port,
    "index": _index,
    "reReplaceAll": _re_replace_all,
}

_UNSUPPORTED_KEYWORDS = {
    "if",
    "else",
    "end",
    "range",
    "with",
    "define",
    "template",
    "block",
    "break",
    "continue",
}
_UNSUPPORTED_FUNCTIONS = {
    "query",
    "first",
    "label",
    "value",
    "sortByLabel",
    "args",
    "tmpl",
    "pathPrefix",
    "externalURL",
    "graphLink",
    "tableLink",
    "parseDuration",
    "match",
    "strvalue",
    "toTime",
    "len",
    "and",
    "or",
    "not",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "call",
    "html",
    "js",
    "print",
    "println",
    "urlquery",
    "slice",
}


def _stringify(value: object) -> str:
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{k}:{v}" for k, v in sorted(value.items())) + "]"
    return str(value)


# --- parsing ------------------------------------------------------------------------------

#: A term: ("var", path tuple) | ("lit", value) | ("pipe", pipeline) | ("fn", name)
_Term = tuple[str, Any, int]
_Command = list[_Term]
_Pipeline = list[_Command]

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<var>\$[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*|\$(?=[\s|)]|$)(?:\.[A-Za-z_]\w*)*)
    | (?P<field>(?:\.[A-Za-z_]\w*)+|\.(?=[\s|)]|$))
    | (?P<str>"(?:[^"\\\n]|\\.)*")
    | (?P<raw>`[^`]*`)
    | (?P<num>[-+]?(?:0[xX][0-9a-fA-F]+|\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?))
    | (?P<ident>[A-Za-z_]\w*)
    | (?P<decl>:?=)
    | (?P<punct>[|()])
    )""",
    re.VERBOSE,
)

_ROOTS = {
    "$labels": "labels",
    "$value": "value",
    "$externalLabels": "external_labels",
    "$externalURL": "external_url",
    ".Labels": "labels",
    ".Value": "value",
    ".ExternalLabels": "external_labels",
    ".ExternalURL": "external_url",
}


class _Parser:
    def __init__(self, source: str, start: int, end: int):
        self.source = source
        self.pos = start
        self.end = end
        self.tokens: list[tuple[str, str, int]] = []
        while True:
            while self.pos < end and self.source[self.pos].isspace():
                self.pos += 1
            if self.pos >= end:
                break
            match = _TOKEN.match(source, self.pos, end)
            if match is None or match.end() == self.pos:
                raise TemplateError(f"unexpected {source[self.pos]!r} in action", self.pos)
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind), match.start(kind)))
            self.pos = match.end()
        self.index = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def pipeline(self, offset: int) -> _Pipeline:
        first = self.peek()
        if first is None:
            raise TemplateError("missing value for command", offset)
        if first[0] == "ident" and first[1] in _UNSUPPORTED_KEYWORDS:
            raise TemplateError(f"unsupported template action {first[1]!r}", first[2])
        if len(self.tokens) > self.index + 1 and self.tokens[self.index + 1][0] == "decl":
            raise TemplateError("unsupported template construct: variable declaration", first[2])
        commands: _Pipeline = [self.command(offset)]
        while (tok := self.peek()) is not None and tok[1] == "|":
            self.index += 1
            commands.append(self.command(tok[2]))
        return commands

    def command(self, offset: int) -> _Command:
        terms: _Command = []
        while (tok := self.peek()) is not None and tok[1] not in ("|", ")"):
            terms.append(self.term())
        if not terms:
            raise TemplateError("missing value for command", offset)
        head = terms[0]
        if len(terms) > 1 and head[0] != "fn":
            raise TemplateError(
                f"can't give argument to non-function {self.text(head)}", terms[1][2]
            )
        return terms

    def text(self, term: _Term) -> str:
        return str(term[1]) if term[0] != "var" else ".".join(term[1])

    def term(self) -> _Term:
        kind, text, offset = self.tokens[self.index]
        self.index += 1
        if kind in ("var", "field"):
            path = text.split(".") if kind == "var" else ["." + p for p in text[1:].split(".")]
            root = path[0]
            if root not in _ROOTS:
                if kind == "var" and root == "$":
                    raise TemplateError("unsupported variable '$'", offset)
                raise TemplateError(f"undefined variable or field {root!r}", offset)
            rest = tuple(p.lstrip(".") for p in path[1:])
            if _ROOTS[root] in ("value", "external_url") and rest:
                raise TemplateError(f"{root} has no field {rest[0]!r}", offset)
            if len(rest) > 1:
                raise TemplateError(f"labels have no field {rest[1]!r}", offset)
            return ("var", (_ROOTS[root], *rest), offset)
        if kind == "str":
            try:
                value = text[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")
            except UnicodeDecodeError:
                raise TemplateError(f"malformed string {text}", offset) from None
            return ("lit", value, offset)
        if kind == "raw":
            return ("lit", text[1:-1], offset)
        if kind == "num":
            number: float | int
            try:
                number = int(text, 0)
            except ValueError:
                number = float(text)
            return ("lit", number, offset)
        if kind == "ident":
            if text in ("true", "false"):
                return ("lit", text == "true", offset)
            if text == "nil":
                raise TemplateError("nil is not a command", offset)
            if text in _UNSUPPORTED_KEYWORDS:
                raise TemplateError(f"unsupported template action {text!r}", offset)
            if text not in FUNCTIONS:
                if text in _UNSUPPORTED_FUNCTIONS:
                    raise TemplateError(f"unsupported template function {text!r}", offset)
                raise TemplateError(f'function "{text}" not defined', offset)
            return ("fn", text, offset)
        if text == "(":
            inner = self.pipeline(offset)
            closing = self.peek()
            if closing is None or closing[1] != ")":
                raise TemplateError("unclosed left paren", offset)
            self.index += 1
            return ("pipe", inner, offset)
        raise TemplateError(f"unexpected {text!r} in operand", offset)


_Node = str | _Pipeline


@dataclass(frozen=True, slots=True)
class Template:
    source: str
    nodes: tuple[_Node, ...]

    def expand(self, data: TemplateData) -> str:
        out: list[str] = []
        try:
            for node in self.nodes:
                out.append(node if isinstance(node, str) else _stringify(_run(node, data)))
        except _ExpandError as exc:
            return f"<error expanding template: {exc}>"
        except (ValueError, TypeError, OverflowError) as exc:
            return f"<error expanding template: {type(exc).__name__}: {exc}>"
        return "".join(out)


def _run(pipeline: _Pipeline, data: TemplateData) -> object:
    result: object = None
    for index, command in enumerate(pipeline):
        args = [_evaluate(term, data) for term in command[1:]]
        if index > 0:
            args.append(result)
        head = command[0]
        if head[0] == "fn":
            result = FUNCTIONS[head[1]](*args)
        else:
            if args:
                raise _ExpandError(f"can't give argument to non-function {head[1]}")
            result = _evaluate(head, data)
    return result


def _evaluate(term: _Term, data: TemplateData) -> object:
    kind, payload, _ = term
    if kind == "lit":
        return payload
    if kind == "pipe":
        return _run(payload, data)
    if kind == "fn":
        return FUNCTIONS[payload]()
    root, *rest = payload
    value: object = getattr(data, root)
    if rest:
        assert isinstance(value, Mapping)
        return value.get(rest[0], "")
    return dict(value) if isinstance(value, Mapping) else value


_ACTION = re.compile(r"\{\{(-\s)?")


def compile_template(source: str) -> Template:
    """Parse a template; raises TemplateError with the offset of the first problem."""
    nodes: list[_Node] = []
    pos = 0
    trim_next = False
    while True:
        match = _ACTION.search(source, pos)
        text = source[pos : match.start() if match else len(source)]
        if trim_next:
            text = text.lstrip()
        if match and match.group(1):
            text = text.rstrip()
        if text:
            nodes.append(text)
        if match is None:
            break
        inner_start = match.end()
        close = source.find("}}", inner_start)
        if close < 0:
            raise TemplateError("unclosed action", match.start())
        inner_end = close
        trim_next = False
        if source[inner_end - 2 : inner_end] == " -" and inner_end - 2 >= inner_start:
            inner_end -= 2
            trim_next = True
        inner = source[inner_start:inner_end].strip()
        pos = close + 2
        if inner.startswith("/*"):
            if not inner.endswith("*/"):
                raise TemplateError("unclosed comment", match.start())
            continue
        parser = _Parser(source, inner_start, inner_end)
        pipeline = parser.pipeline(match.start())
        leftover = parser.peek()
        if leftover is not None:
            raise TemplateError(f"unexpected {leftover[1]!r} in action", leftover[2])
        nodes.append(pipeline)
    return Template(source, tuple(nodes))
