"""The Doctor page and a target's Doctor tab in a real browser, against the real
`cachewatch serve` of tests/web/conftest.py (its plain Redis has no maxmemory: a finding),
with the doctor running at its defaults (a first look 5 s after start)."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest

from tests.web.conftest import Served, auth_header, http_get, screenshot
from tests.web.test_dashboard import click_centred, csp_violations, open_page, wait_for

pytestmark = pytest.mark.timeout(300)
RULE = "redis-no-maxmemory"


def _card(browser: Any, instance: str) -> Any:
    return browser.find_element(
        "css selector", f'.finding[data-rule="{RULE}"][data-instance="{instance}"]'
    )


def _finding_stored(served: Served) -> bool:
    expr = f'cachewatch_finding{{rule="{RULE}",instance="{served.redis.address}"}}'
    url = f"{served.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    status, _, body = http_get(url, auth_header())
    return status == 200 and bool(json.loads(body)["data"]["result"])


def test_findings_with_evidence_linked_to_explore(served: Served, browser: Any) -> None:
    # with refresh off the page draws once: wait for the doctor's first look (a few seconds
    # after start) so that draw has the finding (before it, the page says it has not looked)
    wait_for(lambda: _finding_stored(served), 90, "the doctor's first look")
    open_page(browser, served, "/doctor?refresh=off")
    # the page redraws its cards on each refresh: read a card whole, retrying while it moves
    text = wait_for(lambda: _card(browser, served.redis.address).text, 90, "the finding")
    assert "No maxmemory" in text and "Why:" in text and "Fix:" in text
    assert "maxmemory-policy allkeys-lru" in text
    stats = browser.find_element("css selector", "#doctor-stats").text
    assert "Warning" in stats
    screenshot(browser, "doctor")
    href = wait_for(
        lambda: (
            _card(browser, served.redis.address)
            .find_element("css selector", ".evidence a")
            .get_attribute("href")
        ),
        what="the first evidence's link",
    )
    query = urllib.parse.parse_qs(urllib.parse.urlparse(href).query)["q"][0]
    assert f'instance="{served.redis.address}"' in query

    def follow() -> bool:
        link = _card(browser, served.redis.address).find_element("css selector", ".evidence a")
        click_centred(browser, link)
        return True

    wait_for(follow, what="a click on the evidence's query")
    wait_for(
        lambda: (
            browser.find_element("css selector", "#explore-query").get_attribute("value") == query
        ),
        what="Explore with the evidence's query",
    )
    assert not csp_violations(browser)


def test_namespaces_clients_and_the_server_report(served: Served, browser: Any) -> None:
    open_page(browser, served, f"/doctor?instance={served.redis.address}&refresh=5s")
    wait_for(
        lambda: "{id}" in browser.find_element("css selector", "#doctor-namespaces").text,
        90,
        "the namespace table",
    )
    clients = wait_for(
        lambda: browser.find_element("css selector", "#doctor-clients").text, 60, "clients"
    )
    assert "cachewatch" in clients  # its own connections are clients too
    wait_for(lambda: browser.find_elements("css selector", "#doctor-treemap .main-svg"))
    click_centred(browser, browser.find_element("css selector", "#doctor-ask"))
    report = wait_for(
        lambda: browser.find_element("css selector", "#doctor-report").text, 30, "the report"
    )
    assert "LATENCY DOCTOR" in report and "MEMORY DOCTOR" in report
    screenshot(browser, "doctor-target")


def test_the_target_page_has_a_doctor_tab(served: Served, browser: Any) -> None:
    open_page(browser, served, f"/target?instance={served.redis.address}&tab=doctor")
    wait_for(lambda: _card(browser, served.redis.address), 90, "the finding on the target page")
