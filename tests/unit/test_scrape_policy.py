"""`/scrape?target=` polls what the process polls and what `[exporter] scrape_allow` names."""

from __future__ import annotations

import pytest

from monitor.config import parse_config
from monitor.http.scrapepolicy import ScrapePolicy, ScrapeRefused, parse_scrape_allow
from monitor.http.settings import HttpSettingsError, parse_exporter_settings
from monitor.secrets import Secret
from monitor.targets import parse_target_url

CONFIGURED = parse_target_url("redis://10.0.0.5:6379", password=Secret("configured"))


def policy(*allow: str) -> ScrapePolicy:
    problems: list[str] = []
    rules = parse_scrape_allow(list(allow), problems)
    assert not problems
    return ScrapePolicy(lambda: [CONFIGURED], rules)


def test_a_configured_target_is_polled_with_its_own_credentials() -> None:
    resolved = policy().resolve(parse_target_url("redis://10.0.0.5:6379"))
    assert resolved is CONFIGURED
    with pytest.raises(ScrapeRefused, match="configured credentials"):
        policy().resolve(parse_target_url("redis://:guess@10.0.0.5:6379"))
    with pytest.raises(ScrapeRefused):  # same address, another kind: not configured
        policy().resolve(parse_target_url("memcached://10.0.0.5:6379"))


@pytest.mark.parametrize(
    ("allow", "target", "allowed"),
    [
        ("10.0.0.0/24", "redis://10.0.0.9:7000", True),
        ("10.0.0.0/24:6379", "redis://10.0.0.9:7000", False),
        ("10.0.0.0/24:6379", "memcached://10.0.0.9:6379", True),
        ("cache-1.internal", "redis://CACHE-1.internal:1", True),
        ("cache-1.internal:6379", "redis://cache-2.internal:6379", False),
        ("[::1]:6379", "redis://[::1]:6379", True),
        ("10.0.0.0/8", "unix:///run/redis.sock", False),
        ("unix:///run/redis.sock", "unix:///run/redis.sock", True),
        ("unix:///run/redis.sock", "unix:///run/other.sock", False),
    ],
)
def test_scrape_allow_entries(allow: str, target: str, allowed: bool) -> None:
    requested = parse_target_url(target)
    if allowed:
        assert policy(allow).resolve(requested) is None  # polled as given
    else:
        with pytest.raises(ScrapeRefused, match="scrape_allow"):
            policy(allow).resolve(requested)


def test_bad_entries_and_exporter_keys_are_named() -> None:
    with pytest.raises(HttpSettingsError) as caught:
        parse_exporter_settings(
            {"scrape_allow": ["10.0.0.0/33", "host:99999", "unix://relative"], "max_connections": 1}
        )
    assert len(caught.value.problems) == 4
    config = parse_config(
        {"exporter": {"scrape_allow": ["10.0.0.5"], "auth_username": "x", "tls_cert_file": "c"}}
    )
    assert config.exporter["scrape_allow"] == ["10.0.0.5"]


def test_a_redis_and_a_memcached_target_on_one_address_are_two_targets() -> None:
    config = parse_config(
        {"targets": [{"url": "redis://10.0.0.5:6379"}, {"url": "memcached://10.0.0.5:6379"}]}
    )
    assert [t.key for t in config.targets] == ["redis://10.0.0.5:6379", "memcached://10.0.0.5:6379"]
    with pytest.raises(ValueError, match="duplicate target"):
        parse_config({"targets": [{"url": "redis://10.0.0.5:6379"}, {"url": "rediss://10.0.0.5"}]})
