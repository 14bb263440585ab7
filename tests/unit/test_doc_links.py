"""No document points at a file that is not there: every relative Markdown link, and every
`*.md` named in a code span, in README.md and docs/*.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")
CODE_MD = re.compile(r"`([\w./-]+\.md)`")


def references(doc: Path) -> list[tuple[str, list[Path]]]:
    """(what the doc says, where it may point): links resolve from the doc's folder; a
    file named in a code span may also be named from the repository root."""
    text = doc.read_text()
    found = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        found.append((target, [doc.parent / target.split("#")[0]]))
    for name in CODE_MD.findall(text):
        found.append((name, [doc.parent / name, ROOT / name]))
    return found


def test_docs_are_found() -> None:
    assert len(DOCS) > 5 and any(references(d) for d in DOCS)


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.name)
def test_every_relative_link_resolves(doc: Path) -> None:
    broken = [ref for ref, places in references(doc) if not any(p.exists() for p in places)]
    assert not broken, f"{doc.relative_to(ROOT)} points at missing files: {broken}"
