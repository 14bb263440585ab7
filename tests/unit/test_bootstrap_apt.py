"""scripts/bootstrap adds bookworm-backports on the mirror the machine's apt sources already
use (scripts/apt_backports.py), in whichever format it found it, and the repository names
no mirror host of its own."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("apt_backports", ROOT / "scripts/apt_backports.py")
assert _spec is not None and _spec.loader is not None
apt_backports = importlib.util.module_from_spec(_spec)
sys.modules["apt_backports"] = apt_backports
_spec.loader.exec_module(apt_backports)


def apt_dir(tmp_path: Path, files: dict[str, str]) -> Path:
    (tmp_path / "sources.list.d").mkdir(parents=True)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def test_one_line_sources(tmp_path: Path) -> None:
    root = apt_dir(
        tmp_path,
        {
            "sources.list": "# deb http://commented.example/debian bookworm main\n"
            "deb http://mirror.internal/debian-security bookworm-security main\n"
            "deb-src http://mirror.internal/debian bookworm main\n"
            "deb [arch=amd64 signed-by=/etc/keys/mirror.gpg] http://mirror.internal/debian "
            "bookworm main contrib # the release\n"
            "deb http://mirror.internal/debian bookworm-updates main\n",
        },
    )
    mirror = apt_backports.find_mirror("bookworm", root)
    assert mirror.uri == "http://mirror.internal/debian" and not mirror.deb822
    name, content = apt_backports.backports_source(mirror, "bookworm")
    assert name == "cachewatch-backports.list"
    expected = "deb [signed-by=/etc/keys/mirror.gpg] http://mirror.internal/debian"
    assert content == f"{expected} bookworm-backports main\n"


def test_deb822_sources(tmp_path: Path) -> None:
    root = apt_dir(
        tmp_path,
        {
            "sources.list.d/debian.sources": "Types: deb\n"
            "# a comment inside the stanza\n"
            "URIs: http://old.internal/debian\n"
            "Suites: bookworm\n"
            "Components: main\n"
            "Enabled: no\n"
            "\n"
            "Types: deb deb-src\n"
            "URIs: https://cache.internal/debian https://second.internal/debian\n"
            "Suites: bookworm bookworm-updates\n"
            "Components: main\n"
            "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
            "\n"
            "Types: deb\n"
            "URIs: https://cache.internal/debian-security\n"
            "Suites: bookworm-security\n"
            "Components: main\n",
            # our own earlier file is never the source of the mirror
            "sources.list.d/cachewatch-backports.list": "deb http://stale/debian bookworm main\n",
        },
    )
    mirror = apt_backports.find_mirror("bookworm", root)
    assert mirror.uri == "https://cache.internal/debian" and mirror.deb822
    name, content = apt_backports.backports_source(mirror, "bookworm")
    assert name == "cachewatch-backports.sources"
    assert content == (
        "Types: deb\nURIs: https://cache.internal/debian\nSuites: bookworm-backports\n"
        "Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    )


def test_write_and_no_source(tmp_path: Path) -> None:
    root = apt_dir(tmp_path, {"sources.list.d/x.list": "deb http://m.internal/d bookworm main\n"})
    assert apt_backports.main(["trixie", "--apt-dir", str(root)]) == 1
    assert apt_backports.main(["bookworm", "--apt-dir", str(root), "--write"]) == 0
    written = (root / "sources.list.d" / "cachewatch-backports.list").read_text()
    assert written == "deb http://m.internal/d bookworm-backports main\n"


def test_this_machines_sources() -> None:
    """On this machine the mirror comes from its own apt sources, whatever they name."""
    release = dict(
        line.split("=", 1)
        for line in Path("/etc/os-release").read_text().splitlines()
        if "=" in line
    )
    codename = release.get("VERSION_CODENAME", "").strip('"')
    mirror = apt_backports.find_mirror(codename) if codename else None
    if mirror is None:
        pytest.skip(f"no apt source for {codename or 'this release'} on this machine")
    assert mirror.uri in mirror.found_in.read_text()
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts/apt_backports.py"), codename],
        capture_output=True,
        text=True,
        check=True,
    )
    assert mirror.uri in result.stdout and f"{codename}-backports" in result.stdout


def test_the_repository_names_no_mirror_host() -> None:
    hosts = ("deb." + "debian.org", "archive." + "ubuntu.com", "security." + "debian.org")
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    offenders = [
        name
        for name in files
        if (ROOT / name).is_file()
        and any(h in (ROOT / name).read_text(errors="replace") for h in hosts)
    ]
    assert offenders == []
