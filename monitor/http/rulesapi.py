"""`GET /api/v1/rules` and `GET /api/v1/alerts` in Prometheus's shape, from whatever runs the
rules (`alerts.promapi.EngineRulesSource` in `serve`): the HTTP layer does not import the alert
engine, it reads this seam."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Protocol

from monitor.http.params import BadRequest
from monitor.http.wsgi import Request, Response, json_response

__all__ = ["RulesSource", "RulesApi"]


class RulesSource(Protocol):
    def rules(
        self,
        kind: str | None,
        rule_names: Collection[str] = (),
        group_names: Collection[str] = (),
        files: Collection[str] = (),
    ) -> dict[str, Any]:
        """The `data` of `/api/v1/rules`: `{"groups": [...]}`; `kind` "alert", "record"
        or None."""
        ...

    def alerts(self) -> dict[str, Any]:
        """The `data` of `/api/v1/alerts`: `{"alerts": [...]}`."""
        ...


class RulesApi:
    def __init__(self, source: RulesSource) -> None:
        self._source = source

    def rules(self, request: Request) -> Response:
        params = request.params
        kind = params.get("type") or None
        if kind not in (None, "alert", "record"):
            raise BadRequest(f"invalid query parameter type='{kind}'")
        data = self._source.rules(
            kind,
            set(params.all("rule_name[]")),
            set(params.all("rule_group[]")),
            set(params.all("file[]")),
        )
        return json_response({"status": "success", "data": data})

    def alerts(self, request: Request) -> Response:
        return json_response({"status": "success", "data": self._source.alerts()})
