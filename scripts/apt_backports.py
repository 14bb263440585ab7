#!/usr/bin/env python3
"""An apt source for `<codename>-backports` on the mirror this machine already uses.

scripts/bootstrap runs it (system python3, standard library only) to add bookworm-backports
for Valkey 8. The mirror is read from the machine's own apt sources, in either format:
one-line `deb URI SUITE COMPONENT...` entries (/etc/apt/sources.list, sources.list.d/*.list)
and deb822 stanzas (sources.list.d/*.sources, e.g. debian.sources). The first enabled `deb`
entry for the release itself (not -security or -updates) names the mirror; its signing key
is kept. The new source is written in the same format the mirror was found in. No host name
is written in this repository: a machine behind its own mirror keeps using it.

    python3 scripts/apt_backports.py bookworm            # print the file name and content
    python3 scripts/apt_backports.py bookworm --write    # write it under sources.list.d/
Exit 1 (with a message) when no source names the release.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MirrorSource", "find_mirror", "backports_source"]

FILE_STEM = "cachewatch-backports"


@dataclass(frozen=True)
class MirrorSource:
    uri: str
    signed_by: str | None
    deb822: bool
    found_in: Path


def _one_line_entries(path: Path, codename: str) -> list[MirrorSource]:
    """`deb [opt=value ...] URI suite component...` lines."""
    found = []
    for raw in path.read_text(errors="replace").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line.startswith("deb "):
            continue
        rest = line[4:].strip()
        options: dict[str, str] = {}
        if rest.startswith("["):
            end = rest.find("]")
            if end < 0:
                continue
            for option in rest[1:end].split():
                key, _, value = option.partition("=")
                options[key] = value
            rest = rest[end + 1 :].strip()
        fields = rest.split()
        if len(fields) >= 2:
            found.append((fields[0], fields[1], options.get("signed-by")))
    return [
        MirrorSource(uri, signed, deb822=False, found_in=path)
        for uri, suite, signed in found
        if suite == codename
    ]


def _stanzas(text: str) -> list[dict[str, str]]:
    stanzas: list[dict[str, str]] = []
    current: dict[str, str] = {}
    key = ""
    for raw in text.splitlines():
        if raw.startswith("#"):
            continue
        if not raw.strip():
            if current:
                stanzas.append(current)
            current, key = {}, ""
            continue
        if raw[0] in " \t" and key:  # a continuation line (e.g. an inline key block)
            current[key] += "\n" + raw.strip()
            continue
        key, _, value = raw.partition(":")
        key = key.strip().lower()
        current[key] = value.strip()
    if current:
        stanzas.append(current)
    return stanzas


def _deb822_entries(path: Path, codename: str) -> list[MirrorSource]:
    found = []
    for stanza in _stanzas(path.read_text(errors="replace")):
        if "deb" not in stanza.get("types", "").split():
            continue
        if stanza.get("enabled", "yes").lower() in ("no", "false", "0"):
            continue
        if codename not in stanza.get("suites", "").split():
            continue
        signed = stanza.get("signed-by")
        if signed and "\n" in signed:  # an inline key block cannot be copied as a path
            signed = None
        found += [
            MirrorSource(uri, signed, deb822=True, found_in=path)
            for uri in stanza.get("uris", "").split()
        ]
    return found


def find_mirror(codename: str, apt_dir: Path = Path("/etc/apt")) -> MirrorSource | None:
    """The first source of `codename` itself, in apt's reading order."""
    parts = apt_dir / "sources.list.d"
    files: list[Path] = [apt_dir / "sources.list"]
    if parts.is_dir():
        files += sorted(p for p in parts.iterdir() if p.suffix in (".list", ".sources"))
    for path in files:
        if not path.is_file() or path.stem == FILE_STEM:
            continue
        read = _deb822_entries if path.suffix == ".sources" else _one_line_entries
        entries = read(path, codename)
        if entries:
            return entries[0]
    return None


def backports_source(mirror: MirrorSource, codename: str) -> tuple[str, str]:
    """(file name, content) of a source for `codename-backports` on `mirror`."""
    suite = f"{codename}-backports"
    if mirror.deb822:
        lines = ["Types: deb", f"URIs: {mirror.uri}", f"Suites: {suite}", "Components: main"]
        if mirror.signed_by:
            lines.append(f"Signed-By: {mirror.signed_by}")
        return f"{FILE_STEM}.sources", "\n".join(lines) + "\n"
    options = f"[signed-by={mirror.signed_by}] " if mirror.signed_by else ""
    return f"{FILE_STEM}.list", f"deb {options}{mirror.uri} {suite} main\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("codename", help="the release, e.g. bookworm")
    parser.add_argument("--apt-dir", type=Path, default=Path("/etc/apt"))
    parser.add_argument("--write", action="store_true", help="write it into sources.list.d/")
    args = parser.parse_args(argv)
    mirror = find_mirror(args.codename, args.apt_dir)
    if mirror is None:
        print(
            f"apt_backports: no apt source for {args.codename} under {args.apt_dir}",
            file=sys.stderr,
        )
        return 1
    name, content = backports_source(mirror, args.codename)
    if args.write:
        path = args.apt_dir / "sources.list.d" / name
        path.write_text(content)
        print(f"apt_backports: wrote {path} (mirror from {mirror.found_in})")
    else:
        print(name)
        print(content, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
