"""Plain aligned columns for `--format table` output (no colours, safe to pipe)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["aligned", "label_text"]


def aligned(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A header and rows, each column as wide as its widest cell, two spaces between."""
    table = [tuple(header), *(tuple(r) for r in rows)]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in table
    )


def label_text(labels: Mapping[str, str]) -> str:
    """`a="1", b="2"` in name order ("" for none)."""
    return ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
