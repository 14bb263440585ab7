"""Targets over TLS (CA + client certificate), unix sockets and ACL users, with secrets
that never show in output, logs or errors."""

from __future__ import annotations

import asyncio
import logging
import subprocess
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.runtime import poll_once
from tests.servers import LocalRedis, free_port

PASSWORD = "s3cretPassw0rdForTests"


def make_certs(directory: Path) -> dict[str, Path]:
    """A throwaway CA, a server certificate for 127.0.0.1 and a client certificate."""

    def run(*args: str) -> None:
        subprocess.run(
            ["openssl", *args], check=True, capture_output=True, cwd=directory, timeout=60
        )

    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=test-ca",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
    )
    for name in ("server", "client"):
        run(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            f"/CN={name}",
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
        )
        (directory / f"{name}.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        run(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            f"{name}.crt",
            "-extfile",
            f"{name}.ext",
        )
    return {
        n: directory / n for n in ("ca.crt", "server.crt", "server.key", "client.crt", "client.key")
    }


def value_of(statuses: list, name: str) -> float:
    (status,) = statuses
    batch = status.last_batch
    return batch.values[batch.names.index(name)]


def test_tls_with_client_certificate(tmp_path: Path) -> None:
    certs = make_certs(tmp_path)
    tls_port = free_port()
    server = LocalRedis(
        extra=[
            "--tls-port",
            str(tls_port),
            "--tls-cert-file",
            str(certs["server.crt"]),
            "--tls-key-file",
            str(certs["server.key"]),
            "--tls-ca-cert-file",
            str(certs["ca.crt"]),
            "--tls-auth-clients",
            "yes",
        ]
    ).start()
    try:
        config_path = tmp_path / "c.toml"
        config_path.write_text(f"""
[[targets]]
url = "rediss://127.0.0.1:{tls_port}"
tls_ca_file = "{certs["ca.crt"]}"
tls_cert_file = "{certs["client.crt"]}"
tls_key_file = "{certs["client.key"]}"
""")
        statuses = asyncio.run(poll_once(load_config(config_path)))
        assert statuses[0].last_error is None
        assert value_of(statuses, "redis_up") == 1.0
        # without the client certificate the server refuses us: down, with a reason
        config_path.write_text(f"""
[[targets]]
url = "rediss://127.0.0.1:{tls_port}"
tls_ca_file = "{certs["ca.crt"]}"
""")
        statuses = asyncio.run(poll_once(load_config(config_path)))
        assert value_of(statuses, "redis_up") == 0.0 and statuses[0].last_error
    finally:
        server.stop()


def test_unix_socket_target(tmp_path: Path) -> None:
    socket_path = tmp_path / "redis.sock"
    server = LocalRedis(extra=["--unixsocket", str(socket_path), "--unixsocketperm", "700"])
    server.start()
    try:
        from monitor.config import config_from_urls

        statuses = asyncio.run(poll_once(config_from_urls([f"unix://{socket_path}"])))
        assert value_of(statuses, "redis_up") == 1.0
        assert dict(statuses[0].last_batch.target_labels)["instance"] == str(socket_path)
    finally:
        server.stop()


def test_acl_user_password_from_env_never_leaks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    server = LocalRedis(
        extra=["--user", "default", "off", "--user", "monitor", "on", f">{PASSWORD}", "~*", "+@all"]
    ).start()
    try:
        monkeypatch.setenv("CW_TEST_PASSWORD", PASSWORD)
        config_path = tmp_path / "c.toml"
        config_path.write_text(f"""
[[targets]]
url = "{server.url}"
username = "monitor"
password_env = "CW_TEST_PASSWORD"
""")
        caplog.set_level(logging.DEBUG)
        statuses = asyncio.run(poll_once(load_config(config_path)))
        assert value_of(statuses, "redis_up") == 1.0
        # a wrong password: down, a clear error, and neither password anywhere
        monkeypatch.setenv("CW_TEST_PASSWORD", "wrong-" + PASSWORD)
        statuses = asyncio.run(poll_once(load_config(config_path)))
        assert value_of(statuses, "redis_up") == 0.0
        error = statuses[0].last_error or ""
        assert "AUTH failed" in error
        shown = error + caplog.text + repr(statuses)
        assert PASSWORD not in shown
        assert not any(PASSWORD in value for _, value in statuses[0].last_batch.target_labels)
    finally:
        server.stop()
