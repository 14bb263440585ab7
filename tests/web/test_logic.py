"""The dashboard's pure logic, without a browser: auth, CSRF, listen safety, URL state,
settings, latency histograms and number formatting."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Any

import pytest

from monitor.secrets import Secret
from ui.web.security import CSRF_COOKIE, AuthSettings, SecureApp
from ui.web.server import InsecureListenError, check_listen
from ui.web.settings import WebSettingsError, parse_web_settings
from ui.web.units import fmt_bytes, fmt_percent, fmt_rate, fmt_usec
from ui.web.urlstate import parse_query, with_params

AUTH = AuthSettings("ops", Secret("s3cret"), Secret("tok"))


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_auth_accepts_only_the_right_user_password_or_token() -> None:
    assert AUTH.check(basic("ops", "s3cret")) == "ops"
    assert AUTH.check(basic("ops", "wrong")) is None
    assert AUTH.check(basic("root", "s3cret")) is None
    assert AUTH.check("Bearer tok") == "token"
    assert AUTH.check("Bearer nope") is None
    assert AUTH.check("Basic !!!not-base64") is None
    assert AUTH.check(None) is None


class Recorder:
    """A WSGI app that records what reached it."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        self.calls.append(environ)
        start_response("200 OK", [("Content-Type", "text/html")])
        return [b"ok"]


def call(
    app: SecureApp, path: str, method: str = "GET", **headers: str
) -> tuple[str, dict[str, str]]:
    environ = {"PATH_INFO": path, "REQUEST_METHOD": method, "wsgi.url_scheme": "http"}
    environ.update({"HTTP_" + k.upper(): v for k, v in headers.items()})
    seen: dict[str, Any] = {}

    def start_response(
        status: str, response_headers: list[tuple[str, str]], exc_info: Any = None
    ) -> None:
        seen["status"] = status
        seen["headers"] = dict(response_headers)

    b"".join(app(environ, start_response))
    return seen["status"], seen["headers"]


def test_auth_guards_everything_but_the_health_endpoints() -> None:
    inner = Recorder()
    app = SecureApp(inner, AUTH, "default-src 'self'")
    assert call(app, "/-/healthy")[0].startswith("200")
    status, headers = call(app, "/")
    assert status.startswith("401") and headers["WWW-Authenticate"].startswith("Basic")
    assert call(app, "/metrics", authorization=basic("ops", "bad"))[0].startswith("401")
    status, headers = call(app, "/", authorization=basic("ops", "s3cret"))
    assert status.startswith("200")
    assert headers["Content-Security-Policy"] == "default-src 'self'"
    assert CSRF_COOKIE in headers["Set-Cookie"] and "SameSite=Strict" in headers["Set-Cookie"]
    assert inner.calls[-1]["REMOTE_USER"] == "ops"


def test_callbacks_need_the_csrf_token_from_the_same_origin() -> None:
    app = SecureApp(Recorder(), None, "default-src 'self'")
    token = "t" * 40
    cookie = f"{CSRF_COOKIE}={token}"
    path = "/_dash-update-component"
    assert call(app, path, "POST")[0].startswith("403")
    assert call(app, path, "POST", cookie=cookie)[0].startswith("403")
    assert call(app, path, "POST", cookie=cookie, x_csrftoken="x" * 40)[0].startswith("403")
    assert call(
        app, path, "POST", cookie=cookie, x_csrftoken=token, host="a:1", origin="http://evil:1"
    )[0].startswith("403")
    assert call(
        app, path, "POST", cookie=cookie, x_csrftoken=token, host="a:1", origin="http://a:1"
    )[0].startswith("200")


def test_listening_beyond_loopback_needs_auth_or_the_explicit_flag() -> None:
    check_listen("127.0.0.1:8050", None, False)
    check_listen("[::1]:8050", None, False)
    check_listen("0.0.0.0:8050", AUTH, False)
    check_listen("0.0.0.0:8050", None, True)
    with pytest.raises(InsecureListenError, match="--allow-insecure-listen"):
        check_listen("0.0.0.0:8050", None, False)
    with pytest.raises(InsecureListenError):
        check_listen("10.1.2.3:8050", AuthSettings(), False)


def test_web_settings_read_secrets_and_name_bad_keys(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pw").write_text("from-file\n")
    monkeypatch.setenv("CW_TOKEN", "from-env")
    settings = parse_web_settings(
        {
            "auth_username": "ops",
            "auth_password_file": str(tmp_path / "pw"),
            "bearer_token_env": "CW_TOKEN",
        }
    )
    assert settings.auth.check(basic("ops", "from-file")) == "ops"
    assert settings.auth.check("Bearer from-env") == "token"
    with pytest.raises(WebSettingsError) as bad:
        parse_web_settings({"auth_password_env": "CW_UNSET_VARIABLE", "theme": "pink"})
    text = str(bad.value)
    assert "CW_UNSET_VARIABLE" in text and "web.theme" in text


def test_url_state_round_trips_and_tolerates_hand_edits() -> None:
    view = parse_query("?range=6h&refresh=off&instance=10.0.0.5:6379")
    assert (view.range, view.refresh, view.get("instance")) == ("6h", "off", "10.0.0.5:6379")
    assert parse_query("?range=3y&refresh=1ms").range == "1h"
    search = with_params("?range=6h&instance=a", keep_only_global=True, cluster="c")
    assert parse_query(search).params == {"cluster": "c"} and parse_query(search).range == "6h"
    assert with_params("?q=x", q=None) == ""


def test_units_read_like_people_write_them() -> None:
    assert fmt_bytes(1536) == "1.5 KiB"
    assert fmt_bytes(3.5 * 2**30) == "3.5 GiB"
    assert fmt_rate(56_000) == "56k ops/s"
    assert fmt_usec(1500) == "1.5 ms"
    assert fmt_percent(0.973) == "97.3 %"
    assert fmt_bytes(float("nan")) == "—"


def test_serve_refuses_a_public_address_without_auth() -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "monitor",
            "serve",
            "redis://127.0.0.1:1",
            "--listen",
            "0.0.0.0:8050",
            "--store",
            "/nonexistent/never-created",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--allow-insecure-listen" in result.stderr


def test_a_snapshot_older_than_two_intervals_is_recomputed_before_it_is_served() -> None:
    """The first page load after a quiet while showed minutes-old figures under a current
    "updated" clock; a stale snapshot is now computed afresh, in the request."""
    import time

    from tests.waiting import wait_for
    from ui.web.snapshot import STALE_AFTER, Snapshot

    computed: list[float] = []

    def compute() -> float:
        computed.append(time.monotonic())
        return computed[-1]

    snapshot = Snapshot(compute, max_age_s=0.05)
    first = snapshot.get()
    assert snapshot.get() == first  # fresh: served as it is
    taken = time.monotonic()
    wait_for(lambda: time.monotonic() - taken > STALE_AFTER * 0.05 + 0.01, 5, "staleness")
    assert snapshot.get() > first  # stale: this very call computed a new value
    assert len(computed) == 2


def test_the_default_range_fits_a_short_history() -> None:
    from ui.web.ranges import fitted_range, range_in

    assert fitted_range(None) == "1h"  # no data yet: the default
    assert fitted_range(90) == "5m"
    assert fitted_range(300) == "5m"
    assert fitted_range(301) == "15m"
    assert fitted_range(20 * 60) == "1h"
    assert fitted_range(5 * 3600) == "1h"  # never longer than the default
    assert range_in("?range=6h&instance=x") and not range_in("?instance=x") and not range_in(None)
