"""The dashboard's two themes: one palette (Okabe-Ito, safe for the common forms of colour
blindness) and matching Plotly layouts, so a chart looks the same family as the page.

The page's own colours live in `assets/cachewatch.css` as CSS variables under
`[data-theme=dark]` / `[data-theme=light]`; the values below repeat the few a chart needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Theme", "THEMES", "theme_named", "STATUS_COLOURS", "OKABE_ITO"]

#: Okabe & Ito (2008), "Color Universal Design"
OKABE_ITO = {
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "black": "#000000",
}

#: up / down / pending / unknown, the same in both themes; shapes and words go with them,
#: so colour is never the only cue
STATUS_COLOURS = {
    "up": OKABE_ITO["green"],
    "down": OKABE_ITO["vermillion"],
    "warn": OKABE_ITO["orange"],
    "unknown": "#8a8f98",
}


@dataclass(frozen=True, slots=True)
class Theme:
    name: str
    background: str
    surface: str
    text: str
    muted: str
    grid: str
    series: tuple[str, ...]
    heatmap: tuple[tuple[float, str], ...]

    def plotly_layout(self) -> dict[str, Any]:
        """Layout defaults for every chart: transparent so the card shows through."""
        axis = {
            "gridcolor": self.grid,
            "zerolinecolor": self.grid,
            "linecolor": self.grid,
            "tickfont": {"color": self.muted, "size": 11},
            "title": {"font": {"color": self.muted, "size": 11}},
            "automargin": True,
        }
        return {
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
            "font": {
                "family": "Inter, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
                "color": self.text,
                "size": 12,
            },
            "colorway": list(self.series),
            "margin": {"l": 8, "r": 8, "t": 8, "b": 8},
            "xaxis": {**axis, "type": "date", "showgrid": False},
            "yaxis": {**axis, "rangemode": "tozero"},
            "legend": {
                "orientation": "h",
                "yanchor": "bottom",
                "y": 1.0,
                "x": 0,
                "font": {"size": 11, "color": self.muted},
                "bgcolor": "rgba(0,0,0,0)",
            },
            "hovermode": "x unified",
            "hoverlabel": {
                "bgcolor": self.surface,
                "bordercolor": self.grid,
                "font": {"color": self.text},
            },
            "uirevision": "keep",
        }


THEMES = {
    "dark": Theme(
        name="dark",
        background="#0f1216",
        surface="#171b21",
        text="#e6e8eb",
        muted="#9aa3ae",
        grid="#2a3038",
        series=(
            OKABE_ITO["sky"],
            OKABE_ITO["orange"],
            OKABE_ITO["green"],
            OKABE_ITO["purple"],
            OKABE_ITO["yellow"],
            OKABE_ITO["vermillion"],
            "#9db4ff",
            "#c8c8c8",
        ),
        # cividis-like: perceptually even and readable by colour-blind viewers
        heatmap=((0.0, "#171b21"), (0.15, "#00204c"), (0.5, "#7c7b78"), (1.0, "#ffe945")),
    ),
    "light": Theme(
        name="light",
        background="#f6f7f9",
        surface="#ffffff",
        text="#1b1f24",
        muted="#5c6570",
        grid="#e3e6ea",
        series=(
            OKABE_ITO["blue"],
            OKABE_ITO["orange"],
            OKABE_ITO["green"],
            OKABE_ITO["vermillion"],
            OKABE_ITO["purple"],
            OKABE_ITO["sky"],
            "#8c6d00",
            "#333333",
        ),
        heatmap=((0.0, "#ffffff"), (0.15, "#c6dbef"), (0.5, "#4a7fb0"), (1.0, "#00204c")),
    ),
}


def theme_named(name: str | None) -> Theme:
    return THEMES.get(name or "dark", THEMES["dark"])
