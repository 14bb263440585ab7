"""The config file: TOML, validated into frozen dataclasses with errors that name the key.

`load_config(path)` raises `ConfigError` carrying every problem found (not just the first),
each as `file: key.path: what is wrong`. Secrets are read here from env vars or files and
wrapped in `Secret`; the config never holds a password as plain text.

Sections owned by other parts (`alerts`, `hotkeys`, `doctor`, `web`, `exporter`: see
`monitor/sections.py`) are checked for unknown keys here against what their owners
declare, then handed over as dicts; `cachewatch check` also runs their parsers.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import platformdirs

from monitor.durations import parse_duration
from monitor.model import Labels, labels_of
from monitor.query.limits import QueryLimitsError, parse_query_limits
from monitor.secrets import Secret
from monitor.sections import SECTION_OWNERS, SectionContext, unknown_keys
from monitor.sharding import Shard
from monitor.targets import Target, TargetError, TLSOptions, parse_target_url

__all__ = [
    "Config",
    "ConfigError",
    "GlobalConfig",
    "StoreSettings",
    "load_config",
    "config_from_urls",
    "default_store_path",
    "config_dir",
]

_LABEL_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_RESERVED_LABELS = {
    "instance",
    "job",
    "__name__",
    "role",
    "shard",
    "cluster",
    "sentinel_set",
    "sentinel_master",
}


class ConfigError(ValueError):
    """Every problem found in a config, one per line."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True, slots=True)
class GlobalConfig:
    interval_s: float = 10.0
    timeout_s: float = 5.0
    slow_interval_s: float = 60.0
    discovery_interval_s: float = 30.0
    labels: Labels = ()


@dataclass(frozen=True, slots=True)
class StoreSettings:
    path: Path = field(default_factory=lambda: default_store_path())
    backend: str = "embedded"  # or "prometheus"
    url: str | None = None  # for backend = "prometheus"
    flush_interval_s: float = 1.0
    raw_retention_s: float = 2 * 86400.0
    rollup_10s_retention_s: float = 14 * 86400.0
    rollup_1m_retention_s: float = 90 * 86400.0
    max_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class Config:
    source: str = "<defaults>"
    global_: GlobalConfig = field(default_factory=GlobalConfig)
    store: StoreSettings = field(default_factory=StoreSettings)
    targets: tuple[Target, ...] = ()
    #: `[collectors]`: `disabled = [names]` and per-collector option tables
    collectors: dict[str, Any] = field(default_factory=dict)
    web: dict[str, Any] = field(default_factory=dict)
    exporter: dict[str, Any] = field(default_factory=dict)
    alerts: dict[str, Any] = field(default_factory=dict)
    hotkeys: dict[str, Any] = field(default_factory=dict)
    #: `[query]`: what one query may ask for (`monitor.query.limits.parse_query_limits`)
    query: dict[str, Any] = field(default_factory=dict)
    doctor: dict[str, Any] = field(default_factory=dict)
    shard: Shard | None = None

    @property
    def disabled_collectors(self) -> frozenset[str]:
        return frozenset(self.collectors.get("disabled", ()))


def config_dir(source: str) -> Path:
    """Where a config's relative paths start: its file's directory (the working directory
    for a config built from the command line)."""
    return Path.cwd() if source.startswith("<") else Path(source).resolve().parent


def default_store_path() -> Path:
    return Path(platformdirs.user_data_dir("cachewatch")) / "store"


#: the sections parsed here; the others belong to their owners (monitor/sections.py)
_CORE_SECTIONS = {"global", "store", "targets", "collectors"}
_GLOBAL_KEYS = {"interval", "timeout", "slow_interval", "discovery_interval", "labels"}
_STORE_KEYS = {
    "path",
    "backend",
    "url",
    "flush_interval",
    "retention_raw",
    "retention_10s",
    "retention_1m",
    "max_bytes",
}
_TARGET_KEYS = {
    "url",
    "name",
    "username",
    "password_env",
    "password_file",
    "interval",
    "timeout",
    "labels",
    "discover",
    "tls_ca_file",
    "tls_cert_file",
    "tls_key_file",
    "tls_server_name",
    "tls_insecure_skip_verify",
    # redis+sentinel:// targets only: the Sentinels' credentials (`username`, `password_*`
    # are the data nodes', as for every Redis target)
    "sentinel_username",
    "sentinel_password_env",
    "sentinel_password_file",
}
_SENTINEL_KEYS = ("sentinel_username", "sentinel_password_env", "sentinel_password_file")


class _Checker:
    """Collects problems while reading a parsed TOML document."""

    def __init__(self, source: str):
        self.source = source
        self.problems: list[str] = []

    def error(self, key: str, message: str) -> None:
        self.problems.append(f"{self.source}: {key}: {message}")

    def unknown(self, table: dict[str, Any], allowed: set[str], where: str) -> None:
        for key in table:
            if key not in allowed:
                hint = ", ".join(sorted(allowed))
                self.error(f"{where}{key}" if where else key, f"unknown key (allowed here: {hint})")

    def table(self, doc: dict[str, Any], key: str) -> dict[str, Any]:
        value = doc.get(key, {})
        if not isinstance(value, dict):
            self.error(key, f"must be a table, got {type(value).__name__}")
            return {}
        return value

    def duration(self, table: dict[str, Any], key: str, where: str, default: float) -> float:
        if key not in table:
            return default
        raw = table[key]
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            seconds = float(raw)
        elif isinstance(raw, str):
            try:
                seconds = parse_duration(raw)
            except ValueError as exc:
                self.error(where + key, str(exc))
                return default
        else:
            self.error(where + key, f"must be a duration string like '10s', got {raw!r}")
            return default
        if seconds <= 0:
            self.error(where + key, f"must be positive, got {raw!r}")
            return default
        return seconds

    def labels(self, table: dict[str, Any], where: str) -> Labels:
        raw = table.get("labels", {})
        if not isinstance(raw, dict):
            self.error(where + "labels", 'must be a table of name = "value"')
            return ()
        good: dict[str, str] = {}
        for name, value in raw.items():
            if not name or set(name) - _LABEL_NAME_CHARS or name[0].isdigit():
                self.error(f"{where}labels.{name}", "label names are [a-zA-Z_][a-zA-Z0-9_]*")
            elif name in _RESERVED_LABELS or name.startswith("__"):
                self.error(f"{where}labels.{name}", "reserved label name, set by cachewatch")
            elif not isinstance(value, str):
                self.error(f"{where}labels.{name}", f"must be a string, got {value!r}")
            else:
                good[name] = value
        return labels_of(good)

    def secret(self, table: dict[str, Any], prefix: str, where: str) -> Secret | None:
        env_key, file_key = f"{prefix}_env", f"{prefix}_file"
        if env_key in table and file_key in table:
            self.error(where + env_key, f"set either {env_key} or {file_key}, not both")
            return None
        if env_key in table:
            var = table[env_key]
            if not isinstance(var, str) or var not in os.environ:
                self.error(where + env_key, f"environment variable {var!r} is not set")
                return None
            return Secret(os.environ[var])
        if file_key in table:
            path = Path(str(table[file_key])).expanduser()
            try:
                return Secret(path.read_text().strip())
            except OSError as exc:
                self.error(where + file_key, f"cannot read {path}: {exc.strerror}")
        return None


def load_config(path: str | os.PathLike[str]) -> Config:
    source = str(path)
    try:
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError([f"{source}: cannot read: {exc.strerror}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{source}: not valid TOML: {exc}"]) from None
    return parse_config(doc, source)


def parse_config(doc: dict[str, Any], source: str = "<config>") -> Config:
    check = _Checker(source)
    check.unknown(doc, _CORE_SECTIONS | SECTION_OWNERS.keys(), "")

    glob_table = check.table(doc, "global")
    check.unknown(glob_table, _GLOBAL_KEYS, "global.")
    defaults = GlobalConfig()
    global_ = GlobalConfig(
        interval_s=check.duration(glob_table, "interval", "global.", defaults.interval_s),
        timeout_s=check.duration(glob_table, "timeout", "global.", defaults.timeout_s),
        slow_interval_s=check.duration(
            glob_table, "slow_interval", "global.", defaults.slow_interval_s
        ),
        discovery_interval_s=check.duration(
            glob_table, "discovery_interval", "global.", defaults.discovery_interval_s
        ),
        labels=check.labels(glob_table, "global."),
    )
    if global_.timeout_s >= global_.interval_s:
        check.error("global.timeout", "must be shorter than global.interval so polls never overlap")

    store = _parse_store(check, check.table(doc, "store"))

    targets: list[Target] = []
    raw_targets = doc.get("targets", [])
    if not isinstance(raw_targets, list):
        check.error("targets", "must be an array of tables: [[targets]]")
        raw_targets = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(raw_targets):
        target = _parse_target(check, entry, f"targets[{index}].", global_)
        if target is None:
            continue
        targets.append(target)
        # indexes as written in the file, so a duplicate after a bad entry is named right;
        # by kind and address: a redis and a memcached server may share an address
        if target.key in seen:
            check.error(
                f"targets[{index}].url",
                f"duplicate target {target.url} (also targets[{seen[target.key]}])",
            )
        seen.setdefault(target.key, index)

    sections: dict[str, dict[str, Any]] = {}
    context = SectionContext(config_dir(source), source)
    for name in SECTION_OWNERS:
        table = check.table(doc, name)
        check.problems += [f"{source}: {p}" for p in unknown_keys(name, table, context)]
        sections[name] = table
    try:  # the engine itself bounds queries: a bad limit must fail every command at once
        parse_query_limits(sections["query"])
    except QueryLimitsError as exc:
        for problem in exc.problems:
            key, _, message = problem.partition(": ")
            check.error(key, message)
    collectors = _parse_collectors(check, check.table(doc, "collectors"))

    if check.problems:
        raise ConfigError(check.problems)
    return Config(
        source=source,
        global_=global_,
        store=store,
        targets=tuple(targets),
        collectors=collectors,
        web=sections["web"],
        exporter=sections["exporter"],
        alerts=sections["alerts"],
        hotkeys=sections["hotkeys"],
        query=sections["query"],
        doctor=sections["doctor"],
    )


def _parse_collectors(check: _Checker, table: dict[str, Any]) -> dict[str, Any]:
    """`disabled` names known collectors; every other key is an option some collector
    declares it reads (see `collectors.registry.collector_options`)."""
    from collectors.registry import collector_options, load_collector_classes

    classes = load_collector_classes()
    check.unknown(table, {"disabled", *collector_options(classes)}, "collectors.")
    disabled = table.get("disabled", [])
    if not isinstance(disabled, list) or not all(isinstance(d, str) for d in disabled):
        check.error("collectors.disabled", "must be a list of collector names")
    else:
        known = {cls.name for cls in classes}
        for name in disabled:
            if name not in known:
                check.error(
                    "collectors.disabled",
                    f"no collector named {name!r} (known: {', '.join(sorted(known))})",
                )
    return table


def _parse_store(check: _Checker, table: dict[str, Any]) -> StoreSettings:
    check.unknown(table, _STORE_KEYS, "store.")
    defaults = StoreSettings()
    backend = table.get("backend", "embedded")
    if backend not in ("embedded", "prometheus"):
        check.error("store.backend", f"must be 'embedded' or 'prometheus', got {backend!r}")
    url = table.get("url")
    if backend == "prometheus" and not isinstance(url, str):
        check.error("store.url", "backend = 'prometheus' needs url = 'http://prometheus:9090'")
    max_bytes = table.get("max_bytes")
    if max_bytes is not None and (not isinstance(max_bytes, int) or max_bytes <= 0):
        check.error("store.max_bytes", f"must be a positive integer, got {max_bytes!r}")
        max_bytes = None
    path = Path(str(table["path"])).expanduser() if "path" in table else defaults.path
    return StoreSettings(
        path=path,
        backend=str(backend),
        url=url if isinstance(url, str) else None,
        flush_interval_s=check.duration(
            table, "flush_interval", "store.", defaults.flush_interval_s
        ),
        raw_retention_s=check.duration(table, "retention_raw", "store.", defaults.raw_retention_s),
        rollup_10s_retention_s=check.duration(
            table, "retention_10s", "store.", defaults.rollup_10s_retention_s
        ),
        rollup_1m_retention_s=check.duration(
            table, "retention_1m", "store.", defaults.rollup_1m_retention_s
        ),
        max_bytes=max_bytes,
    )


def _parse_target(check: _Checker, entry: Any, where: str, global_: GlobalConfig) -> Target | None:
    if not isinstance(entry, dict):
        check.error(where.rstrip("."), "must be a table with at least url = '...'")
        return None
    check.unknown(entry, _TARGET_KEYS, where)
    url = entry.get("url")
    if not isinstance(url, str):
        check.error(where + "url", "missing (e.g. url = 'redis://10.0.0.5:6379')")
        return None
    interval = check.duration(entry, "interval", where, global_.interval_s)
    timeout = check.duration(entry, "timeout", where, min(global_.timeout_s, interval * 0.8))
    if timeout >= interval:
        check.error(
            where + "timeout",
            f"({timeout:g}s) must be shorter than the interval "
            f"({interval:g}s) so polls never overlap",
        )
    labels = dict(global_.labels)
    labels.update(check.labels(entry, where))
    tls_keys = [k for k in entry if k.startswith("tls_")]
    tls = None
    if tls_keys or url.startswith("rediss://"):
        tls = TLSOptions(
            ca_file=entry.get("tls_ca_file"),
            cert_file=entry.get("tls_cert_file"),
            key_file=entry.get("tls_key_file"),
            server_name=entry.get("tls_server_name"),
            insecure_skip_verify=bool(entry.get("tls_insecure_skip_verify", False)),
        )
        for key in ("tls_ca_file", "tls_cert_file", "tls_key_file"):
            if key in entry and not Path(str(entry[key])).expanduser().is_file():
                check.error(where + key, f"file not found: {entry[key]}")
    overrides: dict[str, object] = {
        "interval_s": interval,
        "timeout_s": timeout,
        "labels": labels_of(labels),
        "name": str(entry.get("name", "")),
        "discover": bool(entry.get("discover", True)),
    }
    password = check.secret(entry, "password", where)
    username = str(entry["username"]) if "username" in entry else None
    sentinel_set = url.lower().startswith(("redis+sentinel://", "rediss+sentinel://"))
    # A Sentinel seed's own credentials are the Sentinels'; `username`/`password_*` go to
    # the data nodes it discovers. Each side logs in with its own credentials only.
    if sentinel_set:
        login = check.secret(entry, "sentinel_password", where)
        login_user = entry.get("sentinel_username")
        password_keys = "sentinel_password_env or sentinel_password_file"
    else:
        login, login_user, password_keys = password, username, "password_env or password_file"
        for key in _SENTINEL_KEYS:
            if key in entry:
                check.error(where + key, "only redis+sentinel:// targets take Sentinel credentials")
    if login is not None:
        overrides["password"] = login
    if login_user is not None:
        overrides["username"] = str(login_user)
    try:
        target = parse_target_url(url, **overrides)
    except TargetError as exc:
        check.error(where + "url", str(exc))
        return None
    if target.password is not None and login is None:
        check.error(where + "url", f"put passwords in {password_keys}, not the URL")
    if tls is not None:
        target = replace(target, tls=tls)
    if target.sentinel is not None:
        seed = replace(target.sentinel, data_username=username, data_password=password)
        target = replace(target, sentinel=seed)
    return target


def config_from_urls(
    urls: list[str],
    base: Config | None = None,
    interval_s: float | None = None,
    store_path: str | None = None,
) -> Config:
    """A config for ad-hoc use (`cachewatch poll URL…`): URLs become targets; a URL's password
    is allowed here (it came from the command line) but is still kept only as a Secret."""
    base = base or Config()
    targets = list(base.targets)
    global_ = base.global_
    if interval_s is not None:
        global_ = replace(
            global_, interval_s=interval_s, timeout_s=min(global_.timeout_s, interval_s * 0.8)
        )
        targets = [
            replace(t, interval_s=interval_s, timeout_s=min(t.timeout_s, interval_s * 0.8))
            for t in targets
        ]
    for url in urls:
        targets.append(
            parse_target_url(
                url,
                interval_s=global_.interval_s,
                timeout_s=global_.timeout_s,
                labels=global_.labels,
            )
        )
    store = base.store
    if store_path is not None:
        store = replace(store, path=Path(store_path).expanduser())
    return replace(base, global_=global_, targets=tuple(targets), store=store)
