"""The server's own hot-key tracking, where it exists (written from the documentation,
untested against a real server: neither server installed here has it).

* Redis 8.6 `HOTKEYS START METRICS n CPU NET [COUNT k] [DURATION s]` / `HOTKEYS GET`: a
  tracking session; GET answers nil without a session, else a flat field/value map with
  `by-cpu-time-us` and `by-net-bytes` lists of key, value pairs, plus the totals
  `all-commands-all-slots-us` and `net-bytes-all-commands-all-slots`. It ranks by CPU time
  or bytes, not by operations, so entries carry `share` and no rate.
* Valkey 9.2 `HOTKEYS GET`: enabled by `hotkey-top-k` > 0; answers the last completed
  window's top keys as entries with `key`, `db` and `qps` (a map in RESP3, a flat
  field/value array in RESP2), empty until the first window completes.

Detection is by `COMMAND INFO HOTKEYS`: a nil entry means the server lacks it.
"""

from __future__ import annotations

from typing import Any

from collectors.hotkeys.report import HotKeyEntry, Method, display_key

__all__ = [
    "ServerTrackingError",
    "has_hotkeys_command",
    "parse_valkey_hotkeys",
    "parse_redis_hotkeys",
]


class ServerTrackingError(ValueError):
    """A HOTKEYS reply that does not have the documented shape."""


def has_hotkeys_command(command_info_reply: Any) -> bool:
    """True when `COMMAND INFO HOTKEYS` describes a command (servers without it say nil)."""
    return (
        isinstance(command_info_reply, list)
        and bool(command_info_reply)
        and isinstance(command_info_reply[0], list)
    )


def _as_map(value: Any, where: str) -> dict[str, Any]:
    if isinstance(value, dict):
        return {_name(k): v for k, v in value.items()}
    if isinstance(value, list) and len(value) % 2 == 0:
        return {_name(value[i]): value[i + 1] for i in range(0, len(value), 2)}
    raise ServerTrackingError(f"HOTKEYS GET: {where} is not a field/value map: {value!r:.80}")


def _name(value: Any) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def _number(value: Any, where: str) -> float:
    try:
        return float(value.decode() if isinstance(value, bytes) else value)
    except (TypeError, ValueError, AttributeError):
        raise ServerTrackingError(f"HOTKEYS GET: {where} is not a number: {value!r:.40}") from None


def parse_valkey_hotkeys(reply: Any, instance: str, window_s: float) -> list[HotKeyEntry]:
    if reply is None:
        return []
    if not isinstance(reply, list):
        raise ServerTrackingError(f"HOTKEYS GET: expected an array, got {type(reply).__name__}")
    entries = []
    for position, raw in enumerate(reply):
        fields = _as_map(raw, f"entry {position}")
        if "key" not in fields or "qps" not in fields:
            raise ServerTrackingError(f"HOTKEYS GET: entry {position} lacks key or qps")
        db = int(_number(fields.get("db", 0), f"entry {position} db"))
        key = display_key(fields["key"])
        entries.append(
            HotKeyEntry(
                key=key if db == 0 else f"db{db}:{key}",
                ops_per_sec=_number(fields["qps"], f"entry {position} qps"),
                error=None,
                method=Method.SERVER,
                instance=instance,
                window_s=window_s,
            )
        )
    entries.sort(key=lambda e: e.ops_per_sec or 0.0, reverse=True)
    return entries


def parse_redis_hotkeys(reply: Any, instance: str) -> list[HotKeyEntry]:
    """Keys ranked by CPU time (else by network bytes), each with its share of the total."""
    if reply is None:
        return []
    fields = _as_map(reply, "the reply")
    duration_ms = _number(fields.get("collection-duration-ms", 0), "collection-duration-ms")
    for list_name, total_name in (
        ("by-cpu-time-us", "all-commands-all-slots-us"),
        ("by-net-bytes", "net-bytes-all-commands-all-slots"),
    ):
        pairs = fields.get(list_name)
        if not pairs:
            continue
        if isinstance(pairs, dict):
            ranked = list(pairs.items())
        elif isinstance(pairs, list) and len(pairs) % 2 == 0:
            ranked = [(pairs[i], pairs[i + 1]) for i in range(0, len(pairs), 2)]
        else:
            raise ServerTrackingError(f"HOTKEYS GET: {list_name} is not key/value pairs")
        total = _number(fields.get(total_name, 0), total_name)
        return [
            HotKeyEntry(
                key=display_key(key),
                ops_per_sec=None,
                error=None,
                method=Method.SERVER,
                instance=instance,
                window_s=duration_ms / 1000,
                share=(_number(value, f"{list_name} value") / total) if total else None,
            )
            for key, value in ranked
        ]
    return []
