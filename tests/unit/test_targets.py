from __future__ import annotations

import pytest

from monitor.durations import format_duration, parse_duration
from monitor.secrets import Secret, redact
from monitor.targets import TargetError, TargetKind, parse_target_url


@pytest.mark.parametrize(
    ("url", "kind", "instance", "db", "tls"),
    [
        ("redis://10.0.0.5:6379", TargetKind.REDIS, "10.0.0.5:6379", 0, False),
        ("redis://host/3", TargetKind.REDIS, "host:6379", 3, False),
        ("rediss://host:6380", TargetKind.REDIS, "host:6380", 0, True),
        ("redis://[::1]:7000", TargetKind.REDIS, "[::1]:7000", 0, False),
        ("unix:///run/redis.sock", TargetKind.REDIS, "/run/redis.sock", 0, False),
        ("memcached://mc1:11211", TargetKind.MEMCACHED, "mc1:11211", 0, False),
        ("memcached://mc1", TargetKind.MEMCACHED, "mc1:11211", 0, False),
    ],
)
def test_urls(url: str, kind: TargetKind, instance: str, db: int, tls: bool) -> None:
    target = parse_target_url(url)
    assert (target.kind, target.instance, target.db, target.tls is not None) == (
        kind,
        instance,
        db,
        tls,
    )
    assert dict(target.series_labels())["instance"] == instance


def test_credentials_are_kept_secret() -> None:
    target = parse_target_url("redis://monitor:p%40ss@host:1")
    assert target.username == "monitor"
    assert target.password == Secret("p@ss")
    assert "p@ss" not in repr(target) and "p@ss" not in target.url
    assert redact("AUTH failed for p@ss", target.password) == "AUTH failed for ***"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://a:1", "unknown scheme"),
        ("redis://a:notaport", "Port"),
        ("redis://a:1/x", "database 'x' is not a number"),
        ("unix://", "needs a socket path"),
        ("memcached://a:1/0", "take no path"),
    ],
)
def test_bad_urls_name_the_problem(url: str, message: str) -> None:
    with pytest.raises(TargetError, match=message):
        parse_target_url(url)


def test_bad_url_error_hides_password() -> None:
    with pytest.raises(TargetError) as info:
        parse_target_url("redis://u:topsecret@a:1/x")
    assert "topsecret" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("500ms", 0.5), ("10s", 10), ("5m", 300), ("1h30m", 5400), ("2d", 172800), ("1.5", 1.5)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5 m", "m5", "1h-3m", "-1", "1x"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_format_duration_round_trips() -> None:
    for seconds in (0.25, 1, 90, 3600, 86400 + 61):
        assert parse_duration(format_duration(seconds)) == seconds
