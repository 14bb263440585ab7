"""What a reader node's target list costs it: one refresh for 1,000 targets.

    .venv/bin/python bench/reader_targets_bench.py [--targets 1000] [--scrape 15] [--rounds 20]

A loopback HTTP server answers `/api/v1/query` with what Prometheus sends for
`{__name__=~"redis_up|memcached_up"}[5m]` when `--targets` series are scraped every
`--scrape` seconds (a canned matrix: this measures the reader, not Prometheus). Prints the
median milliseconds (wall clock and CPU) of:

- `select`: `PrometheusReader.select` alone — the request, JSON decoding and arrays every
  store-backed read pays (the reference);
- `parse`: `targets_from_series` over those series (what the reader adds);
- `refresh`: `UpstreamTargets.refresh()`, both together, as every 5 s while someone looks.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from monitor.model import Matcher
from monitor.readmodel.upstream import LOOKBACK_MS, UpstreamTargets, targets_from_series
from monitor.store.remote import PrometheusReader

NOW_MS = 1_800_000_000_000


def canned_answer(targets: int, scrape_s: int) -> bytes:
    points = LOOKBACK_MS // (scrape_s * 1000)
    result = []
    for i in range(targets):
        name = "memcached_up" if i % 5 == 0 else "redis_up"
        metric = {
            "__name__": name,
            "instance": f"10.0.{i // 250}.{i % 250}:6379",
            "job": "cachewatch",
            "service": f"svc-{i % 17}",
        }
        values = [
            [(NOW_MS - (points - 1 - k) * scrape_s * 1000) / 1000, "0" if i % 97 == 0 else "1"]
            for k in range(points)
        ]
        result.append({"metric": metric, "values": values})
    body = {"status": "success", "data": {"resultType": "matrix", "result": result}}
    return json.dumps(body).encode()


def serve(body: bytes) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def measure(what: Callable[[], object], rounds: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        what()
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--scrape", type=int, default=15, help="scrape interval, seconds")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    body = canned_answer(args.targets, args.scrape)
    server = serve(body)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    reader = PrometheusReader(url)
    matchers = [Matcher("__name__", "=~", "redis_up|memcached_up")]
    series = reader.select(matchers, NOW_MS - LOOKBACK_MS, NOW_MS)
    assert len(series) == args.targets
    upstream = UpstreamTargets(reader, url, clock=lambda: NOW_MS)
    assert len(upstream.refresh().targets) == args.targets
    window = (NOW_MS - LOOKBACK_MS, NOW_MS)
    figures = {
        "select": measure(lambda: reader.select(matchers, *window), args.rounds),
        "parse": measure(lambda: targets_from_series(series, NOW_MS), args.rounds),
        "refresh": measure(upstream.refresh, args.rounds),
    }
    server.shutdown()
    samples = sum(len(s.ts) for s in series)
    print(
        f"{args.targets} targets, {samples} samples ({len(body) / 1e6:.1f} MB of JSON), "
        f"median of {args.rounds} rounds"
    )
    for name, (wall, cpu) in figures.items():
        print(f"  {name:8} {wall:8.1f} ms wall  {cpu:8.1f} ms CPU")
    print(f"  parse / select (CPU): {figures['parse'][1] / figures['select'][1]:.2f}")


if __name__ == "__main__":
    main()
