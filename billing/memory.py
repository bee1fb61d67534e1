"""Pausing Python's cyclic garbage collector around work that allocates in bulk.

Reading a sheet of 10,000 rows allocates hundreds of thousands of lists, dicts and small
objects, almost none of which form reference cycles, and reference counting frees them.
Each time allocations pass the collector's threshold it walks the young objects, and every
tenth time the older ones too, so on the 10,000-row benchmark sheet the collector took 30 to
45 % of the check's CPU time (bench/bench_sheets.py). Pausing it for the duration of one
sheet removes those walks; the next automatic collection after the pause runs once.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0  # paused_collection blocks open in this process, across threads
_was_enabled = False  # whether automatic collection was on when the first block opened


@contextmanager
def paused_collection() -> Iterator[None]:
    """Switch automatic cyclic collection off inside the block, and back on after the last.

    Blocks may nest and overlap across threads: collection resumes when every block has
    ended, and only if it was on when the first one began.
    """
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
