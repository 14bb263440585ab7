"""Key names become key patterns by collapsing identifier-like segments into `{id}`."""

from __future__ import annotations

import pytest

from collectors.keypatterns import key_pattern


@pytest.mark.parametrize(
    ("key", "pattern"),
    [
        ("api:v2:user:8812:profile", "api:v2:user:{id}:profile"),
        ("session:3f2504e0-4f89-11d3-9a0c-0305e82c3301", "session:{id}"),
        ("cache/api/v1/users/123/orders", "cache/api/v1/users/{id}/orders"),
        ("user:alice@example.com:prefs", "user:{id}:prefs"),
        ("rate:10.0.0.5:minute", "rate:{id}:minute"),
        ("sess:dGhpcyBpcyBhIHRva2VuMTIzNDU2", "sess:{id}"),
        ("obj:5f3a9c2edeadbeef01", "obj:{id}"),
        ("order_8812", "order_{id}"),
        ("user_profile:42", "user_profile:{id}"),
        ("feature-flags", "feature-flags"),
        ("locale:en-US:strings", "locale:en-US:strings"),
        ("cart:7:9", "cart:{id}:{id}"),
        ("page.home.v3", "page.home.v3"),
        ("thumb.1200x630.42.png", "thumb.1200x630.{id}.png"),
        ("ulid:01ARZ3NDEKTSV4RRFFQ69G5FAV", "ulid:{id}"),
        ("plain", "plain"),
        ("", ""),
        ("leaderboard|2024|week|12", "leaderboard|{id}|week|{id}"),
    ],
)
def test_patterns(key: str, pattern: str) -> None:
    assert key_pattern(key) == pattern


def test_words_are_never_ids() -> None:
    for word in ("configuration", "authorization_header", "recommendations", "ProductDetails"):
        assert key_pattern(f"ns:{word}") == f"ns:{word}"
