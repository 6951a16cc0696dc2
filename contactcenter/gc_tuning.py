"""The garbage collector set for a long-lived server process, once its application loaded.

Python's defaults suit short scripts. In an app process holding hundreds of websockets,
a full collection walked every object the process had (~250,000 at 500 desktops: Django,
the templates, the URL conf, each socket's protocol objects) and stopped all of its work
for 120-170 ms, every 5 to 20 s under a push load: the push tail (p99 134-268 ms at 50
callbacks/s against a p50 of ~16 ms) was those pauses (bench/NOTES.md, 2026-12-06). Two
changes, both from the standard library:

- `gc.freeze()` once the application is loaded: what exists then (modules, settings,
  templates, the URL conf) lives as long as the process and is never garbage; frozen, no
  collection walks it again.
- a first-generation threshold of 50,000 allocations instead of 700: collections run
  far less often, so fewer short-lived objects (a request's, a push's) outlive one and
  are promoted to where only a full collection frees them. Garbage in reference cycles
  lives a little longer: a few MB per process at most.
"""

from __future__ import annotations

import gc

FIRST_GENERATION_THRESHOLD = 50_000


def tune_for_serving() -> None:
    """Call once, at the end of the server's startup (the ASGI module), not per request."""
    gc.collect()  # what startup left as garbage is freed, not frozen
    gc.freeze()
    _, second, third = gc.get_threshold()
    gc.set_threshold(FIRST_GENERATION_THRESHOLD, second, third)
