"""LFU sampling against a model of Redis's LFU counter: precision@10 over many trials.

The real `LfuSampler` runs in virtual time against a simulated server whose counters follow
Redis's `LFULogIncr` exactly (a key at counter c moves to c+1 with probability
1 / ((c - 5) * lfu-log-factor + 1), capped at 255; new keys start at 5), under a Zipf load
with shuffled ranks. That isolates what the counters can tell from the noise of a shared
machine, and reaches server ages (a day) that a live bench cannot. `bench/hotkeys_bench.py`
is the measurement on a real redis-server; this one shows where the method's limits are.

For each load (ops/s) and server age (seconds the load ran before the detector started):
a fresh detector at default settings steps once a virtual second; precision@10 after one
window (10 s) against the accesses the model made meanwhile; then the hot set moves to
other keys and precision@10 against the new counts is taken one window later.

    .venv/bin/python bench/lfu_model_bench.py [--trials 10] [--keys 10000] [--slot-cpu]

With `--slot-cpu` the model is one cluster node owning every slot, answering CLUSTER
SLOT-STATS (1 µs of CPU per access) and INFO commandstats, fed to `SlotHeat` each step as the
detector does on cluster nodes.

Prints figures, never asserts.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import numpy as np
from redis.crc import key_slot

import collectors.hotkeys.lfu as lfu_module
from collectors.hotkeys.detector import HotKeyOptions
from collectors.hotkeys.lfu import LFU_INIT_VAL, LFU_MAX, LfuConfig, LfuSampler, TokenBucket
from collectors.hotkeys.slots import ClusterSlots


class VirtualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class ModelServer:
    """Keys, their LFU counters and a Zipf load; answers SCAN and OBJECT FREQ."""

    def __init__(
        self, keys: int, zipf_s: float, ops: float, factor: int, rng: Any, clock: VirtualClock
    ) -> None:
        self.rng, self.factor, self.clock, self.ops = rng, factor, clock, ops
        self.keys = [f"{rng.integers(1 << 62):016x}".encode() for _ in range(keys)]
        self.index = {key: i for i, key in enumerate(self.keys)}
        self.counter = np.full(keys, LFU_INIT_VAL, dtype=np.int64)
        weights = 1 / np.arange(1, keys + 1) ** zipf_s
        self.shares = weights / weights.sum()
        self.rates = np.zeros(keys)
        self.move_hot_set()
        self.scan_order = rng.permutation(keys)
        self.started = clock.now
        self.accesses = np.zeros(keys)
        # one node owning every slot: CPU per slot is 1 µs per access of its keys
        self.slot = np.array([key_slot(key) for key in self.keys])
        self.slot_usec = np.zeros(16384)
        self.calls = 0.0

    def move_hot_set(self) -> None:
        self.rates[self.rng.permutation(len(self.keys))] = self.shares * self.ops

    def run(self, seconds: float) -> None:
        """`seconds` of load: each access raises a counter with Redis's probability."""
        left = self.rng.poisson(self.rates * seconds)
        self.accesses += left
        np.add.at(self.slot_usec, self.slot, left)
        self.calls += float(left.sum())
        counter = self.counter
        active = np.nonzero((left > 0) & (counter < LFU_MAX))[0]
        while active.size:
            # accesses until the next increment are geometric with p = 1 / ((c - 5) f + 1)
            mean = np.maximum(counter[active] - LFU_INIT_VAL, 0) * self.factor + 1
            wait = self.rng.geometric(1 / mean)
            moved = wait <= left[active]
            index = active[moved]
            left[index] -= wait[moved]
            counter[index] += 1
            active = index[(left[index] > 0) & (counter[index] < LFU_MAX)]
        self.clock.now += seconds

    async def pipeline(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        return [self._reply(command) for command in commands]

    async def execute(self, *command: Any) -> Any:
        return self._reply(command)

    def _reply(self, command: tuple[Any, ...]) -> Any:
        name = command[0]
        if name == "OBJECT":
            return int(self.counter[self.index[command[2]]])
        if name == "SCAN":
            cursor, count = int(command[1]), int(command[3])
            keys = [self.keys[i] for i in self.scan_order[cursor : cursor + count]]
            following = cursor + count if cursor + count < len(self.keys) else 0
            return [str(following).encode(), keys]
        if name == "CLUSTER" and command[1] == "GETKEYSINSLOT":
            slot, count = int(command[2]), int(command[3])
            return [self.keys[i] for i in np.nonzero(self.slot == slot)[0][:count]]
        if name == "CLUSTER" and command[2] == "ORDERBY":  # ORDERBY cpu-usec LIMIT n
            busiest = np.argsort(-self.slot_usec)[: int(command[5])]
            return [[int(slot), [b"cpu-usec", int(self.slot_usec[slot])]] for slot in busiest]
        if name == "CLUSTER":  # SLOT-STATS SLOTSRANGE first last
            first, last = int(command[3]), int(command[4])
            return [
                [slot, [b"cpu-usec", int(self.slot_usec[slot])]] for slot in range(first, last + 1)
            ]
        if name == "INFO":
            return f"cmdstat_get:calls={self.calls:.0f},usec={self.calls:.0f}\r\n".encode()
        if name == "TYPE":
            return b"string"
        if name == "MEMORY":
            return 100
        raise ValueError(f"the model does not answer {command!r}")

    def precision(self, found: list[str], top: int = 10) -> float:
        truth = set(np.argsort(-self.accesses)[:top].tolist())
        return len(truth & {self.index[key.encode()] for key in found[:top]}) / top


async def trial(
    args: argparse.Namespace, ops: float, age: float, seed: int
) -> tuple[float, float, int]:
    clock = VirtualClock()
    lfu_module.time.monotonic = clock  # type: ignore[attr-defined]  # the sampler's clock
    server = ModelServer(args.keys, args.zipf, ops, 10, np.random.default_rng(seed), clock)
    server.run(age)
    saturated = int(np.sum(server.counter >= LFU_MAX))
    options = HotKeyOptions()
    sampler = LfuSampler(
        "model", LfuConfig(10, 1), candidates=options.candidates, window_s=options.window_s,
        bigkey_sample_every=options.bigkey_sample_every, bigkeys_per_type=10,
        server_started=server.started,
    )  # fmt: skip
    budget = TokenBucket(options.command_budget_per_s, options.command_budget_per_s, clock.now)
    # what the detector adds on a cluster node with SLOT-STATS CPU
    slots = ClusterSlots(sampler, options.hot_slots, options.window_s) if args.slot_cpu else None

    async def steps(seconds: float) -> None:
        for _ in range(int(seconds)):
            granted = budget.take_all(clock.now)
            spent = 0
            if slots is not None:
                spent += await slots.queue_hot_slot_keys(server, clock.now)
                spent += await slots.read_heat(server, granted // 4, clock.now)
            spent += await sampler.step(server, max(0, granted - spent))  # type: ignore[arg-type]
            server.run(0.5)  # the detector's step and its second heat reading are apart
            if slots is not None:
                spent += await slots.read_heat(server, granted - spent, clock.now)
            budget.refund(granted - spent)
            server.run(0.5)

    server.accesses[:] = 0
    await steps(options.window_s)
    steady = server.precision([entry.key for entry in sampler.hot(10, clock.now)])
    server.move_hot_set()
    server.accesses[:] = 0
    await steps(options.window_s)
    moved = server.precision([entry.key for entry in sampler.hot(10, clock.now)])
    return steady, moved, saturated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--zipf", type=float, default=1.0)
    parser.add_argument("--ops", type=float, nargs="+", default=[300e3, 1e6])
    parser.add_argument("--ages", type=float, nargs="+", default=[2, 12, 40, 600, 86400])
    parser.add_argument(
        "--slot-cpu",
        action="store_true",
        help="a cluster node with CLUSTER SLOT-STATS CPU (keys at 255 rank by their slot)",
    )
    args = parser.parse_args()
    print(
        f"model: {args.keys} keys, Zipf s={args.zipf}, lfu-log-factor 10, detector defaults"
        f"{', cluster node with slot CPU' if args.slot_cpu else ''}; {args.trials} trials each\n"
    )
    print(f"{'ops/s':>9} {'server age':>10} | {'precision@10 after 10 s':>27} | "
          f"{'hot set moved, +10 s':>24} | keys at 255")  # fmt: skip
    for ops in args.ops:
        for age in args.ages:
            results = [asyncio.run(trial(args, ops, age, seed)) for seed in range(args.trials)]
            steady = np.array([r[0] for r in results])
            moved = np.array([r[1] for r in results])
            saturated = int(np.median([r[2] for r in results]))
            print(
                f"{ops:>9,.0f} {age:>9,.0f}s | mean {steady.mean():.2f}, >= 0.9 in "
                f"{np.mean(steady >= 0.9) * 100:3.0f} % | mean {moved.mean():.2f}, >= 0.9 in "
                f"{np.mean(moved >= 0.9) * 100:3.0f} % | {saturated}"
            )


if __name__ == "__main__":
    main()
