"""What we poll: a `Target` per server, parsed from a URL or a config entry.

A target is one server process. A Redis Cluster seed URL is also a target (with
`discover=True`); discovery (`monitor/discovery.py`) expands it into one target per node,
each carrying `cluster`, `shard` and `role` labels. A `redis+sentinel://` URL is a seed too
(`Target.sentinel` set): `monitor/sentinel_discovery.py` expands it into its Sentinels and
the primaries and replicas they manage.
"""

from __future__ import annotations

import enum
import urllib.parse
from dataclasses import dataclass, field, replace

from monitor.model import Labels, labels_of
from monitor.secrets import Secret

__all__ = [
    "TargetKind",
    "TLSOptions",
    "SentinelSeed",
    "Target",
    "TargetError",
    "parse_target_url",
    "SENTINEL_DEFAULT_PORT",
    "host_port",
]

SENTINEL_DEFAULT_PORT = 26379


class TargetError(ValueError):
    """A target URL or entry that cannot be used; the message names the problem."""


class TargetKind(enum.StrEnum):
    REDIS = "redis"
    MEMCACHED = "memcached"


@dataclass(frozen=True, slots=True)
class TLSOptions:
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    server_name: str | None = None
    insecure_skip_verify: bool = False


@dataclass(frozen=True, slots=True)
class SentinelSeed:
    """What a `redis+sentinel://` URL names: the Sentinels to ask, the masters to follow
    (empty: every master they monitor), and the data nodes' own credentials. The seed
    Target's `username`/`password` are the Sentinels'; the two never mix."""

    addresses: tuple[tuple[str, int], ...]
    masters: tuple[str, ...] = ()
    data_username: str | None = None
    data_password: Secret | None = field(default=None, compare=False)

    @property
    def address_list(self) -> str:
        return ",".join(host_port(host, port) for host, port in self.addresses)


@dataclass(frozen=True, slots=True)
class Target:
    """One server to poll. `instance` is what labels its series (`host:port` or the socket path)."""

    kind: TargetKind
    host: str | None = None
    port: int | None = None
    unix_path: str | None = None
    db: int = 0
    tls: TLSOptions | None = None
    username: str | None = None
    password: Secret | None = field(default=None, compare=False)
    interval_s: float = 10.0
    timeout_s: float = 5.0
    #: free-form user labels (`env`, `service`, ...) plus, for discovered cluster nodes,
    #: `cluster`, `shard` and `role`
    labels: Labels = ()
    #: a Redis seed whose cluster should be discovered (set for every redis URL by default;
    #: a standalone server simply discovers nothing)
    discover: bool = True
    #: config name, shown in UIs; defaults to the instance
    name: str = ""
    #: set on a `redis+sentinel://` seed: the Sentinel set to discover (host/port are its
    #: first Sentinel's)
    sentinel: SentinelSeed | None = None

    @property
    def instance(self) -> str:
        if self.unix_path is not None:
            return self.unix_path
        return host_port(self.host or "", self.port)

    @property
    def key(self) -> str:
        """What tells targets apart: the kind and the address (a redis and a memcached
        server may share a `host:port`, e.g. behind one proxy)."""
        return f"{self.kind.value}://{self.instance}"

    @property
    def store_source(self) -> str:
        """What the store adds to `series_labels()` to tell this target's polls from another
        one's with the same labels: "" for redis (the labels alone, as stores were always
        keyed), the kind otherwise."""
        return "" if self.kind is TargetKind.REDIS else self.kind.value

    @property
    def display_name(self) -> str:
        return self.name or self.instance

    @property
    def url(self) -> str:
        """The target's URL without credentials; safe to show and log."""
        if self.unix_path is not None:
            return f"unix://{self.unix_path}"
        if self.sentinel is not None:
            scheme = "rediss+sentinel" if self.tls is not None else "redis+sentinel"
            return f"{scheme}://{self.sentinel.address_list}/{','.join(self.sentinel.masters)}"
        scheme = self.kind.value
        if self.kind is TargetKind.REDIS and self.tls is not None:
            scheme = "rediss"
        suffix = f"/{self.db}" if self.kind is TargetKind.REDIS and self.db else ""
        return f"{scheme}://{self.instance}{suffix}"

    def series_labels(self) -> Labels:
        """Labels every series of this target carries: `instance` plus the target's labels."""
        merged = dict(self.labels)
        merged["instance"] = self.instance
        return labels_of(merged)

    def with_labels(self, **extra: str) -> Target:
        merged = dict(self.labels)
        merged.update(extra)
        return replace(self, labels=labels_of(merged))


def host_port(host: str, port: int | None) -> str:
    """`host:port`, with an IPv6 literal in brackets."""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{host}:{port}"


_DEFAULT_PORTS = {"redis": 6379, "rediss": 6379, "memcached": 11211}
_SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")


def parse_target_url(url: str, **overrides: object) -> Target:
    """Parse `redis://[user:password@]host:port[/db]`, `rediss://…`, `unix:///path`,
    `memcached://host:port` and `redis+sentinel://[user:password@]host:port[,host:port…]
    [/master[,master…]]` (`rediss+sentinel://` with TLS) into a Target. Keyword overrides
    set other Target fields.

    Errors never echo the password: the message names the URL with credentials removed.
    """
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError as exc:
        raise TargetError(f"target URL {_safe(url)!r}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme != "unix" and "@" in url.partition("://")[2] and "@" not in parts.netloc:
        # A '#', '?' or '/' in a password ends the authority early: the rest of the
        # password would become the port, db or a host label, and show in errors or labels.
        raise TargetError(
            f"target URL {_safe(url)!r}: the part before '@' holds a '#', '?' or '/'; "
            "percent-encode them in a password (%23, %3F, %2F)"
        )
    password = Secret(urllib.parse.unquote(parts.password)) if parts.password else None
    username = urllib.parse.unquote(parts.username) if parts.username else None
    fields: dict[str, object] = {"username": username or None, "password": password}
    if scheme in _SENTINEL_SCHEMES:
        fields.update(_sentinel_fields(parts, url))
        if scheme == "rediss+sentinel":
            fields["tls"] = TLSOptions()
    elif scheme == "unix":
        path = parts.path or parts.netloc
        if not path:
            raise TargetError(f"target URL {_safe(url)!r}: unix:// needs a socket path")
        _check_printable(path, "socket path", url)
        query = urllib.parse.parse_qs(parts.query)
        db = query.get("db", ["0"])[0]
        fields.update(kind=TargetKind.REDIS, unix_path=path, db=_parse_db(db, url))
    elif scheme in _DEFAULT_PORTS:
        host, port = _host_and_port(parts, url, _DEFAULT_PORTS[scheme], "missing host")
        kind = TargetKind.MEMCACHED if scheme == "memcached" else TargetKind.REDIS
        fields.update(kind=kind, host=host, port=port)
        if kind is TargetKind.REDIS:
            path = parts.path.strip("/")
            fields["db"] = _parse_db(path or "0", url)
            if scheme == "rediss":
                fields["tls"] = TLSOptions()
        elif parts.path.strip("/"):
            raise TargetError(f"target URL {_safe(url)!r}: memcached URLs take no path")
    else:
        raise TargetError(
            f"target URL {_safe(url)!r}: unknown scheme {scheme!r} "
            "(expected redis://, rediss://, unix://, memcached:// or redis+sentinel://)"
        )
    fields.update(overrides)
    return Target(**fields)  # type: ignore[arg-type]


def _host_and_port(
    parts: urllib.parse.SplitResult, url: str, default_port: int, no_host: str, where: str = ""
) -> tuple[str, int]:
    try:
        host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise TargetError(f"target URL {_safe(url)!r}: {where}{exc}") from None
    if not host:
        raise TargetError(f"target URL {_safe(url)!r}: {no_host}")
    _check_printable(host, "host", url)
    if port == 0:
        raise TargetError(f"target URL {_safe(url)!r}: port 0 is not a server's port")
    return host, port or default_port


def _sentinel_fields(parts: urllib.parse.SplitResult, url: str) -> dict[str, object]:
    """Host, port and `SentinelSeed` of a `redis+sentinel://` URL. Its authority lists
    several `host[:port]` (the URL parser reads only one), each port defaulting to 26379."""
    hosts = parts.netloc.rpartition("@")[2]
    addresses: list[tuple[str, int]] = []
    for item in hosts.split(","):
        try:
            one = urllib.parse.urlsplit(f"//{item}")
        except ValueError as exc:
            raise TargetError(f"target URL {_safe(url)!r}: Sentinel {item!r}: {exc}") from None
        address = _host_and_port(
            one, url, SENTINEL_DEFAULT_PORT, "a Sentinel address lacks its host", f"{item!r}: "
        )
        if address not in addresses:
            addresses.append(address)
    masters = tuple(
        name for name in (urllib.parse.unquote(m) for m in parts.path.strip("/").split(",")) if name
    )
    for name in masters:
        _check_printable(name, "master name", url)
    if parts.query:
        raise TargetError(
            f"target URL {_safe(url)!r}: redis+sentinel:// takes no query; the data nodes' "
            "credentials go in the config (password_env / password_file)"
        )
    host, port = addresses[0]
    return {
        "kind": TargetKind.REDIS,
        "host": host,
        "port": port,
        "sentinel": SentinelSeed(addresses=tuple(addresses), masters=masters),
    }


def _check_printable(text: str, what: str, url: str) -> None:
    # Control characters would reach connect() (a NUL fails there) and, from `/scrape`,
    # the log lines that name the target, where they could forge lines or escape codes.
    if any(not char.isprintable() or char.isspace() for char in text):
        raise TargetError(f"target URL {_safe(url)!r}: {what} contains control characters")


def _parse_db(text: str, url: str) -> int:
    if not text.isdigit():
        raise TargetError(f"target URL {_safe(url)!r}: database {text!r} is not a number")
    return int(text)


def _safe(url: str) -> str:
    """The URL with everything between `user:` and the last `@` masked, for error messages;
    by the raw text, so a password that the URL parser would misread is masked too."""
    head, sep, rest = url.partition("://")
    userinfo, at, tail = rest.rpartition("@")
    if not sep or not at or ":" not in userinfo:
        return url
    user = userinfo.split(":", 1)[0]
    return f"{head}://{user}:***@{tail}"
