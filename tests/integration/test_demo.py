"""`cachewatch demo` end to end: local servers come up under load, get polled and shown,
and everything it started is gone after it is stopped."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

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
        assert "memcached" in text
        started = descendants(demo.pid)
        assert len(started) >= 8  # redis x7, memcached, the workload
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
