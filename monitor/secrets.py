"""Secrets that never print themselves.

A `Secret` is what config parsing turns a password or token into. Its `repr` and `str`
are masked, so a secret that reaches a log line, an exception message or a UI shows as
`***`; the one way to read it is `reveal()`, called only where the value goes on the wire.
"""

from __future__ import annotations

__all__ = ["Secret", "redact"]


class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)


def redact(text: str, *secrets: Secret | None) -> str:
    """Replace every occurrence of the given secrets' values in `text` with `***`.

    Used on error messages that come back from servers or libraries, which sometimes echo
    what they were sent (a URL with its password, an AUTH argument).
    """
    for secret in secrets:
        if secret is not None and secret.reveal():
            text = text.replace(secret.reveal(), "***")
    return text
