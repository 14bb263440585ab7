"""Which targets `/scrape?target=` may poll.

Without a limit, `/scrape` connects to any host, port or unix socket a caller names: a way
into networks the caller cannot reach (SSRF), and with `redis_up` as the answer, a way to
guess passwords. So `serve` and `export` poll, on `/scrape`, only

- a target they poll anyway (configured, or discovered in a configured cluster), with the
  configured credentials and TLS settings; a `target=` that carries its own credentials for
  such a target is refused;
- or a `host:port` the operator allowed in `[exporter] scrape_allow`: `"10.0.0.5:6379"`,
  `"cache-1.internal"` (any port), `"10.0.0.0/24"`, `"10.0.0.0/24:6379"` or, for a unix
  socket, its exact `"unix:///path"`. Credentials in such a `target=` are used as given,
  as redis_exporter does.

A unix socket is never reached unless configured or listed that way.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from monitor.targets import Target

__all__ = ["ScrapePolicy", "ScrapeRefused", "ScrapeRule", "parse_scrape_allow"]


class ScrapeRefused(ValueError):
    """The target may not be polled through `/scrape`; the message says why and what to
    configure, and never holds a password."""


@dataclass(frozen=True, slots=True)
class ScrapeRule:
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
    host: str | None = None
    port: int | None = None
    unix_path: str | None = None

    def allows(self, target: Target) -> bool:
        if target.unix_path is not None or self.unix_path is not None:
            return target.unix_path is not None and target.unix_path == self.unix_path
        if self.port is not None and target.port != self.port:
            return False
        host = (target.host or "").lower()
        if self.host is not None:
            return host == self.host
        assert self.network is not None
        try:
            return ipaddress.ip_address(host) in self.network
        except ValueError:
            return False


def _rule(text: str) -> ScrapeRule:
    if text.startswith("unix://"):
        path = text.removeprefix("unix://")
        if not path.startswith("/"):
            raise ValueError(f"{text!r}: a unix socket is allowed by its absolute path")
        return ScrapeRule(unix_path=path)
    host, port = text, None
    if text.startswith("["):  # [v6]:port or [v6]
        host, _, rest = text[1:].partition("]")
        port = _port(rest.removeprefix(":"), text) if rest else None
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        port = _port(port_text, text)
    if not host:
        raise ValueError(f"{text!r}: no host")
    try:
        return ScrapeRule(network=ipaddress.ip_network(host, strict=False), port=port)
    except ValueError:
        if "/" in host or any(c.isspace() for c in host):
            raise ValueError(f"{text!r}: neither a host name nor an address/prefix") from None
        return ScrapeRule(host=host.lower(), port=port)


def _port(text: str, entry: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"{entry!r}: {text!r} is not a port")
    return int(text)


def parse_scrape_allow(entries: object, problems: list[str]) -> tuple[ScrapeRule, ...]:
    """`[exporter] scrape_allow`, checked; problems name the bad entries."""
    if entries is None:
        return ()
    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        problems.append("exporter.scrape_allow: must be a list of strings")
        return ()
    rules = []
    for entry in entries:
        try:
            rules.append(_rule(entry.strip()))
        except ValueError as exc:
            problems.append(f"exporter.scrape_allow: {exc}")
    return tuple(rules)


class ScrapePolicy:
    def __init__(
        self, polled: Callable[[], Iterable[Target]], allow: Sequence[ScrapeRule] = ()
    ) -> None:
        self._polled = polled
        self._allow = tuple(allow)

    def resolve(self, requested: Target) -> Target | None:
        """The configured target to poll for `requested` (its own settings), or None to
        poll `requested` as given (an allowed address); ScrapeRefused otherwise."""
        for target in self._polled():
            if target.key == requested.key:
                if requested.password is not None or requested.username is not None:
                    raise ScrapeRefused(
                        "the target is a configured one: /scrape uses its configured "
                        "credentials and does not take others in the URL"
                    )
                return target
        if any(rule.allows(requested) for rule in self._allow):
            return None
        # not echoed: a URL the parser misread may hold a password where a path would be
        raise ScrapeRefused(
            "the target is neither one this process polls nor allowed by [exporter] scrape_allow"
        )
