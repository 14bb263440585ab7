"""`RemoteSource`: the read model over a running `cachewatch serve` (`tui --attach URL`).

It sends PromQL to the server's Prometheus-compatible query API, so the server evaluates
it next to its store. What the API cannot say is derived from series: a target is one
`redis_up`/`memcached_up` series (its labels carry `cluster`, `shard`, `role`), a cluster's
layout comes from those labels, and alerts from the `ALERTS` series. Events (slowlog,
topology changes) come from the server's `/api/v1/cachewatch/events`; a server without that
endpoint (an older one) shows none.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from monitor.discovery import ClusterNode, ClusterTopology
from monitor.model import Event, now_ms
from monitor.query.errors import QueryError
from monitor.readmodel import queries as q
from monitor.readmodel.alerts import alerts_from_series
from monitor.readmodel.source import (
    AlertRow,
    Health,
    InstantSample,
    RangeSeries,
    SilenceUnsupported,
    TargetState,
)

__all__ = ["RemoteSource", "RemoteError", "topologies_from_states"]

_MAX_RESPONSE_BYTES = 64 << 20
_EVENTS_PATH = "/api/v1/cachewatch/events"
_TARGETS_PATH = "/api/v1/targets"


class RemoteError(QueryError):
    """The attached server could not answer (down, slow, or not a query API)."""

    error_type = "unavailable"


class _NotServed(RemoteError):
    """The server has no such endpoint (HTTP 404)."""


def _number(text: Any) -> float:
    return float(text)  # Prometheus sends "NaN", "+Inf" and decimals as strings


class RemoteSource:
    def __init__(
        self, base_url: str, timeout_s: float = 5.0, clock: Callable[[], int] = now_ms
    ) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"--attach {base_url!r}: expected http(s)://host:port[/prefix]")
        self._base = base_url.rstrip("/")
        self._timeout_s = timeout_s
        self._clock = clock

    def now_ms(self) -> int:
        return self._clock()

    def _get(self, path: str, params: dict[str, str]) -> Any:
        url = f"{self._base}{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=self._timeout_s) as response:
                raw = response.read(_MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as exc:
            raw = exc.read(_MAX_RESPONSE_BYTES + 1)
            try:
                detail = json.loads(raw).get("error", "")
            except (ValueError, AttributeError):
                detail = raw[:200].decode("utf-8", "replace")
            error = _NotServed if exc.code == 404 else RemoteError
            raise error(f"{self._base}{path}: HTTP {exc.code}: {detail}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise RemoteError(f"{self._base}{path}: cannot reach the server: {exc}") from None
        if len(raw) > _MAX_RESPONSE_BYTES:
            raise RemoteError(f"{self._base}{path}: answer larger than 64 MiB")
        try:
            document = json.loads(raw)
            return document["data"]
        except (ValueError, KeyError, TypeError):
            raise RemoteError(f"{self._base}{path}: not a Prometheus API answer") from None

    def instant(self, expr: str, at_ms: int) -> list[InstantSample]:
        data = self._get("/api/v1/query", {"query": expr, "time": f"{at_ms / 1000:.3f}"})
        if data.get("resultType") != "vector":
            return []
        try:
            return [
                InstantSample(item["metric"], _number(item["value"][1])) for item in data["result"]
            ]
        except (KeyError, IndexError, TypeError, ValueError):
            raise RemoteError(f"{self._base}/api/v1/query: malformed vector") from None

    def range(self, expr: str, start_ms: int, end_ms: int, step_ms: int) -> list[RangeSeries]:
        params = {
            "query": expr,
            "start": f"{start_ms / 1000:.3f}",
            "end": f"{end_ms / 1000:.3f}",
            "step": f"{step_ms / 1000:.3f}",
        }
        data = self._get("/api/v1/query_range", params)
        try:
            return [
                RangeSeries(
                    item["metric"],
                    tuple(round(float(t) * 1000) for t, _ in item["values"]),
                    tuple(_number(v) for _, v in item["values"]),
                )
                for item in data["result"]
            ]
        except (KeyError, IndexError, TypeError, ValueError):
            raise RemoteError(f"{self._base}/api/v1/query_range: malformed matrix") from None

    def statuses(self) -> list[TargetState]:
        polled = self._polled()
        states = []
        for sample in self.instant(q.FLEET_UP, self.now_ms()):
            labels = {k: v for k, v in sample.labels.items() if k != "__name__"}
            name = sample.labels.get("__name__", "redis_up")
            instance = labels.get("instance", "")
            last_error, last_poll_ms = polled.get(instance, (None, 0))
            states.append(
                TargetState(
                    instance=instance,
                    kind="memcached" if name.startswith("memcached") else "redis",
                    labels=labels,
                    health=Health.UP if sample.value >= 1 else Health.DOWN,
                    last_poll_ms=last_poll_ms,
                    last_error=last_error,
                )
            )
        return states

    def _polled(self) -> dict[str, tuple[str | None, int]]:
        """instance -> (last error, last poll ms) from `/api/v1/targets`; empty from a
        server that does not serve it (an older cachewatch, a plain Prometheus)."""
        try:
            data = self._get(_TARGETS_PATH, {"state": "active"})
        except _NotServed:
            return {}
        try:
            polled = {}
            for item in data["activeTargets"]:
                scraped = dt.datetime.fromisoformat(str(item["lastScrape"]).replace("Z", "+00:00"))
                last_poll_ms = max(0, round(scraped.timestamp() * 1000))
                polled[str(item["labels"]["instance"])] = (
                    str(item["lastError"]) or None,
                    last_poll_ms,
                )
            return polled
        except (KeyError, TypeError, ValueError, AttributeError):
            raise RemoteError(f"{self._base}{_TARGETS_PATH}: malformed targets") from None

    def events(
        self, kind_prefix: str, instance: str | None, start_ms: int, limit: int
    ) -> list[Event]:
        params = {"kind": kind_prefix, "start": f"{start_ms / 1000:.3f}", "limit": str(limit)}
        if instance is not None:
            params["instance"] = instance
        try:
            data = self._get(_EVENTS_PATH, params)
        except _NotServed:
            return []
        try:
            return [
                Event(
                    round(float(item["ts"]) * 1000),
                    str(item["kind"]),
                    tuple((str(k), str(v)) for k, v in sorted(item["labels"].items())),
                    dict(item["data"]),
                )
                for item in data
            ]
        except (KeyError, TypeError, ValueError, AttributeError):
            raise RemoteError(f"{self._base}{_EVENTS_PATH}: malformed events") from None

    def topologies(self) -> dict[str, ClusterTopology]:
        return topologies_from_states(self.statuses())

    def alerts(self, now_ms: int) -> list[AlertRow]:
        return alerts_from_series(self.instant, now_ms)

    def silence(self, matchers: dict[str, str], duration_ms: int, comment: str) -> str:
        raise SilenceUnsupported("silence from the server's web UI or `cachewatch alerts silence`")


def topologies_from_states(states: list[TargetState]) -> dict[str, ClusterTopology]:
    """Cluster layouts as the target labels describe them (no node ids, health from up)."""
    nodes: dict[str, list[ClusterNode]] = {}
    for state in states:
        cluster = state.labels.get("cluster")
        if not cluster:
            continue
        host, _, port = state.instance.rpartition(":")
        nodes.setdefault(cluster, []).append(
            ClusterNode(
                node_id="",
                host=host,
                port=int(port) if port.isdigit() else 0,
                role=state.labels.get("role", ""),
                shard=state.labels.get("shard", ""),
                health="online" if state.health is Health.UP else "failed",
            )
        )
    return {name: ClusterTopology(tuple(members)) for name, members in nodes.items()}
