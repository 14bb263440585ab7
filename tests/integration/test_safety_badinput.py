"""Bad target definitions in a config: each problem is named with where it is (the entry's
index as written in the file) and no password is echoed."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import ConfigError, load_config

SECRET = "NeverEchoed9"


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return [line.split(": ", 1)[1] for line in caught.value.problems]


def test_bad_targets_are_named_by_their_place_in_the_file(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        f"""
[[targets]]
url = "redis://127.0.0.1:7001"

[[targets]]
url = "redis://127.0.0.1:0"

[[targets]]
url = "redis://u:{SECRET[:4]}#{SECRET[4:]}@127.0.0.1:7002"

[[targets]]
url = "redis://127.0.0.1:7001"
""",
    )
    assert any(p.startswith("targets[1].url:") and "port 0" in p for p in found), found
    assert any(p.startswith("targets[2].url:") and "percent-encode" in p for p in found), found
    # the duplicate comes after two bad entries: it is the fourth entry, not the second
    duplicate = [p for p in found if "duplicate" in p]
    assert duplicate == [
        "targets[3].url: duplicate target redis://127.0.0.1:7001 (also targets[0])"
    ], found
    assert not any(SECRET[:4] in p or SECRET[4:] in p for p in found), found
