"""A slim install: `pip install cachewatch` in a fresh venv brings no UI stack (dash, plotly,
flask, textual, rich) and no load generators (redis-py, pymemcache), and the core commands
work there against real servers; commands that need an extra name it (exit 3);
`cachewatch[all]` resolves to everything.

The venv is built once per machine and dependency set (keyed by pyproject.toml and
constraints.txt, under the temp dir, behind a lock so parallel workers share it); each run
reinstalls only the freshly built cachewatch wheel into it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers import LocalMemcached, LocalRedis, free_port
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
UI_AND_DEMO = ("dash", "plotly", "flask", "textual", "rich", "redis", "pymemcache")


@dataclass(frozen=True)
class SlimVenv:
    path: Path
    wheel: Path
    all_report: dict[str, object]

    @property
    def cachewatch(self) -> str:
        return str(self.path / "bin" / "cachewatch")

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
        return subprocess.run(
            [self.cachewatch, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=tempfile.gettempdir(),  # not the source tree: the installed package only
            env=env,
        )


def _pip(python: Path, *args: str) -> None:
    subprocess.run(
        [str(python), "-m", "pip", "-q", "--disable-pip-version-check", *args],
        check=True,
        capture_output=True,
        timeout=900,
    )


@pytest.fixture(scope="module")
def slim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlimVenv]:
    if shutil.which("python3") is None:
        pytest.skip("no python3 to make a venv with")
    key = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + (ROOT / "constraints.txt").read_bytes()
    ).hexdigest()[:16]
    cache = Path(tempfile.gettempdir()) / "cachewatch-test-venvs"
    cache.mkdir(exist_ok=True)
    wheels = tmp_path_factory.mktemp("wheel")
    _pip(Path(sys.executable), "wheel", "--no-deps", "-w", str(wheels), str(ROOT))
    (wheel,) = wheels.glob("cachewatch-*.whl")
    venv = cache / key
    report_path = cache / f"{key}-all.json"
    with (cache / f"{key}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        python = venv / "bin" / "python"
        if not (venv / ".complete").exists():
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
            _pip(python, "install", "-c", str(ROOT / "constraints.txt"), str(wheel))
            # what `pip install 'cachewatch[all]'` would bring, resolved without installing
            constraints = str(ROOT / "constraints.txt")
            _pip(python, "install", "--dry-run", "--ignore-installed", "--report",
                 str(report_path), "-c", constraints, f"{wheel}[all]")  # fmt: skip
            (venv / ".complete").touch()
        installed = venv / ".wheel-content"
        content = _content_hash(wheel)
        if not installed.exists() or installed.read_text() != content:
            # another worker of this run may be using the venv: only a changed package is
            # reinstalled, and every worker builds the same content from the same tree
            _pip(python, "install", "--no-deps", "--force-reinstall", str(wheel))
            installed.write_text(content)
        report = json.loads(report_path.read_text())
    yield SlimVenv(venv, wheel, report)


def _content_hash(wheel: Path) -> str:
    """The wheel's files, not its zip timestamps."""
    digest = hashlib.sha256()
    with zipfile.ZipFile(wheel) as archive:
        for name in sorted(archive.namelist()):
            digest.update(name.encode() + archive.read(name))
    return digest.hexdigest()


def _installed(venv: Path) -> set[str]:
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "list", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {p["name"].lower() for p in json.loads(out)}


def test_a_slim_install_brings_no_ui_stack(slim: SlimVenv) -> None:
    installed = _installed(slim.path)
    assert "cachewatch" in installed and "numpy" in installed
    assert not installed & set(UI_AND_DEMO), sorted(installed & set(UI_AND_DEMO))
    version = slim.run("--version")
    assert version.returncode == 0 and version.stdout.startswith("cachewatch 0."), version


def test_all_resolves_to_everything(slim: SlimVenv) -> None:
    names = {item["metadata"]["name"].lower() for item in slim.all_report["install"]}  # type: ignore[attr-defined,index]
    assert set(UI_AND_DEMO) <= names, sorted(set(UI_AND_DEMO) - names)


def test_test_extra_pulls_all_and_demo() -> None:
    """scripts/bootstrap --test installs `.[test]`: it must bring the UIs and the demo too."""
    from importlib.metadata import requires

    from packaging.requirements import Requirement

    def own_extras(extra: str) -> set[str]:
        found = [Requirement(r) for r in requires("cachewatch") or []]
        marker = {"extra": extra}
        return {
            e for r in found if r.name == "cachewatch" and r.marker and r.marker.evaluate(marker)
            for e in r.extras
        }  # fmt: skip

    assert own_extras("test") == {"all"}
    assert own_extras("all") == {"tui", "web", "demo"}
    assert own_extras("demo") == {"tui", "web"}


def test_core_commands_work_in_the_slim_install(
    slim: SlimVenv, redis_server: LocalRedis, memcached_server: LocalMemcached, tmp_path: Path
) -> None:
    urls = [redis_server.url, memcached_server.url]
    once = slim.run("poll", *urls, "--once", "--format", "json")
    assert once.returncode == 0, once.stderr
    assert any(json.loads(line)["name"] == "memcached_up" for line in once.stdout.splitlines())

    # export: /metrics of both targets
    port = free_port()
    log = tmp_path / "export.log"
    with log.open("w") as sink:
        export = subprocess.Popen(
            [slim.cachewatch, "export", *urls, "--interval", "1s", "--listen",
             f"127.0.0.1:{port}"],
            stdout=sink, stderr=subprocess.STDOUT, cwd=tempfile.gettempdir(),
        )  # fmt: skip

    def metrics() -> str:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                return r.read().decode()
        except OSError:
            return ""

    try:
        wait_for(lambda: "redis_up" in metrics() and "memcached_up" in metrics(), 60, "/metrics")
    finally:
        export.send_signal(signal.SIGTERM)
        assert export.wait(20) == 0, log.read_text()

    # poll into a store, then query it, check rules and a config, list alerts
    store = tmp_path / "store"
    with (tmp_path / "poll.log").open("w") as sink:
        poll = subprocess.Popen(
            [slim.cachewatch, "poll", redis_server.url, "--interval", "1s", "--store", str(store)],
            stdout=sink, stderr=subprocess.STDOUT, cwd=tempfile.gettempdir(),
        )  # fmt: skip
    try:
        wait_for(
            lambda: (
                redis_server.address in slim.run("query", "redis_up", "--store", str(store)).stdout
            ),
            60,
            "a sample in the store",
        )
    finally:
        poll.send_signal(signal.SIGINT)
        assert poll.wait(20) == 0
    pack = slim.path.glob("lib/python3*/site-packages/alerts/rules/*.yml")
    rules = slim.run("rules", "check", *map(str, pack))
    assert rules.returncode == 0 and "SUCCESS" in rules.stdout, rules.stdout + rules.stderr
    config = tmp_path / "cachewatch.toml"
    config.write_text((ROOT / "config.example.toml").read_text())
    checked = slim.run("check", "-c", str(config))
    assert checked.returncode == 0, checked.stderr  # [web] is checked without Dash
    alerts = slim.run("alerts", "list", "--state-dir", str(tmp_path / "alerts"))
    assert alerts.returncode == 0 and "no pending or firing alerts" in alerts.stdout


@pytest.mark.parametrize(("command", "extra"), [("tui", "tui"), ("serve", "web"), ("demo", "demo")])
def test_commands_that_need_an_extra_name_it(slim: SlimVenv, command: str, extra: str) -> None:
    result = slim.run(command, "redis://127.0.0.1:1") if command != "demo" else slim.run(command)
    assert result.returncode == 3, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"pip install 'cachewatch[{extra}]'" in lines[0], lines
