"""The dashboard of a reader node in a real browser: a target-less `cachewatch serve` with
`[store] backend = "prometheus"` over two `cachewatch export --shard i/2` processes and a
real Prometheus shows every target on the fleet overview, and its target page says that
the INFO browser is on the shard, not here."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.common.exceptions import StaleElementReferenceException

from monitor.localservers import have_binary
from tests.shard_fleet import Reader, ShardedFleet, reader_config, start_reader, stop_reader
from tests.waiting import wait_for
from tests.web.browser import headless_chromium

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(
        not (have_binary("prometheus") and shutil.which("chromedriver")),
        reason="prometheus and chromium are needed",
    ),
]


@pytest.fixture
def reader(tmp_path: Path) -> Iterator[tuple[ShardedFleet, Reader]]:
    fleet = ShardedFleet(tmp_path).start(redis=1, memcached=1, shards=2)
    assert fleet.prometheus is not None
    try:
        serve = start_reader(
            reader_config(tmp_path / "reader.toml", fleet.prometheus.url), tmp_path / "log"
        )
        try:
            yield fleet, serve
        finally:
            assert stop_reader(serve) == 0, serve.output()
    finally:
        fleet.stop()


def test_the_overview_and_target_page_of_a_reader(reader: tuple[ShardedFleet, Reader]) -> None:
    fleet, serve = reader
    assert fleet.lonely is not None
    everyone = [s.address for s in fleet.servers] + [fleet.lonely.address]
    with headless_chromium() as driver:

        def text_of(selector: str) -> str:
            """The element's text, "" while it is not there (or being re-rendered)."""
            try:
                found = driver.find_elements("css selector", selector)
                return str(found[0].text) if found else ""
            except StaleElementReferenceException:
                return ""

        driver.get(serve.url + "/")
        wait_for(lambda: all(a in text_of("#overview-grid") for a in everyone), 60, "every card")
        wait_for(
            lambda: text_of("#overview-updated").startswith(f"{len(everyone)} targets"),
            30,
            "the count of targets",
        )
        redis = fleet.redis[0].address
        driver.get(f"{serve.url}/target?instance={redis}&tab=info")
        wait_for(lambda: "Not on a reader node" in text_of("#target-tab-body"), 60, "the INFO note")
        note = text_of("#target-tab-body")
        assert "The cachewatch shard that polls" in note and redis in note
