"""Exposition: text 0.0.4 and OpenMetrics output, parsed back with prometheus_client's parsers."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as parse_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families as parse_text

from monitor.exporter import Exposition, Format, SelfMetrics, negotiate
from monitor.model import MetricType, SampleBatch

METADATA = {
    "redis_up": (MetricType.GAUGE, "Information about the Redis instance"),
    "redis_commands_total": (MetricType.COUNTER, 'Calls per "command"\nsecond line \\ end'),
    "redis_latency_seconds": (MetricType.HISTOGRAM, "Latency"),
    "redis_instance_info": (MetricType.INFO, "Facts"),
    "redis_uptime_in_seconds": (MetricType.GAUGE, "Uptime"),
}


def batch_of(instance: str, tick: int = 1) -> SampleBatch:
    batch = SampleBatch(ts_ms=tick * 1000, target_labels=(("instance", instance),))
    batch.add("redis_up", 1)
    batch.add("redis_commands_total", 10.0 * tick, (("cmd", "get"),))
    batch.add("redis_commands_total", 2.5, (("cmd", 'we"ird\\name\n'),))
    # Buckets of both label sets first, sums and counts after: the exposition regroups them.
    for cmd in ("get", "set"):
        batch.add("redis_latency_seconds_bucket", 1, (("cmd", cmd), ("le", "0.1")))
        batch.add("redis_latency_seconds_bucket", 3, (("cmd", cmd), ("le", "+Inf")))
    for cmd in ("get", "set"):
        batch.add("redis_latency_seconds_sum", 0.5, (("cmd", cmd),))
        batch.add("redis_latency_seconds_count", 3, (("cmd", cmd),))
    batch.add("redis_instance_info", 1, (("role", "master"), ("redis_version", "7.0.15")))
    batch.add("redis_uptime_in_seconds", float("inf"))
    batch.add("no_metadata_metric", 0.25)
    return batch


def families_by_name(families: list) -> dict:
    return {family.name: family for family in families}


def test_text_format_groups_families_and_parses_back() -> None:
    body = Exposition().render([batch_of("b:2"), batch_of("a:1")], METADATA, Format.TEXT)
    text = body.decode()
    families = families_by_name(list(parse_text(text)))
    assert families["redis_commands"].type == "counter"
    assert families["redis_commands"].documentation == METADATA["redis_commands_total"][1]
    assert families["redis_latency_seconds"].type == "histogram"
    assert families["redis_instance_info"].type == "gauge"
    assert families["no_metadata_metric"].type == "unknown"
    weird = [s for s in families["redis_commands"].samples if s.labels["cmd"].startswith("we")]
    assert [s.labels["cmd"] for s in weird] == ['we"ird\\name\n'] * 2
    assert {s.labels["instance"] for s in families["redis_up"].samples} == {"a:1", "b:2"}
    assert text.count("# TYPE redis_commands_total counter") == 1
    assert math.isinf(families["redis_uptime_in_seconds"].samples[0].value)
    assert 'redis_uptime_in_seconds{instance="a:1"} +Inf\n' in text
    assert 'redis_up{instance="a:1"} 1\n' in text
    assert not text.rstrip().endswith("# EOF")


def test_openmetrics_format_is_valid_and_names_counters_without_total() -> None:
    body = Exposition().render([batch_of("a:1")], METADATA, Format.OPENMETRICS)
    text = body.decode()
    assert text.endswith("# EOF\n")
    assert "# TYPE redis_commands counter\n" in text
    assert "# TYPE redis_instance info\n" in text
    assert '# HELP redis_commands Calls per \\"command\\"\\nsecond line \\\\ end\n' in text
    families = families_by_name(list(parse_openmetrics(text)))
    assert families["redis_commands"].type == "counter"
    assert families["redis_instance"].type == "info"
    latency = families["redis_latency_seconds"]
    assert [s.name for s in latency.samples][:4] == [
        "redis_latency_seconds_bucket",
        "redis_latency_seconds_bucket",
        "redis_latency_seconds_sum",
        "redis_latency_seconds_count",
    ]
    assert families["no_metadata_metric"].type == "unknown"


def test_counter_without_total_suffix_is_unknown_in_openmetrics() -> None:
    batch = SampleBatch(ts_ms=0, target_labels=(("instance", "a:1"),))
    batch.add("legacy_events", 4)
    metadata = {"legacy_events": (MetricType.COUNTER, "old style")}
    text = Exposition().render([batch], metadata, Format.OPENMETRICS).decode()
    assert "# TYPE legacy_events unknown\n" in text
    assert families_by_name(list(parse_openmetrics(text)))["legacy_events"].type == "unknown"


def test_counter_described_without_total_still_groups_its_samples() -> None:
    batch = SampleBatch(ts_ms=0, target_labels=(("instance", "a:1"),))
    batch.add("redis_evicted_keys_total", 4)
    metadata = {"redis_evicted_keys": (MetricType.COUNTER, "Evicted keys")}
    text = Exposition().render([batch], metadata, Format.TEXT).decode()
    assert "# TYPE redis_evicted_keys_total counter\n" in text


def test_batch_metadata_fills_names_the_map_lacks() -> None:
    batch = SampleBatch(ts_ms=0, target_labels=(("instance", "a:1"),))
    batch.describe("memcached_up", MetricType.GAUGE, "Up")
    batch.add("memcached_up", 1)
    text = Exposition().render([batch], {}, Format.TEXT).decode()
    assert "# HELP memcached_up Up\n# TYPE memcached_up gauge\n" in text


def test_target_labels_win_over_a_sample_label_of_the_same_name() -> None:
    batch = SampleBatch(ts_ms=0, target_labels=(("instance", "a:1"), ("role", "replica")))
    batch.add("redis_up", 1, (("role", "master"), ("db", "db0")))
    text = Exposition().render([batch], METADATA, Format.TEXT).decode()
    (sample,) = families_by_name(list(parse_text(text)))["redis_up"].samples
    assert sample.labels == {"instance": "a:1", "role": "replica", "db": "db0"}


def test_cache_rerenders_only_changed_targets_and_drops_vanished_ones() -> None:
    exposition = Exposition()
    first_a, first_b = batch_of("a:1", tick=1), batch_of("b:2", tick=1)
    exposition.render([first_a, first_b], METADATA, Format.TEXT)
    second_b = batch_of("b:2", tick=2)
    text = exposition.render([first_a, second_b], METADATA, Format.TEXT).decode()
    assert 'redis_commands_total{cmd="get",instance="a:1"} 10\n' in text
    assert 'redis_commands_total{cmd="get",instance="b:2"} 20\n' in text
    assert 'redis_up{instance="b:2"} 1\n' in text  # unchanged value, text reused
    text = exposition.render([second_b], METADATA, Format.TEXT).decode()
    assert 'instance="a:1"' not in text


def test_changed_shape_rebuilds_the_layout() -> None:
    exposition = Exposition()
    batch = SampleBatch(ts_ms=0, target_labels=(("instance", "a:1"),))
    batch.add("redis_up", 1)
    exposition.render([batch], METADATA, Format.TEXT)
    grown = SampleBatch(ts_ms=1, target_labels=(("instance", "a:1"),))
    grown.add("redis_up", 0)
    grown.add("redis_uptime_in_seconds", 5)
    text = exposition.render([grown], METADATA, Format.TEXT).decode()
    assert 'redis_up{instance="a:1"} 0\n' in text
    assert 'redis_uptime_in_seconds{instance="a:1"} 5\n' in text


def test_values_are_printed_like_the_go_client() -> None:
    batch = SampleBatch(ts_ms=0, target_labels=())
    for value in (3.0, 0.125, float("nan"), float("-inf"), 1e20, 7):
        batch.add("v", value)
    lines = Exposition().render([batch], {}, Format.TEXT).decode().splitlines()[1:]
    assert lines == ["v 3", "v 0.125", "v NaN", "v -Inf", "v 1e+20", "v 7"]


def test_negotiation_follows_prometheus_accept_header() -> None:
    prometheus = (
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
        "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
    )
    assert negotiate(prometheus) is Format.OPENMETRICS
    assert negotiate("text/plain;version=0.0.4") is Format.TEXT
    assert negotiate(None) is Format.TEXT
    assert negotiate("*/*") is Format.TEXT
    assert negotiate("application/openmetrics-text;q=bogus") is Format.TEXT
    assert negotiate("text/plain;q=0.2, application/openmetrics-text;q=0.9") is Format.OPENMETRICS


def test_self_metrics_render_counters_and_a_cumulative_histogram() -> None:
    metrics = SelfMetrics()
    metrics.observe_poll("a:1", 0.002, ok=True)
    metrics.observe_poll("a:1", 0.3, ok=False)
    metrics.observe_poll("b:2", 60.0, ok=True)
    metrics.set_store_stats(series=12, bytes_on_disk=3456)
    metrics.set_targets(2)
    metrics.forget_target("b:2")
    text = Exposition().render([metrics.snapshot()], {}, Format.OPENMETRICS).decode()
    families = families_by_name(list(parse_openmetrics(text)))
    polls = {s.labels["instance"]: s.value for s in families["cachewatch_polls"].samples}
    assert polls == {"a:1": 2}
    errors = {s.labels["instance"]: s.value for s in families["cachewatch_poll_errors"].samples}
    assert errors == {"a:1": 1}
    buckets = {
        s.labels["le"]: s.value
        for s in families["cachewatch_poll_seconds"].samples
        if s.name.endswith("_bucket")
    }
    assert buckets["0.001"] == 0
    assert buckets["0.0025"] == 1
    assert buckets["0.5"] == 2
    assert buckets["+Inf"] == 3
    assert families["cachewatch_store_size_bytes"].samples[0].value == 3456
    assert families["cachewatch_targets"].samples[0].value == 2


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(
        st.text(st.characters(blacklist_categories=("Cs",)), max_size=12), min_size=1, max_size=5
    ),
    # help text is ours (collectors' metadata), never carriage returns; counters are >= 0
    help_text=st.text(
        st.characters(blacklist_characters="\r", blacklist_categories=("Cs",)), max_size=30
    ),
    number=st.floats(min_value=0, allow_nan=False),
)
def test_any_label_value_and_help_text_round_trips(
    values: list[str], help_text: str, number: float
) -> None:
    batch = SampleBatch(ts_ms=0, target_labels=(("instance", "a:1"),))
    for index, value in enumerate(values):
        batch.add("m_total", number, (("k", value), ("n", str(index))))
    metadata = {"m_total": (MetricType.COUNTER, help_text)}
    for fmt, parse in ((Format.TEXT, parse_text), (Format.OPENMETRICS, parse_openmetrics)):
        text = Exposition().render([batch], metadata, fmt).decode()
        (family,) = list(parse(text))
        assert [s.labels["k"] for s in family.samples] == values
        assert all(s.value == number for s in family.samples)
        assert family.documentation.strip() == help_text.strip()


def test_a_lone_surrogate_costs_one_character_not_the_scrape() -> None:
    batch = SampleBatch(ts_ms=0, target_labels=(("instance", "a:1"),))
    batch.add("redis_up", 1, (("client", "bad\udcffname"),))
    text = Exposition().render([batch], METADATA, Format.TEXT).decode()
    assert 'redis_up{client="bad?name",instance="a:1"} 1\n' in text


def test_a_render_runs_with_the_cyclic_collector_paused_and_turns_it_back_on() -> None:
    import gc

    seen: list[bool] = []

    class Watching(dict[str, tuple[MetricType, str]]):
        def get(self, key: object, default: object = None) -> object:  # type: ignore[override]
            seen.append(gc.isenabled())
            return super().get(key, default)  # type: ignore[arg-type]

    batch = SampleBatch(1_700_000_000_000, (("instance", "a:1"),))
    batch.add("redis_up", 1.0)
    assert gc.isenabled()
    Exposition().render([batch], Watching({"redis_up": (MetricType.GAUGE, "up")}), Format.TEXT)
    assert seen and not any(seen)
    assert gc.isenabled()
