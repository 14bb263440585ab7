"""How the latency heatmap names its rows. The histogram itself (the exact merge of Redis's
sparse per-command buckets, without cachewatch's own commands) is the read model's:
`monitor/readmodel/latency.py`."""

from __future__ import annotations

import math

from monitor.readmodel.latency import LatencyHistogram
from ui.web.units import fmt_usec

__all__ = ["bucket_labels"]


def bucket_labels(histogram: LatencyHistogram) -> list[str]:
    bounds = histogram.bounds
    return [
        ("> " + fmt_usec(bounds[-2])) if math.isinf(b) and len(bounds) > 1 else ("≤ " + fmt_usec(b))
        for b in bounds
    ]
