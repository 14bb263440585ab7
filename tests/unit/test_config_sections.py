"""Settings, one way: every section's owner declares its keys and parser, loading a config
checks every key, `cachewatch check` runs every parser, and config.example.toml shows every
key there is."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from alerts.service import _RECEIVER_KEYS, _ROUTE_KEYS, ALERTS_KEYS
from collectors.registry import collector_options, load_collector_classes
from monitor import config as config_module
from monitor.cli import main
from monitor.config import ConfigError, load_config
from monitor.exporter.settings import EXPORTER_SECTION
from monitor.sections import SECTION_OWNERS, SectionContext, _ReadKeys, section_spec
from ui.web.settings import WEB_KEYS

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config.example.toml"


def hotkeys_keys() -> set[str]:
    """The keys `_options` reads, with the conditional ones switched on."""
    table = _ReadKeys({"mask_regex": "^s:(.*)$"})
    section_spec("hotkeys").parse(table, SectionContext(ROOT))
    return table.read


def example_keys() -> dict[str, set[str]]:
    """section (`alerts.receivers` for arrays of tables) -> keys written in the example,
    commented out or not."""
    found: dict[str, set[str]] = {}
    section = ""
    for line in EXAMPLE.read_text().splitlines():
        text = line.lstrip("# ").rstrip()
        if header := re.fullmatch(r"\[\[?([a-z_.]+)\]\]?", text):
            section = header.group(1)
        elif key := re.match(r"([a-z_0-9]+) = ", text):
            found.setdefault(section, set()).add(key.group(1))
    return found


def test_every_owned_section_has_a_spec() -> None:
    for name in SECTION_OWNERS:
        assert section_spec(name).name == name


def test_the_example_shows_every_key() -> None:
    shown = example_keys()
    declared = {
        "global": config_module._GLOBAL_KEYS,
        "store": config_module._STORE_KEYS,
        "targets": config_module._TARGET_KEYS,
        "collectors": {"disabled", *collector_options(load_collector_classes())},
        "web": set(WEB_KEYS),
        "exporter": set(EXPORTER_SECTION.keys or ()),
        "alerts": ALERTS_KEYS - {"receivers", "routes"},
        "alerts.receivers": _RECEIVER_KEYS,
        "alerts.routes": _ROUTE_KEYS,
        "hotkeys": hotkeys_keys(),
    }
    for section, keys in declared.items():
        missing = set(keys) - shown.get(section, set())
        assert not missing, f"config.example.toml [{section}] does not show {sorted(missing)}"
        extra = shown.get(section, set()) - set(keys)
        assert not extra, f"config.example.toml [{section}] shows unknown keys {sorted(extra)}"


def test_the_example_passes_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "-c", str(EXAMPLE)]) == 0, capsys.readouterr().err


def check(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    path = tmp_path / "cachewatch.toml"
    path.write_text(textwrap.dedent(text))
    code = main(["check", "-c", str(path)])
    return code, capsys.readouterr().err


def test_loading_rejects_unknown_keys_of_every_owner(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        '[web]\nthem = "dark"\n[exporter]\nlisten_on = ":1"\n'
        "[alerts]\nrule_file = []\n[hotkeys]\ncomand_budget = 5\n[collectors]\nslowlog_arg = 1\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    for key in (
        "web.them",
        "exporter.listen_on",
        "alerts.rule_file",
        "hotkeys.comand_budget",
        "collectors.slowlog_arg",
    ):
        assert f"{key}: unknown key" in text, text
    # the hot-key parser is the one place its keys are written: the hint comes from it
    assert "command_budget" in text.split("hotkeys.comand_budget")[1].splitlines()[0]


def test_check_runs_every_parser(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "bad.yml").write_text(
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: rate(x[5m]\n"
    )
    code, err = check(
        tmp_path,
        """
        [collectors]
        disabled = ["redis_slowlgo"]
        [web]
        listen = "0.0.0.0:8050"
        [exporter]
        listen = "127.0.0.1:notaport"
        [alerts]
        rule_files = ["rules/*.yml", "missing/*.yml"]
        [[alerts.receivers]]
        name = "hook"
        type = "webhook"
        url_env = "CACHEWATCH_TEST_UNSET_VARIABLE"
        [[alerts.receivers]]
        name = "pager"
        type = "pagerduty"
        [[alerts.routes]]
        receiver = "nobody"
        [hotkeys]
        top = "many"
        """,
        capsys,
    )
    assert code == 2
    # loading stops at the first layer's problems (unknown collector): fix, check again
    assert "collectors.disabled: no collector named 'redis_slowlgo'" in err
    code, err = check(
        tmp_path,
        (tmp_path / "cachewatch.toml").read_text().replace('"redis_slowlgo"', ""),
        capsys,
    )
    assert code == 2
    for expected in (
        "web.listen: refusing to listen on '0.0.0.0:8050' without authentication",
        "exporter.listen: listen address '127.0.0.1:notaport'",
        "alerts.receivers[0].url_env: environment variable CACHEWATCH_TEST_UNSET_VARIABLE",
        "alerts.receivers[1].type: 'pagerduty' is not one of",
        "alerts.routes[0].receiver: 'nobody' is not a configured receiver",
        "[hotkeys]",
    ):
        assert expected in err, err


def test_check_reports_rule_file_problems_and_empty_globs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "bad.yml").write_text(
        "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: rate(x[5m]\n"
    )
    code, err = check(tmp_path, '[alerts]\nrule_files = ["rules/*.yml", "missing/*.yml"]\n', capsys)
    assert code == 2
    assert "'missing/*.yml' matches no file" in err, err
    assert "bad.yml:5" in err, err  # the rule file's own problem, with its position


def test_search_order(tmp_path: Path) -> None:
    from monitor.config_search import SYSTEM_CONFIG, find_config, search_path

    xdg = tmp_path / "xdg"
    env = {"XDG_CONFIG_HOME": str(xdg), "HOME": str(tmp_path)}
    assert search_path(env) == [xdg / "cachewatch" / "cachewatch.toml", SYSTEM_CONFIG]
    assert search_path({"HOME": "/home/u"})[0] == Path("/home/u/.config/cachewatch/cachewatch.toml")
    if not SYSTEM_CONFIG.exists():
        assert find_config(None, env=env) is None
    (xdg / "cachewatch").mkdir(parents=True)
    (xdg / "cachewatch" / "cachewatch.toml").write_text("")
    assert find_config(None, env=env) == str(xdg / "cachewatch" / "cachewatch.toml")
    # URLs on the command line: an ad-hoc run skips the searched files ...
    assert find_config(None, ad_hoc=True, env=env) is None
    # ... but not $CACHEWATCH_CONFIG, and -c beats everything
    env["CACHEWATCH_CONFIG"] = "/from/env.toml"
    assert find_config(None, ad_hoc=True, env=env) == "/from/env.toml"
    assert find_config("given.toml", env=env) == "given.toml"
