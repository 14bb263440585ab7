"""`cachewatch query`: time parsing, table rendering, and a run over a real store."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from monitor.commands import query
from monitor.model import SampleBatch
from monitor.query import QueryResult
from monitor.store import EmbeddedStore


def test_parse_time_takes_unix_seconds_and_rfc3339() -> None:
    assert query.parse_time("1700000000.5") == 1_700_000_000_500
    assert query.parse_time("2023-11-14T22:13:20Z") == 1_700_000_000_000
    assert query.parse_time("2023-11-14T23:13:20+01:00") == 1_700_000_000_000
    with pytest.raises(ValueError, match="RFC 3339"):
        query.parse_time("yesterday")


def test_table_aligns_columns() -> None:
    result = QueryResult(
        "matrix",
        series=[({"__name__": "up", "i": "a"}, np.array([0, 1000]), np.array([1.0, 0.5]))],
    )
    assert query.render_table(result.to_api()).splitlines() == [
        "SERIES     TIME                           VALUE",
        'up{i="a"}  1970-01-01T00:00:00.000+00:00  1',
        'up{i="a"}  1970-01-01T00:00:01.000+00:00  0.5',
    ]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    query.add_parser(parser.add_subparsers())
    return parser


def test_run_over_a_store_prints_prometheus_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = EmbeddedStore.open(tmp_path / "store")
    for k in range(10):
        batch = SampleBatch(1_700_000_000_000 + k * 1000, (("instance", "h:1"),))
        batch.add("clients", float(k))
        store.append(batch)
    store.close()
    args = _parser().parse_args(
        [
            "query",
            "clients",
            "--at",
            "1700000005",
            "--format",
            "json",
            "--store",
            str(tmp_path / "store"),
        ]
    )
    assert args.run(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == {
        "resultType": "vector",
        "result": [
            {"metric": {"__name__": "clients", "instance": "h:1"}, "value": [1700000005.0, "5"]}
        ],
    }
    args = _parser().parse_args(
        [
            "query",
            "clients",
            "--at",
            "1700000009",
            "--range",
            "4s",
            "--step",
            "2s",
            "--store",
            str(tmp_path / "store"),
        ]
    )
    assert args.run(args) == 0
    assert [line.split()[-1] for line in capsys.readouterr().out.splitlines()] == [
        "VALUE",
        "5",
        "7",
        "9",
    ]


def test_run_reports_bad_queries_and_missing_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _parser().parse_args(["query", "up", "--store", str(tmp_path / "none")])
    assert args.run(args) == 2
    assert "no store at" in capsys.readouterr().err
    EmbeddedStore.open(tmp_path / "s").close()
    args = _parser().parse_args(["query", "rate(up)", "--store", str(tmp_path / "s")])
    assert args.run(args) == 2
    assert "bad_data: parse error" in capsys.readouterr().err
