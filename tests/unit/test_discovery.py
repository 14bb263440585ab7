from __future__ import annotations

import contextlib

from hypothesis import given
from hypothesis import strategies as st

from monitor.discovery import (
    ClusterTopology,
    diff_topologies,
    node_targets,
    parse_cluster_nodes,
    parse_cluster_shards,
)
from monitor.targets import parse_target_url

# captured from a Redis 7.0.15 cluster (3 primaries, 1 replica each) on loopback
SHARDS = [
    [
        b"slots",
        [10923, 16383],
        b"nodes",
        [
            [
                b"id",
                b"497be62b",
                b"port",
                52165,
                b"ip",
                b"127.0.0.1",
                b"endpoint",
                b"127.0.0.1",
                b"role",
                b"master",
                b"replication-offset",
                0,
                b"health",
                b"online",
            ],
            [
                b"id",
                b"1e1e0f4b",
                b"port",
                45845,
                b"ip",
                b"127.0.0.1",
                b"endpoint",
                b"127.0.0.1",
                b"role",
                b"replica",
                b"replication-offset",
                0,
                b"health",
                b"loading",
            ],
        ],
    ],
    [
        b"slots",
        [5461, 10922],
        b"nodes",
        [
            [
                b"id",
                b"72aa00ff",
                b"port",
                55451,
                b"ip",
                b"127.0.0.1",
                b"endpoint",
                b"127.0.0.1",
                b"role",
                b"master",
                b"replication-offset",
                0,
                b"health",
                b"online",
            ],
            [
                b"id",
                b"e6455f9b",
                b"port",
                54625,
                b"ip",
                b"127.0.0.1",
                b"endpoint",
                b"127.0.0.1",
                b"role",
                b"replica",
                b"replication-offset",
                0,
                b"health",
                b"online",
            ],
        ],
    ],
    [
        b"slots",
        [0, 5460],
        b"nodes",
        [
            [
                b"id",
                b"0ceff545",
                b"port",
                33155,
                b"ip",
                b"127.0.0.1",
                b"endpoint",
                b"127.0.0.1",
                b"role",
                b"master",
                b"replication-offset",
                0,
                b"health",
                b"online",
            ],
            [
                b"id",
                b"75772f94",
                b"port",
                50517,
                b"ip",
                b"127.0.0.1",
                b"endpoint",
                b"127.0.0.1",
                b"role",
                b"replica",
                b"replication-offset",
                0,
                b"health",
                b"online",
            ],
        ],
    ],
]

NODES = """\
497be62b 127.0.0.1:52165@62165 master - 0 1795792535258 3 connected 10923-16383
e6455f9b 127.0.0.1:54625@64625 slave 72aa00ff 0 1795792535000 2 connected
72aa00ff 127.0.0.1:55451@65451 master - 0 1795792535061 2 connected 5461-10922
1e1e0f4b 127.0.0.1:45845@55845 slave 497be62b 0 1795792535258 3 connected
75772f94 127.0.0.1:50517@60517 slave,fail 0ceff545 0 1795792535056 1 disconnected
0ceff545 127.0.0.1:33155@43155 myself,master - 0 1795792535000 1 connected 0-5460
"""


def summary(topology: ClusterTopology) -> set[tuple[str, str, str]]:
    return {(n.address, n.role, n.shard) for n in topology.nodes}


def test_shards_and_nodes_agree() -> None:
    from_shards = parse_cluster_shards(SHARDS)
    from_nodes = parse_cluster_nodes(NODES)
    assert summary(from_shards) == summary(from_nodes)
    assert ("127.0.0.1:54625", "replica", "5461-10922") in summary(from_shards)
    failed = {n.address: n.health for n in from_nodes.nodes}
    assert failed["127.0.0.1:50517"] == "failed"


def test_node_targets_inherit_seed_and_carry_labels() -> None:
    seed = parse_target_url("redis://monitor:pw@127.0.0.1:52165", interval_s=2, timeout_s=1)
    seed = seed.with_labels(env="prod")
    targets = node_targets(seed, parse_cluster_shards(SHARDS))
    assert len(targets) == 6
    primary = next(t for t in targets if t.port == 55451)
    labels = dict(primary.series_labels())
    assert labels == {
        "env": "prod",
        "cluster": "127.0.0.1:52165",
        "shard": "5461-10922",
        "role": "primary",
        "instance": "127.0.0.1:55451",
    }
    assert primary.password is not None and primary.password.reveal() == "pw"
    assert primary.interval_s == 2 and not primary.discover


def test_failover_shows_as_role_changes() -> None:
    before = parse_cluster_shards(SHARDS)
    swapped = [
        [
            b"slots",
            [0, 5460],
            b"nodes",
            [
                [
                    b"id",
                    b"75772f94",
                    b"port",
                    50517,
                    b"ip",
                    b"127.0.0.1",
                    b"role",
                    b"master",
                    b"health",
                    b"online",
                ],
                [
                    b"id",
                    b"0ceff545",
                    b"port",
                    33155,
                    b"ip",
                    b"127.0.0.1",
                    b"role",
                    b"replica",
                    b"health",
                    b"online",
                ],
            ],
        ],
        *SHARDS[:2],
    ]
    changes = diff_topologies(before, parse_cluster_shards(swapped))
    assert {(c.kind, c.address, c.before, c.after) for c in changes} == {
        ("role_changed", "127.0.0.1:50517", "replica", "primary"),
        ("role_changed", "127.0.0.1:33155", "primary", "replica"),
    }
    removed = diff_topologies(before, parse_cluster_shards(SHARDS[1:]))
    assert sorted(c.kind for c in removed) == ["node_removed", "node_removed"]


resp_values = st.recursive(
    st.none() | st.integers() | st.binary(max_size=20),
    lambda children: st.lists(children, max_size=6),
    max_leaves=30,
)


@given(resp_values)
def test_garbled_shards_reply_raises_value_error_only(reply: object) -> None:
    with contextlib.suppress(ValueError):
        parse_cluster_shards(reply)


@given(st.text(max_size=300))
def test_garbled_nodes_text_raises_value_error_only(text: str) -> None:
    with contextlib.suppress(ValueError):
        parse_cluster_nodes(text)


def test_wrong_types_inside_a_shard_are_value_errors() -> None:
    for bad in (
        [[b"slots", [None, 1], b"nodes", []]],
        [[b"slots", [], b"nodes", [[b"port", [1], b"ip", b"x"]]]],
        [[b"slots", [], b"nodes", None]],
    ):
        try:
            parse_cluster_shards(bad)
        except ValueError:
            continue
        raise AssertionError(f"accepted {bad!r}")
