"""`/api/v1/cachewatch/events`: the envelope, the parameters handed to the store, and
Prometheus-style `bad_data` errors that name the bad parameter."""

from __future__ import annotations

import json

import pytest

from monitor.http import make_app
from monitor.http.events import MAX_EVENTS
from monitor.model import Event
from tests.unit.test_http_fuzz import APP, call

PATH = "/api/v1/cachewatch/events"
EVENT = Event(
    1_700_000_000_250,
    "slowlog",
    (("instance", "10.0.0.1:6379"), ("role", "primary")),
    {"id": 7, "command": "keys", "duration_us": 15000},
)


class Recorder:
    def __init__(self) -> None:
        self.asked: list[tuple[str, str | None, int, int]] = []

    def __call__(self, kind: str, instance: str | None, start_ms: int, limit: int) -> list[Event]:
        self.asked.append((kind, instance, start_ms, limit))
        return [EVENT]


def events_app(recorder: Recorder):  # type: ignore[no-untyped-def]
    return make_app(latest_batches=list, metadata=dict, events=recorder)


def test_answers_events_in_the_prometheus_envelope() -> None:
    recorder = Recorder()
    status, _, body = call(
        events_app(recorder),
        PATH,
        "kind=slow&instance=10.0.0.1:6379&start=1700000000.5&limit=5000",
    )
    assert status == 200
    assert json.loads(body) == {
        "status": "success",
        "data": [
            {
                "ts": 1_700_000_000.25,
                "kind": "slowlog",
                "labels": {"instance": "10.0.0.1:6379", "role": "primary"},
                "data": {"id": 7, "command": "keys", "duration_us": 15000},
            }
        ],
    }
    assert recorder.asked == [("slow", "10.0.0.1:6379", 1_700_000_000_500, MAX_EVENTS)]


def test_defaults_ask_for_every_kind_of_every_target() -> None:
    recorder = Recorder()
    status, _, _ = call(events_app(recorder), PATH)
    assert status == 200
    kind, instance, start_ms, limit = recorder.asked[0]
    assert (kind, instance, start_ms) == ("", None, 0) and 0 < limit <= MAX_EVENTS


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("limit=ten", '"limit"'),
        ("limit=0", '"limit"'),
        ("limit=-3", '"limit"'),
        ("limit=1.5", '"limit"'),
        ("start=yesterday", '"start"'),
        ("start=NaN", '"start"'),
        ("start=1e309", '"start"'),
    ],
)
def test_bad_parameters_are_a_400_naming_them(query: str, named: str) -> None:
    recorder = Recorder()
    status, _, body = call(events_app(recorder), PATH, query)
    error = json.loads(body)
    assert status == 400 and error["status"] == "error" and error["errorType"] == "bad_data"
    assert named in error["error"]
    assert recorder.asked == []


def test_absent_without_an_event_source() -> None:
    # a reader with no events (as in the fuzz tests' app): no route, a plain 404
    status, _, _ = call(APP, PATH)
    assert status == 404
