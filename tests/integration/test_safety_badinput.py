"""Bad input that is not HTTP: target definitions in a config (each problem named with the
entry's index as written in the file, no password echoed) and hostile server replies (the
engine keeps polling everything else)."""

from __future__ import annotations

import logging
import socket
import threading
from pathlib import Path

import pytest

from monitor.config import ConfigError, config_from_urls, load_config
from monitor.poller import TargetStatus
from monitor.runtime import Runtime
from tests.servers import LocalRedis
from tests.waiting import wait_for

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


#: what a broken or hostile "Redis" might answer to anything
BAD_REPLIES = {
    "garbage": b"\x00\xffHTTP/1.1 400 Bad Request\r\n\r\n",
    "huge-bulk": b"$999999999999\r\n",
    "deep-nesting": b"*1\r\n" * 200_000,
    "negative-array": b"*-5\r\n+OK\r\n",
    "bad-integer": b":12x\r\n",
    "unterminated": b"+OK",
}


class BadServer:
    """Answers every connection with one canned reply, then keeps it open or closes it."""

    def __init__(self, reply: bytes) -> None:
        self.reply = reply
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                try:
                    conn.settimeout(0.5)
                    conn.recv(65536)
                    conn.sendall(self.reply)
                    conn.recv(65536)  # leave it hanging until the client gives up
                except OSError:
                    pass

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(5)
        self.sock.close()


def test_hostile_replies_never_stop_the_engine(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    good = LocalRedis().start()
    bad = {name: BadServer(reply) for name, reply in BAD_REPLIES.items()}
    try:
        urls = [good.url] + [f"redis://127.0.0.1:{server.port}" for server in bad.values()]
        runtime = Runtime(config_from_urls(urls, interval_s=0.5), with_store=False)
        runtime.start_background()
        bad_instances = {f"127.0.0.1:{server.port}": name for name, server in bad.items()}

        def statuses() -> dict[str, TargetStatus]:
            return {s.target.instance: s for s in runtime.statuses()}

        try:
            wait_for(
                lambda: all(statuses()[i].consecutive_failures >= 3 for i in bad_instances),
                60,
                "three failed polls of every hostile server",
            )
            for instance, name in bad_instances.items():
                assert statuses()[instance].up is False, name
                assert statuses()[instance].last_error, name
            # and the engine still polls the good one, after all that
            polled_at = statuses()[good.address].last_poll_ms
            wait_for(
                lambda: statuses()[good.address].last_poll_ms > polled_at,
                30,
                "another poll of the good server",
            )
            assert statuses()[good.address].up, statuses()[good.address].last_error
        finally:
            runtime.stop_background()
    finally:
        for server in bad.values():
            server.stop()
        good.stop()
    assert "Traceback" not in caplog.text
