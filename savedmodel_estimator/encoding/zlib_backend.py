"""zlib, or ISA-L's zlib-compatible bindings (the `isal` package) when they are installed.

gzip is the largest cost of writing PredictionLogs: Python's zlib (the system's libz) spends
~10 ns per byte at level 1 on this machine kind, ~4-5 µs per 420-byte log. ISA-L's deflate
(`isal.isal_zlib`, SIMD code from Intel's Intelligent Storage Acceleration Library) writes the
same format ~4-5x faster, with a slightly better ratio at level 1, and inflates faster too. It
is pinned in both locks and declared by the `beam` extra; where it is missing (the core
installed alone) zlib does the work. ISA-L deflates at levels 1-3 (its levels; its 0 is not
zlib's "stored"), zlib at the others. Both release the GIL while they work. The records in the
files are the same either way; the compressed bytes differ.
"""

from __future__ import annotations

import zlib
from typing import Any

_isal: Any
try:
    from isal import isal_zlib as _isal
except ImportError:
    _isal = None

NAME = 'isal' if _isal is not None else 'zlib'
ERRORS: tuple[type[Exception], ...] = (zlib.error, *((_isal.error,) if _isal is not None else ()))


def compressobj(level: int, wbits: int) -> Any:
    """A deflate compressor: `.compress(data)`, `.flush(mode)` (modes as `zlib`'s)."""
    if _isal is not None and 1 <= level <= 3:
        return _isal.compressobj(level, _isal.DEFLATED, wbits)
    return zlib.compressobj(level, zlib.DEFLATED, wbits)


def decompressobj(wbits: int) -> Any:
    """A deflate decompressor with `.decompress`, `.eof` and `.unused_data`, as `zlib`'s."""
    return (_isal or zlib).decompressobj(wbits)
