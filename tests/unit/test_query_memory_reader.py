"""The in-memory SeriesReader: Prometheus matcher semantics, batches, overwrites."""

from __future__ import annotations

import pytest

from monitor.model import Matcher, SampleBatch
from monitor.query import MemoryReader


@pytest.fixture
def reader() -> MemoryReader:
    reader = MemoryReader()
    reader.add_series({"__name__": "m", "a": "1"}, [10, 20], [1.0, 2.0])
    reader.add_series({"__name__": "m", "a": "2", "b": "x"}, [10], [3.0])
    reader.add_series({"__name__": "n"}, [15], [4.0])
    return reader


def names(reader: MemoryReader, *matchers: Matcher) -> list[dict[str, str]]:
    return [s.labels for s in reader.select(list(matchers), 0, 100)]


def test_matchers_follow_prometheus(reader: MemoryReader) -> None:
    m = Matcher("__name__", "=", "m")
    assert names(reader, m, Matcher("b", "=", "")) == [{"__name__": "m", "a": "1"}]
    assert names(reader, m, Matcher("b", "!=", "")) == [{"__name__": "m", "a": "2", "b": "x"}]
    # regexes are anchored at both ends
    assert names(reader, Matcher("__name__", "=~", "m|n"))[-1] == {"__name__": "n"}
    assert names(reader, Matcher("a", "=~", "1.*")) == [{"__name__": "m", "a": "1"}]
    assert names(reader, Matcher("a", "=~", "")) == [{"__name__": "n"}]
    assert names(reader, m, Matcher("a", "!~", "1|3")) == [{"__name__": "m", "a": "2", "b": "x"}]


def test_select_clips_to_the_inclusive_range(reader: MemoryReader) -> None:
    (series,) = reader.select([Matcher("a", "=", "1")], 20, 20)
    assert series.ts.tolist() == [20] and series.values.tolist() == [2.0]
    assert reader.select([Matcher("a", "=", "1")], 21, 30) == []


def test_later_sample_at_the_same_time_wins_and_order_is_kept() -> None:
    reader = MemoryReader()
    reader.add_series({"__name__": "m"}, [30, 10], [3.0, 1.0])
    reader.add_series({"__name__": "m"}, [10, 20], [9.0, 2.0])
    (series,) = reader.select([Matcher("__name__", "=", "m")], 0, 100)
    assert series.ts.tolist() == [10, 20, 30]
    assert series.values.tolist() == [9.0, 2.0, 3.0]


def test_append_merges_target_labels() -> None:
    reader = MemoryReader()
    batch = SampleBatch(5, (("instance", "h:1"),))
    batch.add("up", 1.0)
    batch.add("cmds_total", 7.0, (("cmd", "get"),))
    reader.append(batch)
    assert reader.label_values("cmd", [Matcher("instance", "=", "h:1")], 0, 10) == ["get"]
    assert reader.label_names([Matcher("__name__", "=", "up")], 0, 10) == ["__name__", "instance"]


def test_bad_input_is_named() -> None:
    reader = MemoryReader()
    with pytest.raises(ValueError, match="no __name__"):
        reader.add_series({"a": "1"}, [1], [1.0])
    with pytest.raises(ValueError, match="timestamps"):
        reader.add_series({"__name__": "m"}, [1, 2], [1.0])
    with pytest.raises(ValueError, match="invalid regular expression"):
        reader.select([Matcher("a", "=~", "(")], 0, 1)
