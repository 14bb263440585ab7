"""`cachewatch demo` end to end: local servers come up under load, get polled and shown,
and everything it started is gone after it is stopped."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.servers import free_port


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return "?"


def redis_ports(pids: set[int]) -> list[int]:
    """Redis sets its process title to `redis-server 127.0.0.1:PORT [cluster]`."""
    found = (re.match(r"\S*redis-server \S*:(\d+) \[cluster\]", cmdline(pid)) for pid in pids)
    return sorted(int(m.group(1)) for m in found if m)


def cluster_info(port: int) -> dict[str, str]:
    out = subprocess.run(
        ["redis-cli", "-p", str(port), "cluster", "info"], capture_output=True, text=True
    ).stdout
    return dict(line.strip().split(":", 1) for line in out.splitlines() if ":" in line)


def test_demo_polls_local_fleet_and_cleans_up(tmp_path: Path) -> None:
    out = tmp_path / "demo.out"
    with out.open("w") as sink:
        demo = subprocess.Popen(
            [sys.executable, "-m", "monitor", "demo", "--listen", f"127.0.0.1:{free_port()}"],
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        deadline = time.monotonic() + 90
        text = ""
        while time.monotonic() < deadline:
            text = out.read_text()
            # one table printed after the fleet was polled: 1 standalone + 6 cluster nodes +
            # memcached, every one of them up
            if text.count(" up ") >= 8 or text.count("│ up") >= 8:
                break
            assert demo.poll() is None, text
            time.sleep(1)
        else:
            raise AssertionError(f"demo never showed 8 targets up:\n{text[-3000:]}")
        assert "dashboard at http://127.0.0.1:" in text
        assert "starting redis (standalone + 3x2 cluster) and memcached" in text
        assert "memcached" in text
        started = descendants(demo.pid)
        assert len(started) >= 8  # redis x7, memcached, the workload
        # It starts quiet: the restart alerts its own fresh servers raise are evaluated and
        # silenced (the caption counts them), and nothing else fires about a healthy start.
        while time.monotonic() < deadline + 60:
            text = out.read_text()
            captions = [line for line in text.splitlines() if "alerts firing:" in line]
            if captions and "silenced" in captions[-1]:
                break
            assert demo.poll() is None, text
            time.sleep(1)
        else:
            raise AssertionError(f"the restart alerts were never evaluated:\n{text[-3000:]}")
        assert "Restarted" not in captions[-1], captions[-1]
        # ... and stays stable: no failover happened (each one raises the cluster's epoch
        # above the six that `redis-cli --cluster create` hands out)
        epochs = [
            int(cluster_info(p).get("cluster_current_epoch", "0")) for p in redis_ports(started)
        ]
        assert len(epochs) == 6 and max(epochs) <= 6, epochs
        # hot keys work on every target it starts (LFU on the Redis ones, watch on memcached)
        dashboard = re.search(r"dashboard at (http://127\.0\.0\.1:\d+)", text)
        assert dashboard is not None

        def hot_keys() -> dict[str, list[dict[str, Any]]]:
            with urllib.request.urlopen(f"{dashboard.group(1)}/api/v1/cachewatch/hotkeys") as r:
                return {t["target"]: t["keys"] for t in json.load(r)["data"]}

        found: dict[str, list[dict[str, Any]]] = {}
        while time.monotonic() < deadline + 150:
            found = hot_keys()
            if len(found) == 8 and all(found.values()):
                break
            time.sleep(2)
        else:
            raise AssertionError(f"targets without hot keys: {found}")
        for keys in found.values():  # nothing listed that is surely cold
            assert all(k["ops_per_sec"] is None or k["ops_per_sec"] + (k["error"] or 0) >= 0.1
                       for k in keys), keys  # fmt: skip
    finally:
        demo.send_signal(signal.SIGTERM)
        demo.wait(30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        alive = {pid: cmdline(pid) for pid in started if running(pid)}
        if not alive:
            break
        time.sleep(0.2)
    assert alive == {}


def test_a_backgrounded_demo_stops_on_sigint(tmp_path: Path) -> None:
    """A shell starts a background job (`scripts/demo &`) with SIGINT ignored; the demo
    must still stop on kill -INT, and say what it starts (no cluster with --no-cluster)."""
    out = tmp_path / "demo.out"
    with out.open("w") as sink:
        demo = subprocess.Popen(
            [sys.executable, "-m", "monitor", "demo", "--no-cluster", "--web",
             "--listen", f"127.0.0.1:{free_port()}"],
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while "Ctrl-C stops everything" not in out.read_text():
            assert demo.poll() is None and time.monotonic() < deadline, out.read_text()
            time.sleep(0.2)
        started = descendants(demo.pid)
        demo.send_signal(signal.SIGINT)
        assert demo.wait(30) == 0, out.read_text()
    finally:
        if demo.poll() is None:
            demo.kill()
    text = out.read_text()
    assert "starting redis (standalone) and memcached" in text and "cluster" not in text
    deadline = time.monotonic() + 10
    while any(running(pid) for pid in started) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [cmdline(pid) for pid in started if running(pid)]


def test_a_taken_listen_address_is_one_clear_line_and_nothing_left_running() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        demo = subprocess.Popen(
            [sys.executable, "-m", "monitor", "demo", "--listen", f"127.0.0.1:{port}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        started: set[int] = set()
        deadline = time.monotonic() + 120
        while demo.poll() is None and time.monotonic() < deadline:
            started |= descendants(demo.pid)
            time.sleep(0.2)
        out, err = demo.communicate(timeout=30)
    assert demo.returncode == 2, (out, err)
    assert f"cannot listen on '127.0.0.1:{port}'" in err and "--listen" in err
    assert "Traceback" not in err
    assert not [pid for pid in started if running(pid)]
