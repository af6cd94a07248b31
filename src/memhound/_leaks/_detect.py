"""check_leaks: repeat a unit of work and report what grows, where it was allocated, what holds
it and what kind of leak it is. The steps live in their own modules:

    _observe   warm-up, traced iterations with checkpoints, collector accounting
    _growth    which allocation sites grow at every checkpoint of the window
    _analyze   representative objects, retention paths, resources -> grouped Leaks
    _probe     where untraced growth came from: bare file descriptors, malloc'd native memory
    _extend    when the evidence is ambiguous: more rounds within the time budget

Cost: the iterations run traced, with a collection at each checkpoint of the window when the
collector is on; then one read of the capture, two resource censuses, and a heap snapshot when
some site grows.
Per iteration only the fd count and malloc's bytes in use are read. The probe runs (two more
calls, line-traced) happen only when fds or native memory grow with nothing traced to show.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from memhound._capture import read_capture
from memhound._errors import MemhoundError, UsageError
from memhound._leaks._analyze import Analysis, cyclic_garbage, leaks_from, trim_frames
from memhound._leaks._defaults import (
    DEFAULT_BUDGET_S,
    DEFAULT_ITERATIONS,
    DEFAULT_MIN_BYTES,
    DEFAULT_WARMUP,
)
from memhound._leaks._extend import Extension, ambiguity, next_round
from memhound._leaks._growth import (
    by_stack,
    growing_sites,
    grows_every_time,
    per_iteration,
    window_for,
)
from memhound._leaks._model import Frame, Leak, LeakReport, ResourceCounts, RssGrowth
from memhound._leaks._observe import Observation, observe, warm_up
from memhound._leaks._origin import holder_of_frames
from memhound._leaks._probe import locate_growth, malloc_in_use
from memhound._leaks._resources import Census, count_fds, take_census
from memhound._leaks._target import UnitOfWork, unit_from_callable
from memhound._snapshot import own_code, snapshot

MIN_ITERATIONS = 4
PROBE_RUNS = 2
# Native (malloc) growth per iteration beyond what the traced leaks explain, below which it is
# allocator noise.
NATIVE_MIN_BYTES = 512
# A bigger capture is not read: reading it (streamed, at 20-40M events/s, 1-2 bytes each on
# disk) would make one check take more than a few seconds.
MAX_CAPTURE_BYTES = 48 * 2**20


def check_leaks(
    fn: Callable[..., Any],
    iterations: int = DEFAULT_ITERATIONS,
    warmup: int = DEFAULT_WARMUP,
    min_bytes: float = DEFAULT_MIN_BYTES,
    name: str | None = None,
    budget: float = DEFAULT_BUDGET_S,
    *,
    residue: Callable[[Sequence[Frame]], bool] | None = None,
    native_frames: bool = False,
) -> LeakReport:
    """Calls `fn` `warmup` times, then `iterations` times under the tracer, and reports leaks.
    When the evidence is ambiguous (growth into a cache that may stop at a limit of its own),
    more rounds run while they fit in `budget` seconds (see _extend).

    `fn` gets the iteration number if it requires one positional parameter, nothing otherwise.
    `residue` (the test plugins' rule) tells an allocation stack that is the repeating
    framework's own growth: when only such sites grow, the heap snapshot is skipped and no
    traced leak is reported. `native_frames` records the C stack of native allocations, which
    native leaks then show (Leak.native_frames).
    """
    unit = fn if isinstance(fn, UnitOfWork) else unit_from_callable(fn, name)
    _check_counts(iterations, warmup, budget)
    started = time.perf_counter()
    warm_up(unit, warmup)
    rounds = [iterations]
    first = warmup
    rule = residue or _nothing_is_residue
    report, first = _round(
        unit, first, iterations, window_for(iterations), min_bytes, rule, native_frames
    )
    reason = ambiguity(report.leaks)
    why = reason
    while reason is not None:
        elapsed = time.perf_counter() - started
        size = next_round(iterations, rounds, elapsed, report.duration_s, budget)
        if size is None:
            break
        rounds.append(size)
        # Past the warm-up, a whole round must grow: a cache pruned in batches (every 200
        # entries, say) shrinks somewhere in it, wherever the window would have fallen.
        report, first = _round(unit, first, size, size, min_bytes, rule, native_frames)
        reason = ambiguity(report.leaks)
    extension = None
    if why is not None and len(rounds) > 1:
        extension = Extension(iterations, tuple(rounds), why, settled=reason is None)
    return replace(
        report,
        target=unit.name,
        warmup=warmup + sum(rounds[:-1]),
        duration_s=time.perf_counter() - started,
        extension=extension,
    )


def _nothing_is_residue(frames: Sequence[Frame]) -> bool:
    return False


def _round(
    unit: UnitOfWork,
    first: int,
    iterations: int,
    window: int,
    min_bytes: float,
    residue: Callable[[Sequence[Frame]], bool],
    native_frames: bool = False,
) -> tuple[LeakReport, int]:
    """One traced run of `iterations` calls numbered from `first`, analysed (what grew at each
    of the last `window` checkpoints); and the number of the next call (after the probe calls
    this round may have made)."""
    started = time.perf_counter()
    before = take_census()
    with tempfile.TemporaryDirectory(prefix="memhound-leaks-") as folder:
        path = os.path.join(folder, "leaks.bin")
        observation = observe(unit, first, iterations, iterations - window, path, native_frames)
        try:
            leaks, garbage, after, residue_bytes = _analyze(
                observation, iterations, window, folder, min_bytes, residue
            )
        finally:
            observation.release_garbage()
    probe_from = first + iterations + 1
    bounded = [leak for leak in leaks if leak.bound is not None]
    leaks = [leak for leak in leaks if leak.bound is None]
    leaks += _fd_leaks(unit, observation, probe_from, leaks, (before, after))
    leaks += _native_leaks(unit, observation, probe_from, [*leaks, *bounded], residue_bytes)
    report = LeakReport(
        target=unit.name,
        iterations=iterations,
        warmup=first,
        duration_s=time.perf_counter() - started,
        leaks=program_first(leaks),
        cyclic_garbage=garbage,
        resources=ResourceCounts(before.counts(), after.counts()),
        collected_per_iteration=_collected_per_iteration(observation),
        bounded=bounded,
        memory=_rss_growth(observation, [*leaks, *bounded], residue_bytes),
    )
    return report, probe_from + PROBE_RUNS


def program_first(leaks: list[Leak]) -> list[Leak]:
    """Leaks held through the program's own code first, then those only libraries hold; the
    order within each side stays (biggest growth first)."""
    return sorted(leaks, key=lambda leak: not leak.held_by_program)


def _collected_per_iteration(observation: Observation) -> float | None:
    # The first collection of the window also reclaims what piled up before it; each later one
    # follows exactly one iteration (the collector is disabled in between).
    per_iteration = observation.collected[1:]
    if not observation.gc_enabled or not per_iteration:
        return None
    return sum(per_iteration) / len(per_iteration)


def _check_counts(iterations: int, warmup: int, budget: float) -> None:
    if iterations < MIN_ITERATIONS:
        raise UsageError(f"--iterations must be at least {MIN_ITERATIONS} (got {iterations})")
    if warmup < 0:
        raise UsageError(f"--warmup must not be negative (got {warmup})")
    if budget < 0:
        raise UsageError(f"--budget must not be negative (got {budget})")


def _analyze(
    observation: Observation,
    iterations: int,
    window: int,
    folder: str,
    min_bytes: float,
    residue: Callable[[Sequence[Frame]], bool],
) -> tuple[list[Leak], list[Any], Census, float]:
    """The traced leaks, the cyclic garbage, the census after the run, and the traced growth
    per iteration left unanalysed as residue."""
    after = take_census()
    capture = read_capture(_bounded(os.path.join(folder, "leaks.bin")))
    rows = by_stack(capture.site_growth(observation.checkpoints))
    growth = growing_sites(rows, iterations, window)
    garbage = cyclic_garbage(capture, observation.garbage)
    if all(residue(trim_frames(capture.stack_frames(item.stack))) for item in growth):
        # nothing of the unit's own grows: no heap snapshot needed
        return [], garbage, after, sum(item.bytes_per_iteration for item in growth)
    analysis = Analysis(capture, snapshot(), after, observation.checkpoints)
    leaks = leaks_from(analysis, growth, iterations, window)
    kept = [leak for leak in leaks if leak.bytes_per_iteration >= min_bytes or leak.resource]
    return kept, garbage, after, 0.0


def _bounded(capture_path: str) -> str:
    """The capture, unless reading it would take longer than a leak check should."""
    size = os.path.getsize(capture_path)
    if size > MAX_CAPTURE_BYTES:
        raise MemhoundError(
            f"the unit of work allocates too much to analyse ({size / 2**20:.0f} MiB of capture "
            f"over the iterations, the limit is {MAX_CAPTURE_BYTES / 2**20:.0f} MiB): run fewer "
            "iterations, or a smaller unit of work"
        )
    return capture_path


def _fd_leaks(
    unit: UnitOfWork,
    observation: Observation,
    first_free_iteration: int,
    leaks: list[Leak],
    censuses: tuple[Census, Census],
) -> list[Leak]:
    """A leak of bare descriptors: the fd count grows and no leaked object owns the new fds."""
    window = window_for(len(observation.fd_counts) - 1)
    if not grows_every_time(observation.fd_counts, window):
        return []
    if any(leak.resource and "resource" in leak.kinds for leak in leaks):
        return []
    before, after = censuses
    owned = {fd for resource in after.by_object.values() for fd in resource.fds}
    loose = sorted(fd for fd in after.fds if fd not in owned and fd not in before.fds)
    newest = f"fd {loose[-1]} -> {after.fds[loose[-1]]} (open)" if loose else None
    opened_at = locate_growth(unit, first_free_iteration, PROBE_RUNS, count_fds)
    return [
        Leak(
            kinds=["resource"],
            type="fd",
            count_per_iteration=per_iteration(observation.fd_counts, window),
            bytes_per_iteration=0.0,
            allocated_at=opened_at,
            retained_by=None,
            resource=newest,
            held_by=holder_of_frames(opened_at),
        )
    ]


def _native_leaks(
    unit: UnitOfWork,
    observation: Observation,
    first_free_iteration: int,
    leaks: list[Leak],
    residue_bytes: float,
) -> list[Leak]:
    """Memory that malloc hands out every iteration beyond what the traced leaks (and the
    traced residue) explain:
    native allocations (a C extension, ctypes) the PyMem hooks do not see. Skipped when a
    leaked resource or native allocation already accounts for native memory."""
    series = observation.malloc_bytes
    window = window_for(len(series) - 1)
    if min(series, default=-1) < 0 or not grows_every_time(series, window):
        return []
    if any({"resource", "native"} & set(leak.kinds) for leak in leaks):
        return []
    traced = residue_bytes + sum(leak.bytes_per_iteration for leak in leaks)
    untraced = per_iteration(series, window) - traced
    if untraced < NATIVE_MIN_BYTES:
        return []
    allocated_at = locate_growth(unit, first_free_iteration, PROBE_RUNS, malloc_in_use)
    return [
        Leak(
            kinds=["native"],
            type="native memory",
            count_per_iteration=0.0,
            bytes_per_iteration=untraced,
            allocated_at=allocated_at,
            held_by=holder_of_frames(allocated_at),
        )
    ]


def _rss_growth(
    observation: Observation, findings: list[Leak], residue_bytes: float
) -> RssGrowth | None:
    """The RSS's growth per iteration over the window against what the findings (and the
    traced residue) explain; None where the RSS could not be read at every checkpoint."""
    series = observation.rss_bytes
    if not series or any(rss is None for rss in series):
        return None
    window = window_for(len(series) - 1)
    explained = residue_bytes + sum(leak.bytes_per_iteration for leak in findings)
    rss = per_iteration([int(rss or 0) for rss in series], window)
    return RssGrowth(rss, explained, window)


# The detector's own frames hold the run's bookkeeping (the probe's garbage, the census): they
# are no roots of the program's heap.
own_code(check_leaks, _round, _analyze)
