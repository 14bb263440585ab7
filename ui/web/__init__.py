"""The web dashboard (Dash + Plotly) behind `cachewatch serve` and `cachewatch demo --web`.

    from ui.web import run_web
    server = run_web(runtime, "127.0.0.1:8050", alerting=service)   # runtime already started
    print(server.url); ...; server.stop()

Pages live in `ui/web/pages/`, one module each; `docs/WEB.md` describes them.
"""

from __future__ import annotations

from typing import Any

__all__ = ["run_web"]


def run_web(runtime: Any, listen: str = "127.0.0.1:8050", **options: Any) -> Any:
    """See `ui.web.server.run_web` (imported lazily: Dash loads only when a UI starts)."""
    from ui.web.server import run_web as start

    return start(runtime, listen, **options)
