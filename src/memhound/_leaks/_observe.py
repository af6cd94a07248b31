"""The measured run: warm-up, then the iterations under the tracer with a checkpoint after each.

Choices, and why:
- Warm-up calls run untraced: first calls fill caches (imports, interned names, memo tables)
  that are not leaks, and tracing them would only cost time.
- A checkpoint is the tracer's sequence number after an iteration; the capture then gives the
  live allocations of every site at every checkpoint (Capture.site_growth).
- When the program runs with the cyclic collector enabled, the checkpoints that the growth rule
  reads (the window, from `clean_from` on) are clean: a full collection runs at each, and
  automatic collections are paused in between. Every iteration's cyclic garbage is then freed
  before its checkpoint (it never looks like growth), and what the collector reclaimed is
  counted per iteration. Before the window the collector runs as the program set it: full
  collections cost time in proportion to the heap, and only the window needs them. One extra
  probe iteration collects with gc.DEBUG_SAVEALL, which hands the garbage over instead of
  freeing it: its types and allocation sites are what the report lists as cyclic garbage.
- The objects that exist before the traced run are frozen (gc.freeze) during it, unless the
  program froze some itself: each full collection then scans only what the iterations made,
  not a test runner's whole heap (a collection of pytest's heap costs ~8 ms, six per check).
  Garbage is made by the iterations, so none is missed.
- When the program disabled the collector, nothing is collected: garbage kept by reference
  cycles then stays and grows like any leak, and the heap snapshot shows it as unreachable.
- At each checkpoint the interpreter's type attribute cache is cleared first, as CPython's own
  refleak hunting does: it holds the names of recent attribute lookups (a name built per call,
  `'repr_' + typename`, stays there) until 4,096 entries have filled, invisible to the heap walk.
- The fd count (one listdir of /proc/self/fd), the bytes malloc has in use (mallinfo2) and the
  RSS (/proc/self/statm) are read at each checkpoint, after the recorder has written out what it
  queued: growth the tracer cannot see (bare descriptors, C-level malloc, memory no hook saw).
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from memhound import _core
from memhound._errors import MemhoundError
from memhound._leaks._probe import malloc_in_use
from memhound._leaks._resources import count_fds
from memhound._runtime._pymalloc import current_rss


@dataclass
class Observation:
    """What the measured run recorded; `garbage` keeps the probe's cyclic garbage alive."""

    gc_enabled: bool
    checkpoints: list[int] = field(default_factory=list)
    fd_counts: list[int] = field(default_factory=list)
    malloc_bytes: list[int] = field(default_factory=list)
    rss_bytes: list[int | None] = field(default_factory=list)
    collected: list[int] = field(default_factory=list)
    garbage: list[object] = field(default_factory=list)

    def release_garbage(self) -> None:
        self.garbage.clear()


def warm_up(unit: Callable[[int], None], warmup: int) -> None:
    for iteration in range(warmup):
        unit(iteration)


def observe(
    unit: Callable[[int], None],
    first: int,
    iterations: int,
    clean_from: int,
    path: str,
    native_frames: bool = False,
) -> Observation:
    """Runs iterations first .. first+iterations-1 traced to `path`, plus the garbage probe;
    the checkpoints after the `clean_from`-th iteration are taken after a full collection.
    `native_frames`: the native allocations' C stacks are recorded too."""
    if _core.is_tracing():
        raise MemhoundError("a leak check cannot run while memhound is already tracing")
    observation = Observation(gc_enabled=gc.isenabled())
    frozen = observation.gc_enabled and gc.get_freeze_count() == 0
    if frozen:
        gc.freeze()  # garbage made before the run is frozen too: it is not the run's growth
    elif observation.gc_enabled:
        gc.collect()
    # native: a C extension's or ctypes' malloc made during the run is a site with its line
    # (memory malloc'd through a function pointer looked up before tracing is still only
    # seen in mallinfo's totals).
    _core.start_tracing(path, native=True, native_frames=native_frames)
    try:
        _checkpoint(observation)
        # The probe is one more pass of the same loop: the same call line, hence the same
        # allocation stacks as the measured iterations.
        probe = 1 if observation.gc_enabled else 0
        for index, iteration in enumerate(range(first, first + iterations + probe), start=1):
            unit(iteration)
            if index > iterations:
                observation.garbage = _collect_saving_garbage()
                break
            if observation.gc_enabled and index >= clean_from:
                observation.collected.append(gc.collect())
                gc.disable()
            _checkpoint(observation)
        _core.flush_tracing()
    finally:
        _core.stop_tracing()
        if frozen:
            gc.unfreeze()
        if observation.gc_enabled:
            gc.enable()
    return observation


def _checkpoint(observation: Observation) -> None:
    _clear_type_cache()
    # The recorder holds every code object it has seen: code compiled anew in each iteration
    # (a doctest's examples, exec) would otherwise grow by that alone.
    _core.release_unused_code()
    # The recorder's queued event buffers are malloc'd: written out first, so that a writer
    # thread falling behind (a loaded machine) never reads as native growth.
    _core.flush_tracing()
    observation.fd_counts.append(count_fds())
    observation.malloc_bytes.append(malloc_in_use())
    observation.rss_bytes.append(current_rss())
    observation.checkpoints.append(_core.current_seq())


# 3.13 names it _clear_internal_caches (and deprecates the old name); 3.11 and 3.12 have only that.
_clear_type_cache = getattr(sys, "_clear_internal_caches", None) or sys._clear_type_cache


def _collect_saving_garbage() -> list[object]:
    """A full collection whose unreachable objects are handed over instead of freed."""
    flags = gc.get_debug()
    already = len(gc.garbage)
    gc.set_debug(flags | gc.DEBUG_SAVEALL)
    try:
        gc.collect()
    finally:
        gc.set_debug(flags)
    saved = gc.garbage[already:]
    del gc.garbage[already:]
    return saved
