"""The read model: what the screens show, computed from a `DataSource`, with no UI code.

The TUI (`ui/tui/`) and the web dashboard (`ui/web/`) both call these functions; neither
talks to the servers or the store directly.

    source = LocalSource(runtime, hotkeys=runner.shown_reports)   # or RemoteSource(url)
    rows = fleet_overview(source, source.now_ms())
    detail = target_detail(source, "10.0.0.5:6379", Window.H1)
    clusters = cluster_view(source)
    alerts = source.alerts(source.now_ms())
"""

from monitor.readmodel.cluster import (
    ClusterNodeRow,
    ClusterSummary,
    ClusterView,
    ShardRow,
    cluster_view,
)
from monitor.readmodel.detail import (
    Chart,
    CommandStat,
    HotKeySource,
    KeyRow,
    KeyspaceRow,
    LatencyEvent,
    Line,
    ReplicaRow,
    Replication,
    SlabRow,
    SlowlogRow,
    TargetDetail,
    target_detail,
)
from monitor.readmodel.local import LocalSource
from monitor.readmodel.overview import OverviewRow, fleet_overview, group_order
from monitor.readmodel.remote import RemoteError, RemoteSource
from monitor.readmodel.source import (
    AlertRow,
    DataSource,
    Health,
    InstantSample,
    RangeSeries,
    SilenceUnsupported,
    TargetState,
)
from monitor.readmodel.windows import Window

__all__ = [
    "AlertRow",
    "Chart",
    "ClusterNodeRow",
    "ClusterSummary",
    "ClusterView",
    "CommandStat",
    "DataSource",
    "Health",
    "HotKeySource",
    "InstantSample",
    "KeyRow",
    "KeyspaceRow",
    "LatencyEvent",
    "Line",
    "LocalSource",
    "OverviewRow",
    "RangeSeries",
    "RemoteError",
    "RemoteSource",
    "ReplicaRow",
    "Replication",
    "ShardRow",
    "SilenceUnsupported",
    "SlabRow",
    "SlowlogRow",
    "TargetDetail",
    "TargetState",
    "Window",
    "cluster_view",
    "fleet_overview",
    "group_order",
    "target_detail",
]
