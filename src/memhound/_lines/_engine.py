"""Line-by-line attribution: turns line events and the line meter's byte counters into per-line
figures.

The allocator hooks keep cumulative counters (allocated, freed, and the highest level reached since
the last read), per thread and for the whole process (memhound._core.meter_*). An activation (one
call of a profiled function, or one generator or coroutine frame) is *running* between its start or
resume and its return, yield or exception exit; while it runs, the current line owns whatever the
counters gain. At each event the counters are read once, the running line is closed (its
differences added to the line's figures) and the next one opened. A suspended coroutine owns
nothing, so other tasks' allocations meanwhile are not counted against it. Callees run inside the
calling line, so they count toward it; an activation nested in another (recursion) counts toward
its own lines and toward the calling line of the outer one.
"""

from __future__ import annotations

import threading

from memhound import _core

OWN_THREAD = "own"
ALL_THREADS = "all"


class LineFigures:
    """What one line of a function owned, summed over every time it ran."""

    __slots__ = ("allocated", "freed", "occurrences", "peak")

    def __init__(self) -> None:
        self.allocated = 0
        self.freed = 0
        self.peak: int | None = None  # the activation's highest net level while on this line
        self.occurrences = 0

    @property
    def net(self) -> int:
        return self.allocated - self.freed


class FunctionStats:
    """The per-line figures of one profiled function (over all its calls)."""

    def __init__(self, name: str, filename: str, first_line: int, threads: str) -> None:
        self.name = name
        self.filename = filename
        self.first_line = first_line
        self.threads = threads
        self.calls = 0
        self.lines: dict[int, LineFigures] = {}

    def line(self, number: int) -> LineFigures:
        figures = self.lines.get(number)
        if figures is None:
            figures = self.lines[number] = LineFigures()
        return figures


class _Domain:
    """Whose counters an activation reads: one thread's, or the process's (threads="all").

    `running` lists its running activations. Reading resets the counters' high, so every read
    first raises the line maximum of each running activation: each keeps the highest level seen
    since its line opened, whoever read the counters meanwhile.
    """

    __slots__ = ("running",)

    def __init__(self) -> None:
        self.running: list[_Activation] = []


class _Activation:
    __slots__ = ("allocated0", "base", "domain", "freed0", "line", "line_max", "net", "stats")

    def __init__(self, stats: FunctionStats, domain: _Domain, line: int) -> None:
        self.stats = stats
        self.domain = domain
        self.line = line
        self.net = 0  # what it has kept so far, over its running stretches
        self.allocated0 = self.freed0 = self.line_max = self.base = 0


class Engine:
    """Every profiled function's figures, fed by an event source (memhound._lines._trace).

    The source calls each handler with the counters it read first thing, which paused the
    thread's counting (`read_counters`), and resumes counting when the handler returns: the
    engine's own allocations are not counted.
    """

    def __init__(self) -> None:
        self.functions: dict[object, FunctionStats] = {}  # code object -> its figures
        self._activations: dict[object, _Activation] = {}  # frame -> its activation
        self._threads: dict[int, _Domain] = {}
        self._process = _Domain()
        self._lock = threading.Lock()  # frames of one function may run in several threads

    def profile(self, code: object, threads: str) -> FunctionStats:
        stats = self.functions.get(code)
        if stats is None:
            name = getattr(code, "co_qualname", getattr(code, "co_name", "?"))
            stats = FunctionStats(name, code.co_filename, code.co_firstlineno, threads)  # type: ignore[attr-defined]
            self.functions[code] = stats
        return stats

    # --- events (thread's counting paused) ---

    def start(self, frame: object, stats: FunctionStats, counters: Counters) -> None:
        with self._lock:
            now = self._fold(counters)
            stats.calls += 1
            domain = self._domain_for(stats)
            activation = _Activation(stats, domain, frame.f_lineno)  # type: ignore[attr-defined]
            self._activations[frame] = activation
            self._open(activation, now, domain)

    def resume(self, frame: object, counters: Counters) -> bool:
        """A suspended activation runs again; False when the frame is not one of ours."""
        with self._lock:
            activation = self._activations.get(frame)
            if activation is None:
                return False
            now = self._fold(counters)
            domain = self._domain_for(activation.stats)
            activation.domain = domain
            self._open(activation, now, domain)
            return True

    def line(self, frame: object, number: int, counters: Counters) -> None:
        with self._lock:
            activation = self._activations.get(frame)
            if activation is None or activation not in activation.domain.running:
                return
            self._fold(counters)
            # the running line closes and the next opens at the same counters (the hot path)
            at = 3 if activation.domain is self._process else 0
            allocated, freed = counters[at], counters[at + 1]
            figures = activation.stats.line(activation.line)
            gained = allocated - activation.allocated0
            lost = freed - activation.freed0
            figures.allocated += gained
            figures.freed += lost
            activation.net += gained - lost
            peak = activation.line_max - activation.base
            if figures.peak is None or peak > figures.peak:
                figures.peak = peak
            activation.line = number
            activation.stats.line(number).occurrences += 1
            activation.allocated0, activation.freed0 = allocated, freed
            activation.line_max = allocated - freed
            activation.base = allocated - freed - activation.net

    def pause(self, frame: object, finished: bool, counters: Counters) -> None:
        """The activation returned, yielded or raised; `finished`: it will not run again."""
        with self._lock:
            activation = self._activations.get(frame)
            if activation is None:
                return
            if activation in activation.domain.running:
                self._close(activation, self._fold(counters))
                activation.domain.running.remove(activation)
            if finished:
                del self._activations[frame]

    def finish(self, frame: object, counters: Counters) -> None:
        """A generator or coroutine ended (its wrapper says so): its activation is dropped."""
        with self._lock:
            activation = self._activations.pop(frame, None)
            if activation is not None and activation in activation.domain.running:
                self._close(activation, self._fold(counters))
                activation.domain.running.remove(activation)

    # --- bookkeeping ---

    def _domain_for(self, stats: FunctionStats) -> _Domain:
        if stats.threads == ALL_THREADS:
            return self._process
        ident = threading.get_ident()
        domain = self._threads.get(ident)
        if domain is None:
            domain = self._threads[ident] = _Domain()
        return domain

    def _fold(self, counters: Counters) -> Counters:
        """Raises each running activation's line maximum to the high just read (and reset)."""
        high = counters[2]
        own = self._threads.get(threading.get_ident())
        if own is not None:
            for activation in own.running:
                activation.line_max = max(activation.line_max, high)
        high = counters[5]
        for activation in self._process.running:
            activation.line_max = max(activation.line_max, high)
        return counters

    def _open(self, activation: _Activation, counters: Counters, domain: _Domain) -> None:
        at = 3 if domain is self._process else 0  # the process's counters follow the thread's
        allocated, freed = counters[at], counters[at + 1]
        activation.allocated0 = allocated
        activation.freed0 = freed
        activation.line_max = allocated - freed
        activation.base = allocated - freed - activation.net
        if activation not in domain.running:
            domain.running.append(activation)

    def _close(self, activation: _Activation, counters: Counters) -> None:
        at = 3 if activation.domain is self._process else 0
        figures = activation.stats.line(activation.line)
        allocated = counters[at] - activation.allocated0
        freed = counters[at + 1] - activation.freed0
        figures.allocated += allocated
        figures.freed += freed
        activation.net += allocated - freed
        peak = activation.line_max - activation.base
        if figures.peak is None or peak > figures.peak:
            figures.peak = peak


ENGINE = Engine()


# What the hooks counted, read first thing by each event: (thread allocated, freed, high,
# process allocated, freed, high).
Counters = tuple[int, int, int, int, int, int]
read_counters = _core.meter_pause_and_read
resume_counting = _core.meter_resume


def generator_like(code: object) -> bool:
    """Whether frames of this code are suspended and resumed (generators, coroutines)."""
    flags = getattr(code, "co_flags", 0)
    return bool(
        flags & (0x20 | 0x80 | 0x100 | 0x200)
    )  # GENERATOR, COROUTINE, ITERABLE_COROUTINE, ASYNC_GENERATOR
