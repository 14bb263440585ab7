"""`redis+sentinel://` URLs and `[[targets]]` entries: the Sentinels' and the data nodes'
credentials kept apart, errors that name the problem without echoing a password."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import ConfigError, config_from_urls, load_config
from monitor.secrets import Secret
from monitor.targets import SentinelSeed, TargetError, parse_target_url


@pytest.mark.parametrize(
    ("url", "addresses", "masters", "tls"),
    [
        (
            "redis+sentinel://s1:26379,s2:26380/mymaster",
            (("s1", 26379), ("s2", 26380)),
            ("mymaster",),
            False,
        ),
        ("redis+sentinel://s1", (("s1", 26379),), (), False),
        ("redis+sentinel://s1/", (("s1", 26379),), (), False),
        ("rediss+sentinel://[::1]:5000/a,b", (("::1", 5000),), ("a", "b"), True),
        ("redis+sentinel://s1,s1:26379/cache-1", (("s1", 26379),), ("cache-1",), False),
    ],
)
def test_sentinel_urls(
    url: str, addresses: tuple[tuple[str, int], ...], masters: tuple[str, ...], tls: bool
) -> None:
    target = parse_target_url(url)
    assert target.sentinel == SentinelSeed(addresses=addresses, masters=masters)
    assert (target.host, target.port) == addresses[0]
    assert (target.tls is not None) == tls
    assert parse_target_url(target.url).sentinel == target.sentinel  # url round-trips


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("redis+sentinel://s1:0/m", "port 0"),
        ("redis+sentinel://:hunter2@s1,/m", "lacks its host"),
        ("redis+sentinel://s1:x/m", "'s1:x'"),
        ("redis+sentinel://s1/m?password=x", "takes no query"),
        ("redis+sentinel://s1/m%0Ax", "control characters"),
    ],
)
def test_bad_sentinel_urls_say_what_is_wrong(url: str, problem: str) -> None:
    with pytest.raises(TargetError) as info:
        parse_target_url(url)
    assert problem in str(info.value)
    assert "hunter2" not in str(info.value)


def test_url_credentials_are_the_sentinels_and_never_shown() -> None:
    target = parse_target_url("redis+sentinel://watch:s3cret@s1:26379/m")
    assert (target.username, target.password) == ("watch", Secret("s3cret"))
    assert target.sentinel is not None and target.sentinel.data_password is None
    assert "s3cret" not in target.url and "s3cret" not in repr(target)


def test_command_line_sentinel_url_becomes_a_seed() -> None:
    config = config_from_urls(["redis+sentinel://127.0.0.1:26379/m"], interval_s=1.0)
    (seed,) = config.targets
    assert seed.sentinel is not None and seed.interval_s == 1.0


def test_config_keeps_sentinel_and_data_credentials_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATA_PW", "data-secret")
    sentinel_file = tmp_path / "sentinel-pw"
    sentinel_file.write_text("sentinel-secret\n")
    path = tmp_path / "cachewatch.toml"
    path.write_text(
        f"""
[[targets]]
url = "redis+sentinel://s1:26379,s2:26379/cache"
name = "sessions"
username = "app"
password_env = "DATA_PW"
sentinel_username = "watch"
sentinel_password_file = "{sentinel_file}"
"""
    )
    (seed,) = load_config(path).targets
    assert seed.name == "sessions"
    assert (seed.username, seed.password) == ("watch", Secret("sentinel-secret"))
    assert seed.sentinel is not None
    assert (seed.sentinel.data_username, seed.sentinel.data_password) == (
        "app",
        Secret("data-secret"),
    )


def test_config_errors_name_the_key(tmp_path: Path) -> None:
    path = tmp_path / "cachewatch.toml"
    path.write_text(
        """
[[targets]]
url = "redis+sentinel://watch:hunter2@s1/m"

[[targets]]
url = "redis://10.0.0.5:6379"
sentinel_password_env = "X"

[[targets]]
url = "redis+sentinel://s2/m"
labels = { sentinel_master = "x" }
"""
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert "targets[0].url: put passwords in sentinel_password_env or sentinel_password_file" in (
        text
    )
    assert "targets[1].sentinel_password_env: only redis+sentinel:// targets" in text
    assert "targets[2].labels.sentinel_master: reserved label name" in text
    assert "hunter2" not in text
