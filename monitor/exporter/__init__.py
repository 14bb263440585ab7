"""The Prometheus exporter: exposition of the latest batches plus cachewatch's own metrics.

Exposition().render(batches, metadata, negotiate(accept)) -> bytes
SelfMetrics().observe_poll(instance, duration_s, ok)
"""

from __future__ import annotations

from monitor.exporter.exposition import *  # noqa: F403
from monitor.exporter.exposition import __all__ as _exposition_all
from monitor.exporter.formats import *  # noqa: F403
from monitor.exporter.formats import __all__ as _formats_all
from monitor.exporter.selfmetrics import *  # noqa: F403
from monitor.exporter.selfmetrics import __all__ as _selfmetrics_all

__all__ = [*_exposition_all, *_formats_all, *_selfmetrics_all]
