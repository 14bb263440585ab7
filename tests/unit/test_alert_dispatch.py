"""Routing, grouping, repeat and resolve timing; silences; the outbox across restarts."""

from __future__ import annotations

import argparse
import json
import threading
from pathlib import Path

import pytest

from alerts.dispatcher import Dispatcher, Route
from alerts.outbox import Outbox
from alerts.payloads import Notification
from alerts.receivers import DeliveryError
from alerts.silences import SilenceError, SilenceStore, parse_matcher
from alerts.state import AlertSnapshot, AlertState
from monitor.commands import alerts as alerts_command
from monitor.model import labels_of, now_ms


class Inbox:
    """A receiver that keeps what it is given; `fail` makes it refuse like a down server."""

    def __init__(self, name: str, send_resolved: bool = True) -> None:
        self.name = name
        self.send_resolved = send_resolved
        self.got: list[Notification] = []
        self.fail = False
        self.arrived = threading.Event()

    def deliver(self, notification: Notification) -> None:
        if self.fail:
            raise DeliveryError("connection refused")
        self.got.append(notification)
        self.arrived.set()

    def statuses(self) -> list[list[tuple[str, str]]]:
        return [[(dict(a.labels)["instance"], a.status) for a in n.alerts] for n in self.got]


def snap(instance: str, state: AlertState, t: int, severity: str = "critical") -> AlertSnapshot:
    labels = labels_of({"alertname": "Down", "instance": instance, "severity": severity})
    return AlertSnapshot(
        "Down",
        "g",
        labels,
        (("summary", "s"),),
        state,
        0.0,
        t - 60_000,
        t - 30_000,
        t if state is AlertState.INACTIVE else None,
        t,
    )


def pipeline(tmp_path: Path, *routes: Route, inboxes: tuple[Inbox, ...] = ()):
    boxes = inboxes or (Inbox("a"),)
    outbox = Outbox(tmp_path / "outbox", list(boxes), initial_backoff_s=0.01)
    silences = SilenceStore(tmp_path)
    dispatcher = Dispatcher(
        list(routes) or [Route("a", group_wait_ms=0)],
        outbox,
        silences,
        tmp_path / "notifications.json",
    )
    return dispatcher, outbox, silences, boxes


def drain(outbox: Outbox) -> None:
    outbox.start()
    assert outbox.wait_idle(5)
    outbox.stop()


def test_group_wait_then_repeat_then_resolved_once(tmp_path: Path) -> None:
    route = Route(
        "a",
        group_by=("alertname",),
        group_wait_ms=10_000,
        group_interval_ms=60_000,
        repeat_interval_ms=3_600_000,
    )
    dispatcher, outbox, _, (inbox,) = pipeline(tmp_path, route)
    t = now_ms()
    dispatcher.notify([snap("x", AlertState.FIRING, t)], t)
    dispatcher.notify(
        [snap("x", AlertState.FIRING, t + 5_000), snap("y", AlertState.FIRING, t + 5_000)],
        t + 5_000,
    )
    dispatcher.notify(
        [snap("x", AlertState.FIRING, t + 10_000), snap("y", AlertState.FIRING, t + 10_000)],
        t + 10_000,
    )
    for minute in range(1, 30):  # unchanged: nothing until repeat_interval
        now = t + 10_000 + minute * 60_000
        dispatcher.notify(
            [snap("x", AlertState.FIRING, now), snap("y", AlertState.FIRING, now)], now
        )
    now = t + 10_000 + 30 * 60_000
    dispatcher.notify([snap("x", AlertState.INACTIVE, now), snap("y", AlertState.FIRING, now)], now)
    dispatcher.notify(
        [snap("x", AlertState.INACTIVE, now + 60_000), snap("y", AlertState.FIRING, now + 60_000)],
        now + 60_000,
    )
    drain(outbox)
    assert inbox.statuses() == [
        [("x", "firing"), ("y", "firing")],
        [("x", "resolved"), ("y", "firing")],
    ]


def test_routes_by_label_and_continue(tmp_path: Path) -> None:
    pager, chat = Inbox("pager"), Inbox("chat", send_resolved=False)
    routes = [
        Route(
            "pager", (parse_matcher("severity=critical"),), group_wait_ms=0, continue_matching=True
        ),
        Route("chat", group_wait_ms=0),
    ]
    dispatcher, outbox, _, _ = pipeline(tmp_path, *routes, inboxes=(pager, chat))
    t = now_ms()
    dispatcher.notify(
        [snap("x", AlertState.FIRING, t), snap("w", AlertState.FIRING, t, severity="warning")], t
    )
    dispatcher.notify(
        [
            snap("x", AlertState.INACTIVE, t + 120_000),
            snap("w", AlertState.INACTIVE, t + 120_000, severity="warning"),
        ],
        t + 120_000,
    )
    drain(outbox)
    assert pager.statuses() == [[("x", "firing")], [("x", "resolved")]]
    assert sorted(chat.statuses()) == [[("w", "firing")], [("x", "firing")]]


def test_restart_does_not_page_again(tmp_path: Path) -> None:
    route = Route("a", group_wait_ms=0, repeat_interval_ms=3_600_000)
    dispatcher, outbox, _, (inbox,) = pipeline(tmp_path, route)
    t = now_ms()
    dispatcher.notify([snap("x", AlertState.FIRING, t)], t)
    again, outbox_again, _, (inbox_again,) = pipeline(tmp_path, route)
    again.notify([snap("x", AlertState.FIRING, t + 60_000)], t + 60_000)
    drain(outbox)
    drain(outbox_again)
    assert len(inbox.got) + len(inbox_again.got) == 1


def test_outbox_keeps_undelivered_notifications_across_restart(tmp_path: Path) -> None:
    down = Inbox("a")
    down.fail = True
    dispatcher, outbox, _, _ = pipeline(tmp_path, inboxes=(down,))
    t = now_ms()
    dispatcher.notify([snap("x", AlertState.FIRING, t)], t)
    outbox.start()
    outbox.stop()
    assert down.got == [] and outbox.status()[0].queued == 1
    back = Inbox("a")
    _, outbox_again, _, _ = pipeline(tmp_path, inboxes=(back,))
    drain(outbox_again)
    assert back.statuses() == [[("x", "firing")]]


def test_silence_mutes_matching_alerts_only(tmp_path: Path) -> None:
    dispatcher, outbox, silences, (inbox,) = pipeline(tmp_path)
    silence = silences.add([parse_matcher('instance=~"x|z"')], 3_600_000, "maintenance", "me")
    t = now_ms()
    dispatcher.notify([snap("x", AlertState.FIRING, t), snap("y", AlertState.FIRING, t)], t)
    drain(outbox)
    assert inbox.statuses() == [[("y", "firing")]]
    assert [s.id for s in SilenceStore(tmp_path).list_silences()] == [silence.id]
    silences.expire(silence.id[:6])
    assert SilenceStore(tmp_path).list_silences() == []


@pytest.mark.parametrize(
    ("matchers", "comment", "message"),
    [
        (["instance=~.*"], "x", "every alert"),
        (["alertname=A"], " ", "comment"),
        (["no matcher"], "x", "bad matcher"),
        (["a=~("], "x", "bad regex"),
    ],
)
def test_bad_silences_are_refused(
    tmp_path: Path, matchers: list[str], comment: str, message: str
) -> None:
    with pytest.raises(SilenceError, match=message):
        SilenceStore(tmp_path).add([parse_matcher(m) for m in matchers], 1000, comment)


def test_cli_silence_list_expire(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def run(action: str, **extra: object) -> int:
        args = argparse.Namespace(alerts_action=action, state_dir=tmp_path, format="json", **extra)
        return alerts_command.run(args)

    assert (
        run(
            "silence",
            matchers=["alertname=RedisDown"],
            duration=7200.0,
            comment="upgrade",
            author="ops",
        )
        == 0
    )
    silence_id = capsys.readouterr().out.strip()
    assert run("silences", all=False) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["id"] == silence_id and listed["comment"] == "upgrade"
    assert listed["ends_at_ms"] - listed["starts_at_ms"] == 7_200_000
    assert run("list") == 0
    assert run("expire", id=silence_id) == 0
    assert run("expire", id="nope") == 2


def test_service_from_config_file(tmp_path: Path) -> None:
    from alerts.rules import RuleLoadError
    from alerts.service import AlertingService, AlertSettingsError
    from monitor.config import load_config
    from monitor.query import MemoryReader

    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a.yml").write_text(
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n"
    )
    config_path = tmp_path / "cachewatch.toml"
    config_path.write_text(
        '[alerts]\nrule_files = ["rules/*.yml"]\ngroup_wait = "1s"\n'
        '[[alerts.receivers]]\nname = "hook"\ntype = "webhook"\nurl = "http://127.0.0.1:9/x"\n'
        '[[alerts.routes]]\nreceiver = "hook"\nmatchers = ["severity=critical"]\n'
    )
    service = AlertingService.from_config(
        load_config(config_path), MemoryReader(), tmp_path / "state"
    )
    assert [r.name for g in service.engine.groups for r in g.rules] == ["A"]
    assert service.dispatcher.routes[0].group_wait_ms == 1000
    (tmp_path / "rules" / "b.yml").write_text("groups:\n- name: g\n  rules:\n  - alert: B\n")
    with pytest.raises(RuleLoadError, match=r"b\.yml:4:5: field 'expr' must be set"):
        AlertingService.from_config(load_config(config_path), MemoryReader(), tmp_path)
    config_path.write_text('[[alerts.receivers]]\nname = "x"\ntype = "pager"\n')
    with pytest.raises(AlertSettingsError, match="not one of log, webhook"):
        AlertingService.from_config(load_config(config_path), MemoryReader(), tmp_path)
