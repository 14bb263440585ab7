"""Namespace estimates against the truth: 220k keys in six patterns (strings, lists,
hashes; no TTL, < 1 h, < 1 d, longer), one pass of the sampler at its default options. Key
count and memory per pattern are within 10 % of the exact figures (memory: `MEMORY USAGE
SAMPLES 0` summed over every key); the TTL histogram puts each pattern in its bucket. The
pass's commands are counted (what the budget pays; bench/namespaces_bench.py measures what
they cost the server)."""

from __future__ import annotations

import asyncio

import pytest
import redis

from collectors.namespaces import NamespaceOptions, NamespaceSampler
from monitor.targets import parse_target_url
from tests.namespace_dataset import PATTERNS, populate
from tests.servers import LocalRedis

pytestmark = pytest.mark.timeout(300)
KEYS = 220_000


async def one_pass(url: str, options: NamespaceOptions) -> tuple[object, int]:
    sampler = NamespaceSampler(parse_target_url(url), options)
    try:
        while sampler.report().passes == 0:
            await sampler.step(500)
        return sampler.report(), sampler.commands_sent
    finally:
        await sampler.close()


def test_estimates_within_ten_percent_of_the_truth() -> None:
    server = LocalRedis().start()
    try:
        truth = populate(server.port, KEYS)
        assert sum(truth.keys.values()) >= 200_000 and len(truth.keys) >= 5
        options = NamespaceOptions()
        report, commands = asyncio.run(one_pass(server.url, options))
    finally:
        server.stop()
    rows = {row.pattern: row for row in report.rows}  # type: ignore[attr-defined]
    assert set(rows) == set(PATTERNS)
    for pattern in PATTERNS:
        row = rows[pattern]
        assert abs(row.keys - truth.keys[pattern]) <= 0.1 * truth.keys[pattern], pattern
        assert abs(row.memory_bytes - truth.memory[pattern]) <= 0.1 * truth.memory[pattern], (
            pattern,
            row.memory_bytes,
            truth.memory[pattern],
        )
        (bucket,) = truth.ttl[pattern]
        estimated = dict(zip(("none", "under_1h", "under_1d", "longer"), row.ttl_keys, strict=True))
        assert estimated[bucket] == pytest.approx(row.keys, rel=0.01), (pattern, estimated)
        assert row.sampled == min(options.samples, truth.keys[pattern])
    # one pass: a SCAN per `scan_count` keys, MEMORY USAGE + TTL per sampled key, INFO once
    scans = KEYS / options.scan_count
    sampled = sum(min(options.samples, n) for n in truth.keys.values())
    assert commands <= 1.2 * scans + 2 * sampled + 2


def test_passes_rest_between_starts() -> None:
    """After a whole pass the sampler sends nothing until the next is due, then starts again."""
    server = LocalRedis().start()

    async def scenario() -> None:
        with redis.Redis(port=server.port) as conn:
            conn.mset({f"order:{i}": "o" for i in range(3000)})
        resting = NamespaceSampler(parse_target_url(server.url), NamespaceOptions(every_s=3600))
        due = NamespaceSampler(parse_target_url(server.url), NamespaceOptions(every_s=0.2))
        try:
            for sampler in (resting, due):
                while sampler.report().passes == 0:
                    await sampler.step(500)
            with redis.Redis(port=server.port) as conn:
                scans = conn.info("commandstats")["cmdstat_scan"]["calls"]
            sent = resting.commands_sent
            for _ in range(5):
                assert await resting.step(500) == 0
            assert resting.commands_sent == sent
            assert resting.report().progress == 1.0 and resting.report().complete
            with redis.Redis(port=server.port) as conn:
                assert conn.info("commandstats")["cmdstat_scan"]["calls"] == scans
            # the other one's next pass comes once it is due
            while due.report().passes < 2:
                await due.step(500)
                await asyncio.sleep(0.05)
            assert due.report().rows[0].keys == pytest.approx(3000)
        finally:
            await resting.close()
            await due.close()

    try:
        asyncio.run(scenario())
    finally:
        server.stop()


def test_a_pass_completes_at_the_floor_budget() -> None:
    """At 20 commands a second a step cannot afford a SCAN (charged 50): the SCAN goes
    ahead once a step and the debt is paid by the next steps, as the runner does."""
    server = LocalRedis().start()

    async def scenario() -> None:
        with redis.Redis(port=server.port) as conn:
            conn.mset({f"order:{i}": "o" for i in range(3000)})
        sampler = NamespaceSampler(parse_target_url(server.url), NamespaceOptions())
        credit, steps, spent = 0.0, 0, 0
        try:
            while sampler.report().passes == 0:
                steps += 1
                assert steps < 5000, "the pass never finished"
                credit = min(credit + 20, 40)
                if credit >= 1:
                    used = await sampler.step(int(credit))
                    credit, spent = credit - used, spent + used
            assert sampler.report().rows[0].keys == pytest.approx(3000)
            assert spent <= 20 * steps + 50  # the floor held on average (one SCAN of debt)
        finally:
            await sampler.close()

    try:
        asyncio.run(scenario())
    finally:
        server.stop()
