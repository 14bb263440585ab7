"""`/api/v1/cachewatch/hotkeys`: the hot keys of the running detectors, and a person's
"sample now".

- `GET ?target=HOST:PORT` (optional): every target's latest report (or one's), as
  `{"status": "success", "data": [report…]}` (`HotKeyReport.as_json`);
- `POST target=HOST:PORT [duration=10s]`: sample that target now (MONITOR allowed where
  nothing cheaper ranks keys, within `[hotkeys] request_max_cost`), answered when done.
  A request for a target already being sampled gets 409; more than `MAX_CONCURRENT` at
  once, 503. Key names are masked as the configured `mask_regex` says.

The web page's "Sample now" calls the same `HotKeySampling` in-process; `tui --attach`
calls this endpoint.
"""

from __future__ import annotations

import threading

from monitor.http.params import BadRequest, parse_duration_ms
from monitor.http.wsgi import Request, Response, error_response, json_response
from monitor.readmodel.source import HotKeySampling

__all__ = ["HotKeysEndpoint", "MAX_CONCURRENT"]

#: samples running at once (each holds a server thread for its duration)
MAX_CONCURRENT = 2
_MAX_DURATION_S = 60.0


class HotKeysEndpoint:
    def __init__(self, sampling: HotKeySampling, top: int = 10) -> None:
        self._sampling = sampling
        self._top = top
        self._slots = threading.BoundedSemaphore(MAX_CONCURRENT)
        self._busy: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        if request.environ.get("REQUEST_METHOD") == "POST":
            return self._sample(request)
        wanted = request.params.get("target")
        reports = [r for r in self._sampling.reports() if wanted in (None, "", r.target)]
        return json_response({"status": "success", "data": [r.as_json(self._top) for r in reports]})

    def _sample(self, request: Request) -> Response:
        instance = request.params.required("target")
        duration = None
        if request.params.get("duration"):
            duration = parse_duration_ms(request.params.required("duration"), "duration") / 1000
            if not 0 < duration <= _MAX_DURATION_S:
                raise BadRequest(
                    f'invalid parameter "duration": must be above 0 and at most '
                    f"{_MAX_DURATION_S:g}s"
                )
        if not self._slots.acquire(blocking=False):
            return error_response(
                "unavailable", f"{MAX_CONCURRENT} samples are running: try again shortly", 503
            )
        try:
            with self._lock:
                if instance in self._busy:
                    return error_response(
                        "unavailable", f"{instance} is being sampled already", 409
                    )
                self._busy.add(instance)
            try:
                report = self._sampling.sample(instance, duration)
            except LookupError as exc:
                return error_response("bad_data", str(exc), 404)
            except RuntimeError as exc:  # e.g. a burst already running from elsewhere
                return error_response("unavailable", str(exc), 409)
            finally:
                with self._lock:
                    self._busy.discard(instance)
        finally:
            self._slots.release()
        return json_response({"status": "success", "data": report.as_json(self._top)})
