"""Give memory the process freed back to the system.

At a thousand targets the store's head allocates and frees a few hundred megabytes every
block window (each target's open segment grows by doubling, then is encoded and dropped at
the cut; compaction decodes and drops whole blocks). glibc's malloc keeps freed memory for
reuse, and once a large buffer has been freed it raises its own threshold for serving
buffers from separate mappings (up to 32 MiB), so later segment matrices come from the
main heap, whose free holes it does not hand back: RSS kept climbing by block windows
(1.16 GiB at 15 minutes, 1.59 GiB at 25) though the data held had not grown.
`malloc_trim(0)` returns every free page of the heap to the system (glibc 2.8 and later
also release free pages inside the heap, not only at its top). The runtime calls `trim()`
once a minute from a worker thread; elsewhere (musl, macOS) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

__all__ = ["trim", "available"]

log = logging.getLogger(__name__)


def _load() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        libc.malloc_trim.restype = ctypes.c_int
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _load()


def available() -> bool:
    return _LIBC is not None


def trim() -> bool:
    """Return free heap memory to the system; True when some was."""
    if _LIBC is None:
        return False
    return bool(_LIBC.malloc_trim(0))
