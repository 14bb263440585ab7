from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import ConfigError, config_from_urls, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cachewatch.toml"
    path.write_text(text)
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    return info.value.problems


def test_full_config_parses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CACHE_PW", "s3cret-value")
    secret_file = tmp_path / "pw"
    secret_file.write_text("from-file\n")
    config = load_config(
        write(
            tmp_path,
            f"""
[global]
interval = "2s"
timeout = "1s"
labels = {{ env = "prod" }}

[store]
path = "{tmp_path / "store"}"
retention_raw = "1d"

[[targets]]
url = "redis://10.0.0.5:6379/2"
name = "sessions"
username = "monitor"
password_env = "CACHE_PW"
labels = {{ service = "api" }}

[[targets]]
url = "memcached://10.0.0.6:11211"
interval = "500ms"
timeout = "200ms"

[[targets]]
url = "rediss://10.0.0.7:6380"
password_file = "{secret_file}"
""",
        )
    )
    redis, memcached, tls = config.targets
    assert redis.instance == "10.0.0.5:6379" and redis.db == 2 and redis.username == "monitor"
    assert redis.password is not None and redis.password.reveal() == "s3cret-value"
    assert dict(redis.labels) == {"env": "prod", "service": "api"}
    assert redis.interval_s == 2.0 and redis.timeout_s == 1.0
    assert memcached.interval_s == 0.5 and memcached.timeout_s == 0.2
    assert tls.tls is not None and tls.password is not None
    assert tls.password.reveal() == "from-file"
    assert config.store.raw_retention_s == 86400
    # the secret never shows in any printable form of the config
    assert "s3cret-value" not in repr(config) and "from-file" not in repr(config)


def test_every_problem_is_named_with_its_key(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """
[global]
interval = "10 parsecs"
intreval = "1s"

[store]
backend = "cassandra"

[[targets]]
url = "http://example:80"

[[targets]]
url = "redis://a:1"
timeout = "20s"
labels = { instance = "x", "bad-name" = "y" }

[[targets]]
name = "no url"

[[targets]]
url = "redis://a:1"
password_env = "CACHEWATCH_SURELY_UNSET"
""",
    )
    text = "\n".join(found)
    assert "global.interval: invalid duration '10 parsecs'" in text
    assert "global.intreval: unknown key" in text
    assert "store.backend: must be 'embedded' or 'prometheus'" in text
    assert "targets[0].url" in text and "unknown scheme 'http'" in text
    assert "targets[1].timeout" in text and "shorter than the interval" in text
    assert "targets[1].labels.instance: reserved label name" in text
    assert "targets[1].labels.bad-name" in text
    assert "targets[2].url: missing" in text
    assert "targets[3].password_env: environment variable 'CACHEWATCH_SURELY_UNSET'" in text
    assert all(line.startswith(str(tmp_path)) for line in found)


def test_toml_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    (problem,) = problems(tmp_path, "[global\ninterval = 1\n")
    assert "not valid TOML" in problem and "line 1" in problem


def test_duplicate_target_rejected(tmp_path: Path) -> None:
    found = problems(
        tmp_path, '[[targets]]\nurl = "redis://a:1"\n[[targets]]\nurl = "redis://a:1"\n'
    )
    assert any("targets[1].url: duplicate target redis://a:1" in p for p in found)


def test_password_in_url_is_refused_in_files_and_never_echoed(tmp_path: Path) -> None:
    found = problems(tmp_path, '[[targets]]\nurl = "redis://user:hunter2@a:1"\n')
    assert any("password_env or password_file" in p for p in found)
    assert not any("hunter2" in p for p in found)


def test_urls_from_command_line_take_interval_override() -> None:
    config = config_from_urls(["redis://a:1", "memcached://b:2"], interval_s=1.0)
    assert [t.url for t in config.targets] == ["redis://a:1", "memcached://b:2"]
    assert all(t.interval_s == 1.0 and t.timeout_s < 1.0 for t in config.targets)


def test_shard_option_keeps_seeds_for_the_fleet_to_split() -> None:
    import argparse

    from monitor.commands.common import add_config_options, resolve_config

    parser = argparse.ArgumentParser()
    add_config_options(parser)
    args = parser.parse_args(["redis://a:1", "redis://b:2", "redis://c:3", "--shard", "1/2"])
    config = resolve_config(args)
    assert config.shard is not None and str(config.shard) == "1/2"
    assert len(config.targets) == 3  # seeds stay: a seed may be a cluster to discover
    with pytest.raises(SystemExit):
        parser.parse_args(["--shard", "2/2"])
