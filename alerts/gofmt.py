"""Number formatting that matches Go's, so annotations read the same as in Prometheus.

Prometheus renders `{{ $value }}` with Go's `%v` (shortest `g`: an exponent from 1e6 up and
below 1e-4) and its humanize functions with `%.4g`; Python's spellings differ in the details
(`1e+06` vs `1000000.0`, `NaN` vs `nan`), and alert text that changes between the two
tools confuses people comparing them.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

__all__ = [
    "go_float",
    "go_g4",
    "humanize",
    "humanize1024",
    "humanize_percentage",
    "humanize_duration",
    "go_sprintf",
]


def _special(value: float) -> str | None:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return None


def go_float(value: float) -> str:
    """Go's `strconv.FormatFloat(v, 'g', -1, 64)`, which `%v` uses for a float64."""
    special = _special(value)
    if special is not None:
        return special
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    sign, digits, exponent = Decimal(repr(value)).as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits)).rstrip("0") or "0"
    decimal_point = len(digits) + exponent
    exp = decimal_point - 1
    prefix = "-" if sign else ""
    if exp < -4 or exp >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if decimal_point <= 0:
        return f"{prefix}0.{'0' * -decimal_point}{text}"
    if decimal_point >= len(text):
        return f"{prefix}{text}{'0' * (decimal_point - len(text))}"
    return f"{prefix}{text[:decimal_point]}.{text[decimal_point:]}"


def go_g4(value: float) -> str:
    """Go's `%.4g` (Python's agrees except for NaN and infinities)."""
    return _special(value) or f"{value:.4g}"


def humanize(value: float) -> str:
    if value == 0 or not math.isfinite(value):
        return go_g4(value)
    prefix = ""
    if abs(value) >= 1:
        for unit in ("k", "M", "G", "T", "P", "E", "Z", "Y"):
            if abs(value) < 1000:
                break
            prefix, value = unit, value / 1000
        return go_g4(value) + prefix
    for unit in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(value) >= 1:
            break
        prefix, value = unit, value * 1000
    return go_g4(value) + prefix


def humanize1024(value: float) -> str:
    if abs(value) <= 1 or not math.isfinite(value):
        return go_g4(value)
    prefix = ""
    for unit in ("Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"):
        if abs(value) < 1024:
            break
        prefix, value = unit, value / 1024
    return go_g4(value) + prefix


def humanize_percentage(value: float) -> str:
    return go_g4(value * 100) + "%"


def humanize_duration(value: float) -> str:
    if not math.isfinite(value):
        return go_g4(value)
    if value == 0:
        return "0s"
    if abs(value) >= 1:
        sign = "-" if value < 0 else ""
        whole = int(abs(value))
        days, rest = divmod(whole, 86400)
        hours, rest = divmod(rest, 3600)
        minutes, seconds = divmod(rest, 60)
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{go_g4(abs(value))}s"
    prefix = ""
    for unit in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(value) >= 1:
            break
        prefix, value = unit, value * 1000
    return f"{go_g4(value)}{prefix}s"


_VERB = re.compile(r"%([-+# 0]*)(\d+|\*)?(?:\.(\d+))?([a-zA-Z%])")


def go_sprintf(fmt: str, args: list[object]) -> str:
    """Go's `fmt.Sprintf` for the verbs alert templates use (%s %v %d %f %e %g %x %q %%).

    A verb that does not fit its argument renders as Go renders it (`%!d(float64=1.5)`)
    rather than raising, so one odd annotation never costs the whole alert.
    """
    out: list[str] = []
    pos = 0
    arg_index = 0
    for match in _VERB.finditer(fmt):
        out.append(fmt[pos : match.start()])
        pos = match.end()
        flags, width, precision, verb = match.groups()
        if verb == "%":
            out.append("%")
            continue
        if arg_index >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        arg = args[arg_index]
        arg_index += 1
        out.append(_format_one(arg, flags or "", width, precision, verb))
    out.append(fmt[pos:])
    if arg_index < len(args):
        extra = ", ".join(f"{_go_type(a)}={_plain(a)}" for a in args[arg_index:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


def _go_type(arg: object) -> str:
    if isinstance(arg, bool):
        return "bool"
    if isinstance(arg, int):
        return "int"
    if isinstance(arg, float):
        return "float64"
    if isinstance(arg, dict):
        return "map[string]string"
    return "string"


def _plain(arg: object) -> str:
    if isinstance(arg, bool):
        return "true" if arg else "false"
    if isinstance(arg, float):
        return go_float(arg)
    if isinstance(arg, dict):
        return "map[" + " ".join(f"{k}:{v}" for k, v in sorted(arg.items())) + "]"
    return str(arg)


def _format_one(
    arg: object, flags: str, width: str | None, precision: str | None, verb: str
) -> str:
    width_part = width if width and width != "*" else ""
    spec_flags = flags.replace("#", "")
    if verb in "sv":
        text = _plain(arg)
        if precision is not None and verb == "s":
            text = text[: int(precision)]
        return f"{text:{'<' if '-' in flags else '>'}{width_part}}"
    if verb == "q":
        return '"' + _plain(arg).replace("\\", "\\\\").replace('"', '\\"') + '"'
    number = arg if isinstance(arg, int | float) and not isinstance(arg, bool) else None
    if number is None:
        return f"%!{verb}({_go_type(arg)}={_plain(arg)})"
    if verb in "dxXob":
        if not isinstance(number, int):
            return f"%!{verb}(float64={go_float(number)})"
        return f"{number:{spec_flags}{width_part}{verb}}"
    if verb in "feEgG":
        value = float(number)
        special = _special(value)
        if special is not None:
            return special
        prec = f".{precision}" if precision is not None else (".6" if verb in "feE" else "")
        if verb in "gG" and precision is None:
            return go_float(value)
        return f"{value:{spec_flags}{width_part}{prec}{verb}}"
    return f"%!{verb}({_go_type(arg)}={_plain(arg)})"
