"""Every page in a real browser against a real `cachewatch serve` and real servers;
screenshots of each land in artifacts/screenshots/."""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import pytest
import redis
from selenium.common.exceptions import (
    ElementClickInterceptedException,
    StaleElementReferenceException,
)

from tests.loads import fill_keys, run_loads, zipf_keys, zipf_load
from tests.web.conftest import (
    PASSWORD,
    TARGET_PASSWORD,
    Served,
    auth_header,
    http_get,
    screenshot,
)

pytestmark = pytest.mark.timeout(300)


def wait_for(condition: Callable[[], Any], timeout_s: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = condition()
        except Exception as exc:  # the page is still rendering: elements come and go
            last = exc
        else:
            if last:
                return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def open_page(driver: Any, served: Served, path: str) -> None:
    driver.get(served.url + path)
    wait_for(
        lambda: driver.find_elements("css selector", ".page-header h1"), what=f"{path} to render"
    )


def plotted_points(driver: Any) -> list[int]:
    """Points with a value in each rendered Plotly chart on the page."""
    script = """
      return Array.from(document.querySelectorAll('.js-plotly-plot')).map(function (g) {
        return (g.data || []).reduce(function (n, t) {
          var ys = t.y || t.z || [];
          return n + ys.filter(function (v) { return v !== null && v !== undefined; }).length;
        }, 0);
      });"""
    return list(driver.execute_script(script))


def click_centred(driver: Any, element: Any) -> None:
    """Click after scrolling the element to the middle of the window: scrolled only into
    view (the default), it can sit under the sticky top bar, which then takes the click
    (the alerts page grows with the fleet's alerts)."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def csp_violations(driver: Any) -> list[str]:
    return [
        e["message"] for e in driver.get_log("browser") if "Content Security Policy" in e["message"]
    ]


def test_health_is_open_and_everything_else_needs_auth(served: Served) -> None:
    assert http_get(served.url + "/-/healthy")[0] == 200
    status, headers, _ = http_get(served.url + "/")
    assert status == 401
    assert headers["www-authenticate"].startswith("Basic")
    assert http_get(served.url + "/", auth_header(password="wrong password"))[0] == 401
    assert http_get(served.url + "/metrics", auth_header(password="wrong"))[0] == 401
    status, headers, body = http_get(served.url + "/", auth_header())
    assert status == 200
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert PASSWORD.encode() not in body


def test_callbacks_without_the_csrf_token_are_refused(served: Served) -> None:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        served.url + "/_dash-update-component",
        data=b"{}",
        method="POST",
        headers={"Authorization": auth_header(), "Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    refused.value.close()
    assert refused.value.code == 403


def test_overview_shows_every_target_grouped_by_cluster(served: Served, browser: Any) -> None:
    open_page(browser, served, "/?range=15m&refresh=5s")
    cards = wait_for(
        lambda: (
            len(browser.find_elements("css selector", ".target-card.up")) >= 2
            and browser.find_elements("css selector", ".target-card")
        ),
        what="target cards",
    )
    text = browser.find_element("css selector", ".fleet-grid").text
    assert served.redis.address in text and served.memcached.address in text
    if served.cluster is not None:
        wait_for(
            lambda: len(browser.find_elements("css selector", ".target-card")) >= 8,
            what="cluster nodes",
        )
        assert "Cluster" in browser.find_element("css selector", ".fleet-grid").text
    assert cards
    checked = browser.find_elements(
        "css selector", "#range-picker input:checked, #refresh-picker input:checked"
    )
    assert sorted(c.get_attribute("value") for c in checked) == ["15m", "5s"]
    wait_for(lambda: "ops/s" in browser.page_source)
    screenshot(browser, "overview")
    assert not csp_violations(browser)


def test_target_page_draws_charts_with_data(served: Served, browser: Any) -> None:
    query = urllib.parse.urlencode(
        {"instance": served.redis.address, "range": "5m", "refresh": "5s"}
    )
    open_page(browser, served, f"/target?{query}")
    wait_for(
        lambda: sum(1 for n in plotted_points(browser) if n > 0) >= 4,
        timeout_s=60,
        what="charts with data",
    )
    screenshot(browser, "target")
    before = plotted_points(browser)
    # a refresh extends the charts rather than redrawing them: points only grow (or slide)
    wait_for(lambda: plotted_points(browser) != before, timeout_s=20, what="a live update")
    for tab, name in (
        ("INFO", "target-info"),
        ("Slowlog", "target-slowlog"),
        ("Keyspace", "target-keyspace"),
    ):
        browser.find_element(
            "xpath", f"//div[contains(@class,'tab-item')][normalize-space()='{tab}']"
        ).click()
        wait_for(lambda: "tab=" in browser.current_url, what=f"{tab} in the URL")
        wait_for(
            lambda: browser.find_elements(
                "css selector", "#target-tab-body .panel, #target-tab-body .empty-state"
            )
        )
        screenshot(browser, name)
    assert "redis_connected_clients" in browser.page_source or "tab=keyspace" in browser.current_url


def test_a_fresh_install_opens_on_a_range_its_history_fills(served: Served, browser: Any) -> None:
    """The default 1h range squeezed a few minutes of history into the right edge: without
    a range in the URL the dashboard picks the shortest range that holds the history (and
    pins it in the URL); a range the user picked stays."""
    open_page(
        browser, served, "/target?" + urllib.parse.urlencode({"instance": served.redis.address})
    )
    wait_for(lambda: "range=" in browser.current_url, what="a range pinned in the URL")
    fitted = urllib.parse.parse_qs(urllib.parse.urlsplit(browser.current_url).query)["range"][0]
    assert fitted in ("5m", "15m"), browser.current_url  # the fixture's history is minutes old
    screenshot(browser, "range-fitted")
    query = urllib.parse.urlencode({"instance": served.redis.address, "range": "6h"})
    open_page(browser, served, f"/target?{query}")
    wait_for(lambda: len(browser.find_elements("css selector", ".chart-panel")) == 8)
    assert "range=6h" in browser.current_url


def pick_option(driver: Any, dropdown_id: str, text: str) -> None:
    """Choose `text` in the dropdown `dropdown_id`, as a person does: open it, narrow the list
    with its search box (in a long list the option can sit under the search box, which then
    takes the click), click the option."""
    driver.find_element("id", dropdown_id).click()
    for search in driver.find_elements("css selector", "input.dash-dropdown-search"):
        if search.is_displayed():
            search.send_keys(text)

    def pick() -> bool:
        options = [o for o in driver.find_elements("css selector", "[role=option]")]
        options = [o for o in options if o.text.strip() == text]
        try:
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", options[0])
            options[0].click()
        except (IndexError, ElementClickInterceptedException, StaleElementReferenceException):
            return False  # the list is still opening or filtering: try again
        return True

    wait_for(pick, what=f"{text} picked in #{dropdown_id}")


def tab_labels(driver: Any) -> list[str]:
    return [e.text.strip() for e in driver.find_elements("css selector", "#target-tab .tab-item")]


def test_picking_a_memcached_target_lays_out_its_charts(served: Served, browser: Any) -> None:
    query = urllib.parse.urlencode({"instance": served.redis.address, "range": "5m"})
    open_page(browser, served, f"/target?{query}")
    wait_for(lambda: len(browser.find_elements("css selector", ".chart-panel")) == 8)
    assert tab_labels(browser) == ["Charts", "INFO", "Slowlog", "Keyspace", "Doctor"]
    pick_option(browser, "target-picker", served.memcached.address)
    wait_for(
        lambda: served.memcached.address in urllib.parse.unquote(browser.current_url),
        what="the URL to follow",
    )
    wait_for(
        lambda: len(browser.find_elements("css selector", ".chart-panel")) == 6, what="6 charts"
    )
    # memcached has no slowlog and no keyspace: no tab offers them
    wait_for(lambda: tab_labels(browser) == ["Charts", "INFO", "Doctor"], what="memcached's tabs")
    wait_for(
        lambda: sum(1 for n in plotted_points(browser) if n > 0) >= 3,
        timeout_s=60,
        what="memcached charts",
    )
    screenshot(browser, "target-memcached")


def test_cluster_page_shows_shards_and_nodes(served: Served, browser: Any) -> None:
    if served.cluster is None:
        pytest.skip("redis-cli is needed to build the cluster")
    open_page(browser, served, "/cluster")
    wait_for(
        lambda: len(browser.find_elements("css selector", ".node-row")) >= 6,
        timeout_s=60,
        what="nodes",
    )
    assert "16384 / 16384" in browser.find_element("css selector", ".stat-row").text
    screenshot(browser, "cluster")


def test_sentinel_page_groups_the_set_and_lists_a_failover(served: Served, browser: Any) -> None:
    sentinels = served.sentinels
    open_page(browser, served, "/sentinel")
    wait_for(
        lambda: len(browser.find_elements("css selector", ".node-row")) == 6,
        timeout_s=60,
        what="the primary, two replicas and three Sentinels",
    )
    old = sentinels.primary_address()
    card = browser.find_element("css selector", ".sentinel-master")
    assert "mymaster" in card.text
    assert card.find_elements("css selector", ".node-row")[0].text.startswith(old)  # primary first
    with redis.Redis(port=sentinels.sentinel_nodes[0].port) as conn:
        conn.execute_command("SENTINEL", "FAILOVER", "mymaster")
    changes = wait_for(
        lambda: [
            row
            for row in browser.find_elements("css selector", ".sentinel-changes tr")
            if "failover" in row.text
        ],
        timeout_s=60,
        what="the failover in the changes",
    )
    new = sentinels.primary_address()
    assert f"{old} → {new}" in changes[0].text
    wait_for(
        lambda: browser.find_element("css selector", ".sentinel-master .node-row").text.startswith(
            new
        ),
        timeout_s=60,
        what="the new primary first",
    )
    screenshot(browser, "sentinel")
    assert not csp_violations(browser)


def test_hot_keys_page_lists_the_workloads_keys(served: Served, browser: Any) -> None:
    open_page(browser, served, "/hotkeys")
    wait_for(
        lambda: browser.find_elements("css selector", "#hotkeys-body .data-table code"),
        timeout_s=60,
        what="hot keys in a table",
    )
    text = browser.find_element("id", "hotkeys-body").text
    assert "monitor" in text or "watch" in text or "lfu" in text
    screenshot(browser, "hotkeys")


def test_hot_keys_sample_now_takes_a_bounded_sample(served: Served, browser: Any) -> None:
    # a steady load while it samples: the fleet's workload sends one pipeline every 0.5 s,
    # which a 100 ms burst catches only now and then on a quiet machine
    keys = zipf_keys(200)
    fill_keys(served.redis.port, keys)
    stop, threads = run_loads((zipf_load, (served.redis.port, keys)))
    try:
        open_page(browser, served, "/hotkeys")
        pick_option(browser, "hotkeys-sample-target", served.redis.address)
        click_centred(browser, browser.find_element("id", "hotkeys-sample-run"))
        panel = wait_for(
            lambda: (
                "Sampled now" in browser.find_element("id", "hotkeys-sample").text
                and browser.find_element("id", "hotkeys-sample")
            ),
            timeout_s=90,
            what="the sample's result",
        )
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
    text = panel.text
    # noeviction: nothing cheaper ranks keys, so a MONITOR sample, saying what it rests on
    # and what it cost
    assert f"Sampled now: {served.redis.address}" in text
    assert "monitor over" in text and "commands" in text and "throughput cost" in text
    assert panel.find_elements("css selector", ".data-table code"), text
    screenshot(browser, "hotkeys-sample-now")
    assert not csp_violations(browser)


@pytest.mark.parametrize("path", ["/evictions", "/explore?q=redis_up"])
def test_other_pages_render(served: Served, browser: Any, path: str) -> None:
    open_page(browser, served, path)
    if path.startswith("/evictions"):
        wait_for(
            lambda: browser.find_elements("css selector", "#evictions-table table"),
            what="eviction table",
        )
        headers = browser.find_elements("css selector", "#evictions-table th")
        assert [h.text for h in headers][:3] == ["target", "evictions/s", "trend"]
        wait_for(
            lambda: len(browser.find_elements("css selector", ".main-svg")) >= 4, what="charts"
        )
    if path.startswith("/explore"):
        wait_for(lambda: any(n > 0 for n in plotted_points(browser)), what="the query's plot")
    screenshot(browser, path.strip("/").split("?")[0])
    assert not csp_violations(browser)


def test_explore_reports_a_bad_query(served: Served, browser: Any) -> None:
    open_page(browser, served, "/explore?q=" + urllib.parse.quote("sum(rate(redis_up[1m]"))
    # read the text inside the wait: a refresh can replace the banner between find and read
    texts = wait_for(
        lambda: [b.text for b in browser.find_elements("css selector", ".error-banner")],
        what="error banner",
    )
    assert "parse error" in texts[0]
    screenshot(browser, "explore-error")


def test_a_silence_can_be_created_and_expired(served: Served, browser: Any) -> None:
    open_page(browser, served, "/alerts")
    matchers = wait_for(lambda: browser.find_element("id", "silence-matchers"))
    matchers.send_keys(f'alertname=RedisDown instance="{served.redis.address}"')
    browser.find_element("id", "silence-comment").send_keys("planned restart")
    click_centred(browser, browser.find_element("id", "silence-create"))
    message = wait_for(
        lambda: (
            "created" in browser.find_element("id", "silence-message").text
            and browser.find_element("id", "silence-message")
        ),
        what="silence created",
    )
    assert "Silence" in message.text
    wait_for(
        lambda: "planned restart" in browser.find_element("id", "silences-table").text,
        what="silence listed",
    )
    assert "by" in browser.find_element("id", "silences-table").text
    screenshot(browser, "alerts")
    click_centred(browser, browser.find_element("css selector", "#silences-table button.danger"))
    wait_for(
        lambda: "Expired" in browser.find_element("id", "silence-message").text,
        what="silence expired",
    )


def test_a_stopped_target_shows_as_down(served: Served, browser: Any) -> None:
    served.memcached.pause()
    try:
        open_page(browser, served, "/?refresh=5s")
        card = wait_for(
            lambda: [
                c
                for c in browser.find_elements("css selector", ".target-card.down")
                if served.memcached.address in c.text
            ],
            timeout_s=60,
            what="the paused memcached card to show down",
        )
        assert "Down" in card[0].text
        screenshot(browser, "overview-target-down")
        query = urllib.parse.urlencode({"instance": served.memcached.address})
        open_page(browser, served, f"/target?{query}")
        banner = wait_for(
            lambda: browser.find_elements("css selector", ".error-banner"), what="down banner"
        )
        assert "down" in banner[0].text
        screenshot(browser, "target-down")
    finally:
        served.memcached.resume()


def test_light_theme_and_wall_monitor(served: Served, browser: Any) -> None:
    open_page(browser, served, "/")
    browser.find_element("id", "theme-toggle").click()
    wait_for(lambda: browser.find_element("id", "app-root").get_attribute("data-theme") == "light")
    wait_for(lambda: browser.find_elements("css selector", ".target-card"))
    screenshot(browser, "overview-light")
    browser.set_window_size(2560, 1440)
    query = urllib.parse.urlencode({"instance": served.redis.address, "range": "5m"})
    open_page(browser, served, f"/target?{query}")
    wait_for(lambda: sum(1 for n in plotted_points(browser) if n > 0) >= 4, timeout_s=60)
    screenshot(browser, "target-light-wall")
    browser.find_element("id", "theme-toggle").click()
    browser.set_window_size(1366, 768)
    open_page(browser, served, f"/target?{query}")
    wait_for(lambda: sum(1 for n in plotted_points(browser) if n > 0) >= 4, timeout_s=60)
    screenshot(browser, "target-laptop")
    browser.set_window_size(1440, 1000)


def test_no_secret_reaches_the_browser(served: Served, browser: Any) -> None:
    """Neither the dashboard's password nor a target's appears in any page, tab, layout
    or callback response the browser received."""
    pages = [
        "/",
        "/cluster",
        "/sentinel",
        "/alerts",
        "/hotkeys",
        "/evictions",
        "/explore?q=redis_instance_info",
    ]
    for tab in ("charts", "info", "slowlog", "keyspace"):
        pages.append(
            "/target?" + urllib.parse.urlencode({"instance": served.secured.address, "tab": tab})
        )
    browser.execute_cdp_cmd("Network.enable", {})
    for path in pages:
        open_page(browser, served, path)
        time.sleep(1.5)  # let the page's callbacks answer
        source = browser.page_source
        assert PASSWORD not in source and TARGET_PASSWORD not in source, path
    assert served.secured.address in browser.page_source  # the secured target was polled and shown
    status, _, layout = http_get(served.url + "/_dash-layout", auth_header())
    assert status == 200
    assert PASSWORD not in layout.decode() and TARGET_PASSWORD not in layout.decode()
    logged = served.log()
    assert TARGET_PASSWORD not in logged and PASSWORD not in logged


def test_no_callback_failed_on_the_server(served: Served, browser: Any) -> None:
    """Runs last: every page above rendered without a server-side exception."""
    log = served.log()
    assert "Traceback" not in log, log[-4000:]


_GRID_ITEMS = """
return Array.from(document.querySelector('#overview-grid').children).map(function (e) {
  if (e.classList.contains('group-header')) {
    return ['group', e.querySelector('h2').textContent, e.querySelector('.group-meta').textContent];
  }
  if (e.classList.contains('target-card')) {
    return ['card', e.querySelector('.card-title').textContent];
  }
  return ['other', e.textContent];
});
"""


def _grid(driver: Any) -> list[list[str]]:
    return list(driver.execute_script(_GRID_ITEMS))


def test_overview_pages_and_group_headers_count_every_member(served: Served, browser: Any) -> None:
    open_page(browser, served, "/?refresh=off&per_page=500")

    def target_count() -> int | None:
        text = browser.find_element("id", "overview-updated").text  # "13 targets · ..."
        head = text.split(" targets", 1)[0]
        return int(head) if " targets" in text and head.isdigit() else None

    total = wait_for(target_count, what="the target count")
    assert total >= 5
    whole = wait_for(
        lambda: (grid := _grid(browser)) and sum(k == "card" for k, *_ in grid) == total and grid,
        what="every card on one page",
    )
    assert all(kind != "other" for kind, *_ in whole)  # one page: no pager
    order = [item[1] for item in whole if item[0] == "card"]
    members: dict[str, int] = {}
    group = ""
    for kind, text, *_ in whole:
        if kind == "group":
            group = text
        else:
            members[group] = members.get(group, 0) + 1

    pages = -(-total // 4)
    open_page(browser, served, "/?refresh=off&per_page=4&page=2")
    paged = wait_for(
        lambda: (grid := _grid(browser)) and any(k == "card" for k, *_ in grid) and grid,
        what="page 2",
    )
    assert [item[1] for item in paged if item[0] == "card"] == order[4:8]
    pager = next(item[1] for item in paged if item[0] == "other")
    assert f"Page 2 of {pages}" in pager and f"targets 5-{min(8, total)} of {total}" in pager
    # a group split across pages still counts all its members in its header
    headers = [item for item in paged if item[0] == "group"]
    assert headers
    for _, name, meta in headers:
        count = members[name]
        assert meta.startswith(f"{count} target{'s' if count != 1 else ''}")

    # the pager's Next link goes to page 3 (or there is none on the last page)
    if pages > 2:
        browser.find_element("link text", "Next >").click()
        wait_for(
            lambda: [i[1] for i in _grid(browser) if i[0] == "card"] == order[8:12],
            what="page 3 after Next",
        )
