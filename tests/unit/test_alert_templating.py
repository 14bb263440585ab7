"""Alert templates render as Prometheus renders them, and never break on odd input."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.gofmt import go_float, humanize, humanize1024, humanize_duration
from alerts.payloads import (
    Notification,
    NotifiedAlert,
    alertmanager_body,
    slack_body,
    webhook_body,
)
from alerts.templating import TemplateData, TemplateError, compile_template


def render(text: str, value: float = 1.0, **labels: str) -> str:
    return compile_template(text).expand(TemplateData(labels, value, {}))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1e6, "1e+06"),
        (100000.0, "100000"),
        (0.5, "0.5"),
        (1234567.0, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (math.nan, "NaN"),
        (-math.inf, "-Inf"),
        (3.0, "3"),
    ],
)
def test_value_prints_like_go(value: float, expected: str) -> None:
    assert go_float(value) == expected
    assert render("{{ $value }}", value) == expected


def test_humanize_family_matches_prometheus() -> None:
    assert humanize(1234567) == "1.235M"
    assert humanize(0.0012) == "1.2m"
    assert humanize1024(1536) == "1.5Ki"
    assert humanize_duration(3700) == "1h 1m 40s"
    assert humanize_duration(0.25) == "250ms"
    assert render("{{ $value | humanizePercentage }}", 0.953) == "95.3%"
    assert render('{{ printf "%.1f" $value }}', 2.25) == "2.2"


def test_labels_external_labels_and_missing_keys() -> None:
    template = compile_template(
        "{{ $labels.instance }}/{{ $labels.nope }}/{{ $externalLabels.env }}"
    )
    assert template.expand(TemplateData({"instance": "a:1"}, 0, {})) == "a:1//"
    assert template.expand(TemplateData({"instance": "a:1"}, 0, {"env": "prod"})) == "a:1//prod"


def test_expansion_errors_stay_in_the_text() -> None:
    assert render('{{ humanize "x" }}').startswith("<error expanding template:")


@pytest.mark.parametrize(
    ("text", "offset", "fragment"),
    [
        ("ok {{ if $value }}x{{ end }}", 6, "unsupported template action 'if'"),
        ('{{ query "up" }}', 3, "unsupported template function 'query'"),
        ("{{ $nope }}", 3, "undefined variable"),
        ("ab {{ $value", 3, "unclosed action"),
        ("{{ humanize }}x{{ nofn }}", 18, 'function "nofn" not defined'),
    ],
)
def test_parse_errors_name_the_construct_and_offset(text: str, offset: int, fragment: str) -> None:
    with pytest.raises(TemplateError) as info:
        compile_template(text)
    assert fragment in info.value.message
    assert info.value.offset == offset


label_values = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
label_maps = st.dictionaries(
    st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True), label_values, max_size=6
)
TEMPLATES = [
    compile_template(t)
    for t in (
        "{{ $labels.instance }} {{ $value }}",
        "{{ $value | humanize }}",
        "{{ $value | humanize1024 }}",
        "{{ humanizeDuration $value }}",
        '{{ printf "%s=%.2f %d" $labels.instance $value $value }}',
        "{{ $labels }}",
        "{{ $labels.instance | stripPort | toUpper }}",
    )
]


@settings(max_examples=200, deadline=None)
@given(
    labels=label_maps, value=st.floats(allow_nan=True, allow_infinity=True), annotation=label_values
)
def test_any_labels_and_values_render_and_serialise(
    labels: dict[str, str], value: float, annotation: str
) -> None:
    texts = [t.expand(TemplateData(labels, value, {})) for t in TEMPLATES]
    assert all(isinstance(t, str) for t in texts)
    alert = NotifiedAlert(
        "firing",
        tuple(sorted(labels.items())),
        (("summary", texts[0]), ("description", annotation)),
        0,
        0,
        "f",
    )
    notification = Notification("r", "k", (), (alert,), 1)
    body = json.dumps(webhook_body(notification), allow_nan=False).encode("ascii")
    assert json.loads(body)["alerts"][0]["annotations"]["description"] == annotation
    for other in (slack_body(notification), alertmanager_body(notification, 1, 1)):
        json.dumps(other, allow_nan=False).encode("ascii")


@settings(max_examples=200, deadline=None)
@given(source=st.text(max_size=60))
def test_arbitrary_template_text_parses_or_fails_cleanly(source: str) -> None:
    try:
        template = compile_template(source)
    except TemplateError as exc:
        assert 0 <= exc.offset <= len(source)
        return
    assert isinstance(template.expand(TemplateData({"a": "b"}, 1.5, {})), str)
