"""The two exposition formats: Prometheus text 0.0.4 and OpenMetrics 1.0.

Sample lines are identical in both formats; only the family headers differ (OpenMetrics names
a counter family without `_total`, has an `info` type, escapes `"` in HELP, and ends with
`# EOF`). That is what lets the exposition cache one rendered chunk per target and family and
serve both formats from it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from monitor.model import Labels, MetricType

__all__ = [
    "Format",
    "Family",
    "negotiate",
    "resolve_family",
    "family_header",
    "format_value",
    "format_label_pairs",
]


class Format(enum.Enum):
    TEXT = "text/plain; version=0.0.4; charset=utf-8"
    OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"

    @property
    def content_type(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Family:
    """A metric family as the text format names it (counters keep `_total`)."""

    name: str
    kind: MetricType | None  # None: no metadata, exposed as untyped/unknown
    help: str


def negotiate(accept: str | None) -> Format:
    """The format an `Accept` header asks for, as Prometheus's scrape manager sends it.

    OpenMetrics wins when it is listed with a quality at least as high as text/plain's;
    anything unparseable falls back to the text format, which every client understands.
    """
    if not accept:
        return Format.TEXT
    best_om, best_text = -1.0, -1.0
    for media_range in accept.split(","):
        media_type, *params = (part.strip() for part in media_range.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media_type = media_type.lower()
        if media_type == "application/openmetrics-text":
            best_om = max(best_om, quality)
        elif media_type in ("text/plain", "text/*", "*/*"):
            best_text = max(best_text, quality)
    return Format.OPENMETRICS if best_om > 0 and best_om >= best_text else Format.TEXT


_HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def resolve_family(name: str, metadata: Mapping[str, tuple[MetricType, str]]) -> Family:
    """The family a sample name belongs to.

    Histogram samples (`x_bucket`, `x_sum`, `x_count`) belong to the histogram `x`; a counter
    described without its `_total` suffix still yields a family named with it. Names without
    metadata form their own untyped family.
    """
    meta = metadata.get(name)
    if meta is not None:
        return Family(name, meta[0], meta[1])
    for suffix in _HISTOGRAM_SUFFIXES:
        if name.endswith(suffix):
            base = metadata.get(name[: -len(suffix)])
            if base is not None and base[0] is MetricType.HISTOGRAM:
                return Family(name[: -len(suffix)], base[0], base[1])
    if name.endswith("_total"):
        base = metadata.get(name[:-6])
        if base is not None and base[0] is MetricType.COUNTER:
            return Family(name, base[0], base[1])
    return Family(name, None, "")


def family_header(family: Family, fmt: Format) -> str:
    """`# HELP` and `# TYPE` lines of a family in the given format."""
    if fmt is Format.TEXT:
        if family.kind is None:
            kind = "untyped"
        else:
            kind = "gauge" if family.kind is MetricType.INFO else family.kind.value
        help_text = _escape_help_text(family.help)
        help_line = f"# HELP {family.name} {help_text}\n" if family.help else ""
        return f"{help_line}# TYPE {family.name} {kind}\n"
    name, kind = _openmetrics_family(family)
    help_line = f"# HELP {name} {_escape_help_openmetrics(family.help)}\n" if family.help else ""
    return f"{help_line}# TYPE {name} {kind}\n"


def _openmetrics_family(family: Family) -> tuple[str, str]:
    """OpenMetrics family name and type: a counter's samples must end in `_total` and an
    info's in `_info`, so metrics that don't follow the convention are exposed as `unknown`
    or `gauge` rather than producing a document Prometheus would reject."""
    kind = family.kind
    if kind is MetricType.COUNTER:
        if family.name.endswith("_total"):
            return family.name[:-6], "counter"
        return family.name, "unknown"
    if kind is MetricType.INFO:
        if family.name.endswith("_info"):
            return family.name[:-5], "info"
        return family.name, "gauge"
    if kind is None:
        return family.name, "unknown"
    return family.name, kind.value


def _escape_help_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _escape_help_openmetrics(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def format_label_pairs(labels: Labels) -> str:
    """`a="1",b="2"` with values escaped (the inside of the braces)."""
    return ",".join(f'{k}="{_escape_label_value(v)}"' for k, v in labels)


def format_value(value: float) -> str:
    """A sample value as Go's Prometheus client prints it: integers without `.0`,
    `+Inf`/`-Inf`/`NaN` spelled as both formats require."""
    try:
        integral = int(value)
    except (ValueError, OverflowError):  # NaN cannot be an int, nor can an infinity
        if value != value:
            return "NaN"
        return "+Inf" if value > 0 else "-Inf"
    if integral == value and -1e15 < value < 1e15:
        return str(integral)
    return repr(float(value))
