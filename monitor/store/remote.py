"""A `SeriesReader` over a Prometheus-compatible HTTP API (Prometheus, Thanos, Mimir,
VictoriaMetrics): what the UIs and the query engine read when `[store] backend = "prometheus"`.

`select` asks `/api/v1/query` for the range selector `{matchers}[Ns]` evaluated at the end
time, which returns every raw sample in the window (not step-aligned points), so the local
engine sees what the embedded store would give it. One difference remains: the HTTP API
never returns staleness markers, so a series that ended looks like one that went quiet; the
engine's 5-minute lookback then keeps it visible a little longer than Prometheus would.

Errors are `QueryError`s, so the HTTP API passes them on with Prometheus's own status: a
selector the server refuses is `bad_data`, a server that is down or slow is `unavailable`.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from monitor.model import Matcher
from monitor.query.errors import BadDataError, QueryError, QueryTimeoutError
from monitor.secrets import Secret
from monitor.store.api import ReadBudget, SeriesData

__all__ = ["PrometheusReader", "RemoteStoreError"]

_MAX_RESPONSE_BYTES = 512 << 20


class RemoteStoreError(QueryError):
    """The remote Prometheus could not answer (down, slow, or not speaking its API)."""

    error_type = "unavailable"


def selector_text(matchers: Sequence[Matcher]) -> str:
    """`{a="1",b=~"x.*"}` with values escaped as PromQL string literals."""
    parts = []
    for matcher in matchers:
        value = json.dumps(matcher.value, ensure_ascii=False)
        parts.append(f"{matcher.name}{matcher.op}{value}")
    return "{" + ",".join(parts) + "}"


def _seconds(ms: int) -> str:
    return f"{ms / 1000:.3f}"


class PrometheusReader:
    """Reads series from `base_url` (e.g. `http://prometheus:9090`, or a Mimir/Thanos
    prefix such as `http://mimir/prometheus`).

    `headers` are sent with every request (e.g. `X-Scope-OrgID` for Mimir); a
    `bearer_token` becomes an `Authorization` header and is never shown in errors.
    """

    def __init__(
        self,
        base_url: str,
        timeout_s: float = 10.0,
        headers: Mapping[str, str] | None = None,
        bearer_token: Secret | None = None,
    ) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"Prometheus URL {self._display(base_url)!r}: expected http(s)://host[:port][/prefix]"
            )
        self._base = base_url.rstrip("/")
        self._shown = self._display(self._base)
        self._timeout_s = timeout_s
        self._headers = dict(headers or {})
        self._token = bearer_token

    @property
    def describe(self) -> str:
        """The server's URL without user info, for messages."""
        return self._shown

    @staticmethod
    def _display(url: str) -> str:
        """The URL without user info, for messages."""
        parts = urllib.parse.urlsplit(url)
        host = parts.netloc.rsplit("@", 1)[-1]
        return urllib.parse.urlunsplit(parts._replace(netloc=host))

    # -- SeriesReader ---------------------------------------------------------------------
    def select(
        self,
        matchers: Sequence[Matcher],
        start_ms: int,
        end_ms: int,
        budget: ReadBudget | None = None,
    ) -> list[SeriesData]:
        # One more millisecond than the span: Prometheus 2.x windows are closed on the left
        # and 3.x open, so this includes `start_ms` in both; anything earlier is cut below.
        window_ms = end_ms - start_ms + 1
        data = self._get(
            "/api/v1/query",
            [
                ("query", f"{selector_text(matchers)}[{window_ms}ms]"),
                ("time", _seconds(end_ms)),
            ],
        )
        if not isinstance(data, dict) or data.get("resultType") != "matrix":
            raise self._malformed("/api/v1/query", "expected a matrix result")
        out = []
        for series in data.get("result", []):
            try:
                points = series["values"]
                ts = np.fromiter((round(float(t) * 1000) for t, _ in points), np.int64, len(points))
                values = np.fromiter((float(v) for _, v in points), np.float64, len(points))
                labels = {str(k): str(v) for k, v in series["metric"].items()}
            except (KeyError, TypeError, ValueError) as exc:
                raise self._malformed("/api/v1/query", f"bad series: {exc}") from None
            keep = ts >= start_ms
            if keep.any():
                if budget is not None:
                    budget.charge(int(keep.sum()))
                out.append(SeriesData(labels, ts[keep], values[keep]))
        out.sort(key=lambda s: sorted(s.labels.items()))
        return out

    def series(
        self, matchers: Sequence[Matcher], start_ms: int, end_ms: int
    ) -> list[dict[str, str]]:
        data = self._get("/api/v1/series", self._match_params(matchers, start_ms, end_ms))
        if not isinstance(data, list):
            raise self._malformed("/api/v1/series", "expected a list")
        return [{str(k): str(v) for k, v in labels.items()} for labels in data]

    def label_names(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[str]:
        data = self._get("/api/v1/labels", self._match_params(matchers, start_ms, end_ms))
        return self._strings("/api/v1/labels", data)

    def label_values(
        self, name: str, matchers: Sequence[Matcher], start_ms: int, end_ms: int
    ) -> list[str]:
        path = f"/api/v1/label/{urllib.parse.quote(name, safe='')}/values"
        # GET: unlike the other endpoints, Prometheus refuses POST here
        data = self._get(path, self._match_params(matchers, start_ms, end_ms), post=False)
        return self._strings(path, data)

    # -- HTTP -----------------------------------------------------------------------------
    @staticmethod
    def _match_params(
        matchers: Sequence[Matcher], start_ms: int, end_ms: int
    ) -> list[tuple[str, str]]:
        params = [("start", _seconds(start_ms)), ("end", _seconds(end_ms))]
        if matchers:
            params.append(("match[]", selector_text(matchers)))
        return params

    def _strings(self, path: str, data: Any) -> list[str]:
        if not isinstance(data, list):
            raise self._malformed(path, "expected a list")
        return sorted(str(item) for item in data)

    def _malformed(self, path: str, why: str) -> RemoteStoreError:
        return RemoteStoreError(f"Prometheus at {self._shown}{path} sent an unusable answer: {why}")

    def _get(self, path: str, params: list[tuple[str, str]], post: bool = True) -> Any:
        """Send the parameters (as a form when `post`, since selectors can be long) and
        unwrap `data`."""
        encoded = urllib.parse.urlencode(params)
        headers = {**self._headers, "Accept": "application/json"}
        if self._token is not None:
            headers["Authorization"] = f"Bearer {self._token.reveal()}"
        if post:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            url, body = self._base + path, encoded.encode()
        else:
            url, body = f"{self._base}{path}?{encoded}", None
        request = urllib.request.Request(url, data=body, headers=headers)
        where = f"Prometheus at {self._shown}{path}"
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as response:
                raw = response.read(_MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as error:
            with error:
                raw = error.read(_MAX_RESPONSE_BYTES + 1)
            self._raise_api_error(where, raw, error.code)
            raise RemoteStoreError(f"{where} answered HTTP {error.code}") from None
        except TimeoutError:
            raise RemoteStoreError(f"{where} did not answer within {self._timeout_s:g}s") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, TimeoutError):
                raise RemoteStoreError(
                    f"{where} did not answer within {self._timeout_s:g}s"
                ) from None
            raise RemoteStoreError(f"{where} is unreachable: {reason}") from None
        if len(raw) > _MAX_RESPONSE_BYTES:
            raise RemoteStoreError(f"{where} sent more than {_MAX_RESPONSE_BYTES >> 20} MiB")
        payload = self._decode(where, raw)
        if payload.get("status") != "success":
            self._raise_api_error(where, raw, 200)
            raise RemoteStoreError(f"{where} answered with status {payload.get('status')!r}")
        return payload.get("data")

    @staticmethod
    def _decode(where: str, raw: bytes) -> dict[str, Any]:
        try:
            payload = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise RemoteStoreError(f"{where} did not answer with JSON") from None
        if not isinstance(payload, dict):
            raise RemoteStoreError(f"{where} did not answer with a JSON object")
        return payload

    def _raise_api_error(self, where: str, raw: bytes, status: int) -> None:
        """Re-raise a Prometheus API error as the matching QueryError."""
        try:
            payload = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return
        if not isinstance(payload, dict) or payload.get("status") != "error":
            return
        message = f"{where}: {payload.get('error', 'unknown error')}"
        error_type = payload.get("errorType")
        if error_type == "bad_data":
            raise BadDataError(message)
        if error_type == "timeout":
            raise QueryTimeoutError(message)
        raise RemoteStoreError(f"{message} (HTTP {status}, {error_type})")
