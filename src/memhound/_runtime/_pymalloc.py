"""pymalloc_stats(): the interpreter's small-object allocator, as data.

CPython serves every request of up to 512 bytes from pymalloc: 1 MiB arenas, cut into 16 KiB
pools, each pool holding blocks of one size class. The interpreter reports these figures only as
text: `sys._debugmallocstats()` writes it to the C stderr (file descriptor 2). memhound has the
interpreter write the same text into a temporary file instead, through the exported C function
behind it (`_PyObject_DebugMallocStats(FILE *)`, called with ctypes), so that fd 2 is never
touched; where that function cannot be reached it redirects fd 2 for the one call (see
debug_malloc_text). Then it parses the text.
"""

from __future__ import annotations

import functools
import os
import re
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

from memhound._errors import MemhoundError
from memhound._runtime._format import format_bytes


@dataclass(frozen=True)
class SizeClass:
    """One pymalloc size class: blocks of `block_size` bytes in `pools` pools that are in use.
    `free_blocks` are the free blocks inside those pools (empty pools are counted apart)."""

    index: int
    block_size: int
    pools: int
    used_blocks: int
    free_blocks: int

    @property
    def used_bytes(self) -> int:
        return self.used_blocks * self.block_size

    @property
    def free_bytes(self) -> int:
        return self.free_blocks * self.block_size


@dataclass(frozen=True)
class Arenas:
    """pymalloc's arenas: `allocated_total` ever allocated, `reclaimed` given back to the OS,
    `highwater` the most held at once, `current` held now, each of `arena_size` bytes."""

    allocated_total: int
    reclaimed: int
    highwater: int
    current: int
    arena_size: int

    @property
    def held_bytes(self) -> int:
        return self.current * self.arena_size


@dataclass(frozen=True)
class FreeList:
    """An object free list kept by the interpreter (floats, lists, dicts, tuples by size):
    `count` dead objects of `object_size` bytes kept for reuse."""

    name: str
    count: int
    object_size: int
    bytes: int


@dataclass(frozen=True)
class MimallocTotals:
    """What sys._debugmallocstats() reports when mimalloc (PYTHONMALLOC=mimalloc, 3.13) serves
    Python's objects."""

    allocated_blocks: int
    allocated_bytes: int
    allocated_bytes_with_overhead: int
    reserved_bytes: int
    committed_bytes: int


@dataclass(frozen=True)
class ProcessMemory:
    """The process's resident set size now and at its peak (from /proc/self/status), in bytes;
    None where the system does not say."""

    rss_bytes: int | None
    peak_rss_bytes: int | None


@dataclass(frozen=True)
class PymallocStats:
    """pymalloc's arenas, pools and blocks, parsed from the interpreter's own statistics.

    `allocator` is "pymalloc", or "malloc" / "mimalloc" when PYTHONMALLOC chose another allocator:
    then `in_use` is False and the pymalloc figures are None. `debug_hooks` tells whether the
    start-up settings (PYTHONMALLOC=..._debug, -X dev, a debug build) wrap the allocator in
    debug hooks, whose padding is counted in the blocks. Fragmentation is the share of the
    memory pymalloc holds that no live block uses.
    """

    allocator: str
    debug_hooks: bool
    memory: ProcessMemory
    small_block_threshold: int | None = None
    arenas: Arenas | None = None
    pool_size: int | None = None
    size_classes: tuple[SizeClass, ...] = ()
    allocated_bytes: int | None = None
    available_bytes: int | None = None
    unused_pools: int | None = None
    unused_pool_bytes: int | None = None
    pool_header_bytes: int | None = None
    quantization_bytes: int | None = None
    arena_alignment_bytes: int | None = None
    arena_map_bytes: int | None = None
    freelists: tuple[FreeList, ...] | None = None
    mimalloc: MimallocTotals | None = None
    python: str = field(default_factory=lambda: ".".join(map(str, sys.version_info[:3])))

    @property
    def in_use(self) -> bool:
        return self.allocator == "pymalloc"

    @property
    def held_bytes(self) -> int | None:
        """The bytes of pymalloc's arenas (what it holds from the OS)."""
        return None if self.arenas is None else self.arenas.held_bytes

    @property
    def used_pools(self) -> int | None:
        return sum(c.pools for c in self.size_classes) if self.in_use else None

    @property
    def overhead_bytes(self) -> int | None:
        """Pool headers, rounding of requests up to their size class, and arena alignment."""
        parts = (self.pool_header_bytes, self.quantization_bytes, self.arena_alignment_bytes)
        return None if any(p is None for p in parts) else sum(p or 0 for p in parts)

    @property
    def fragmentation(self) -> float | None:
        """1 - live block bytes / arena bytes: 0 when every byte pymalloc holds is in a live
        block, near 1 when it holds arenas that live objects barely use."""
        held, used = self.held_bytes, self.allocated_bytes
        if held is None or used is None:
            return None
        return 0.0 if held == 0 else max(0.0, min(1.0, 1 - used / held))

    @property
    def freelist_bytes(self) -> int | None:
        """Bytes of dead objects the free lists keep; None where the interpreter does not report
        them (3.13 writes them only to fd 2, from sys._debugmallocstats)."""
        return None if self.freelists is None else sum(f.bytes for f in self.freelists)

    def size_class(self, block_size: int) -> SizeClass | None:
        """The size class of blocks of `block_size` bytes, when any pool of it is in use."""
        for cls in self.size_classes:
            if cls.block_size == block_size:
                return cls
        return None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["in_use"] = self.in_use
        data["held_bytes"] = self.held_bytes
        data["used_pools"] = self.used_pools
        data["overhead_bytes"] = self.overhead_bytes
        data["fragmentation"] = self.fragmentation
        data["freelist_bytes"] = self.freelist_bytes
        if self.arenas is not None:
            data["arenas"]["held_bytes"] = self.arenas.held_bytes
        for row, cls in zip(data["size_classes"], self.size_classes):
            row["used_bytes"], row["free_bytes"] = cls.used_bytes, cls.free_bytes
        return data

    def __str__(self) -> str:
        return "\n".join(self._lines())

    __repr__ = __str__

    def _lines(self) -> list[str]:
        memory = (
            f"process RSS {format_bytes(self.memory.rss_bytes)}, "
            f"peak {format_bytes(self.memory.peak_rss_bytes)}"
        )
        hooks = " with debug hooks" if self.debug_hooks else ""
        if not self.in_use:
            lines = [
                (
                    f"pymalloc is not in use in this process: Python's objects come from "
                    f"{self.allocator}{hooks} (PYTHONMALLOC), so there are no arenas or pools."
                )
            ]
            if self.mimalloc is not None:
                m = self.mimalloc
                lines.append(
                    f"mimalloc: {m.allocated_blocks:,} blocks, "
                    f"{format_bytes(m.allocated_bytes)} allocated, "
                    f"{format_bytes(m.committed_bytes)} committed, "
                    f"{format_bytes(m.reserved_bytes)} reserved"
                )
            return [*lines, memory]
        arenas = self.arenas
        assert arenas is not None and self.held_bytes is not None
        frag = self.fragmentation or 0.0
        lines = [
            (
                f"pymalloc{hooks}: {arenas.current} arenas of {format_bytes(arenas.arena_size)} held "
                f"({format_bytes(self.held_bytes)}); {format_bytes(self.allocated_bytes)} in live "
                f"blocks; fragmentation {frag:.1%}"
            ),
            (
                f"  arenas: {arenas.allocated_total} allocated in all, {arenas.reclaimed} given back "
                f"to the OS, highwater {arenas.highwater}, {arenas.current} now"
            ),
            (
                f"  held but not in live blocks: {format_bytes(self.available_bytes)} free blocks in "
                f"used pools, {self.unused_pools} empty pools ({format_bytes(self.unused_pool_bytes)}), "
                f"{format_bytes(self.overhead_bytes)} headers and rounding"
            ),
            f"  {memory}"
            + (
                ""
                if self.freelist_bytes is None
                else f"; object free lists {format_bytes(self.freelist_bytes)}"
            ),
            "",
            (
                f"  {'class':>5} {'size':>5} {'pools':>6} {'used blocks':>12} {'free blocks':>12}"
                f" {'used':>10} {'free':>10}"
            ),
        ]
        for cls in self.size_classes:
            lines.append(
                f"  {cls.index:>5} {cls.block_size:>5} {cls.pools:>6} {cls.used_blocks:>12,} "
                f"{cls.free_blocks:>12,} {format_bytes(cls.used_bytes):>10} "
                f"{format_bytes(cls.free_bytes):>10}"
            )
        return lines


def pymalloc_stats() -> PymallocStats:
    """The interpreter's allocator statistics (those of sys._debugmallocstats) parsed into data,
    with the process's RSS. Safe to call from any thread."""
    return parse_debug_malloc_stats(
        debug_malloc_text(), debug_hooks=debug_hooks_enabled(), memory=process_memory()
    )


# ---- capture ---------------------------------------------------------------------------------

# One fd-2 capture at a time: two threads redirecting fd 2 at once would restore each other's files.
_capture_lock = threading.Lock()


class _FileWriters(NamedTuple):
    """The C functions that write the statistics into a FILE: libc's fdopen and fclose, the
    interpreter's allocator report and (3.11, 3.12: 3.13 does not export it) its free-list report."""

    fdopen: Any
    fclose: Any
    malloc_stats: Any
    type_stats: Any


@functools.cache
def _file_writers() -> _FileWriters | None:
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        fdopen, fclose = libc.fdopen, libc.fclose
        malloc_stats = ctypes.pythonapi._PyObject_DebugMallocStats
    except (ImportError, AttributeError, OSError):
        return None
    fdopen.argtypes, fdopen.restype = [ctypes.c_int, ctypes.c_char_p], ctypes.c_void_p
    fclose.argtypes, fclose.restype = [ctypes.c_void_p], ctypes.c_int
    malloc_stats.argtypes, malloc_stats.restype = [ctypes.c_void_p], ctypes.c_int
    type_stats = getattr(ctypes.pythonapi, "_PyObject_DebugTypeStats", None)
    if type_stats is not None:
        type_stats.argtypes, type_stats.restype = [ctypes.c_void_p], None
    return _FileWriters(fdopen, fclose, malloc_stats, type_stats)


def debug_malloc_text() -> str:
    """The text sys._debugmallocstats() writes (the allocator's report, then the free lists).

    Written by the interpreter into a temporary file of its own (through pythonapi, so under the
    GIL): nothing the program writes to stderr, from any thread, can mix with it, and fd 2 is
    never touched. Where that C function cannot be reached, see _text_through_fd2.
    """
    writers = _file_writers()
    if writers is None:
        return _text_through_fd2()
    with tempfile.TemporaryFile() as tmp:
        descriptor = os.dup(tmp.fileno())
        stream = writers.fdopen(descriptor, b"w")
        if not stream:
            os.close(descriptor)
            return _text_through_fd2()
        try:
            writers.malloc_stats(stream)
            if writers.type_stats is not None:
                writers.type_stats(stream)
        finally:
            writers.fclose(stream)  # flushes, closes the duplicate descriptor
        tmp.seek(0)
        return tmp.read().decode("utf-8", "replace")


def _text_through_fd2() -> str:
    """sys._debugmallocstats() with file descriptor 2 pointing at a temporary file.

    fd 2 is restored on every path (closed again when it was closed), and Python's own stderr
    is flushed first. What other threads or C code write to fd 2 in that window is given back
    to the real stderr afterwards, every line that is not of the statistics' shapes. A write
    another thread had already started can still land inside the statistics, even inside one
    of their lines: that line is given back as it is and left out of the figures (when the parse
    needs it, pymalloc_stats raises MemhoundError).
    """
    with _capture_lock:
        _flush_python_stderr()
        with tempfile.TemporaryFile() as tmp:
            try:
                saved: int | None = os.dup(2)
            except OSError:
                saved = None  # fd 2 was closed: closed again afterwards
            try:
                os.dup2(tmp.fileno(), 2)
                try:
                    sys._debugmallocstats()
                finally:
                    if saved is None:
                        os.close(2)
                    else:
                        os.dup2(saved, 2)
            finally:
                if saved is not None:
                    os.close(saved)
            tmp.seek(0)
            raw = tmp.read()
    stats, others = split_foreign_lines(raw.decode("utf-8", "replace"))
    if others:
        _write_back(others)
    return stats


def _flush_python_stderr() -> None:
    for stream in (sys.stderr, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass  # a closed or broken stream has nothing to flush


def _write_back(text: str) -> None:
    data = text.encode("utf-8", "replace")
    try:
        while data:
            data = data[os.write(2, data) :]
    except OSError:
        pass  # fd 2 closed or broken: the program had no stderr to lose


# ---- parsing ---------------------------------------------------------------------------------

_NUMBER = r"([\d,]+)"
_VALUE_LINE = re.compile(rf"^(\S.*?)\s*=\s*{_NUMBER}\s*$")
_CLASS_ROW = re.compile(r"^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$")
_FREELIST = re.compile(rf"^\s*(\d+) free (.+?) \* (\d+) bytes each\s*=\s*{_NUMBER}\s*$")
_THRESHOLD = re.compile(r"^Small block threshold = (\d+), in (\d+) size classes\.\s*$")
_MIMALLOC_VALUE = re.compile(r"^\s+([A-Za-z][A-Za-z /]*?):\s+(\d+)\s*$")
_MIMALLOC_HEADER = re.compile(r"^(Medium block threshold|Large object max size) = (\d+)\s*$")
_TABLE_HEADER = re.compile(r"^(class\s+size\s+num pools\s+blocks in use\s+avail blocks|[-\s]+)$")
_ARENAS_LINE = re.compile(r"^(\d+) arenas \* (\d+) bytes/arena$")
_UNUSED_POOLS = re.compile(r"^(\d+) unused pools \* (\d+) bytes$")

_PYMALLOC_VALUES = {
    "# arenas allocated total": "allocated_total",
    "# arenas reclaimed": "reclaimed",
    "# arenas highwater mark": "highwater",
    "# arenas allocated current": "current",
    "# bytes in allocated blocks": "allocated_bytes",
    "# bytes in available blocks": "available_bytes",
    "# bytes lost to pool headers": "pool_header_bytes",
    "# bytes lost to quantization": "quantization_bytes",
    "# bytes lost to arena alignment": "arena_alignment_bytes",
    "# bytes lost to arena map root": "map_root",
    "# bytes lost to arena map mid": "map_mid",
    "# bytes lost to arena map bot": "map_bot",
    "# arena map mid nodes": "map_mid_nodes",
    "# arena map bot nodes": "map_bot_nodes",
    "Total": "total",
}
_MIMALLOC_VALUES = {
    "Allocated Blocks": "allocated_blocks",
    "Allocated Bytes": "allocated_bytes",
    "Allocated Bytes w/ Overhead": "allocated_bytes_with_overhead",
    "Bytes Reserved": "reserved_bytes",
    "Bytes Committed": "committed_bytes",
}


def _is_stats_line(line: str) -> bool:
    return (
        not line.strip()
        or line == "arena map counts"
        or any(
            pattern.match(line)
            for pattern in (
                _THRESHOLD,
                _CLASS_ROW,
                _TABLE_HEADER,
                _FREELIST,
                _VALUE_LINE,
                _MIMALLOC_VALUE,
                _MIMALLOC_HEADER,
            )
        )
    )


_FREELIST_ANYWHERE = re.compile(
    r"[ \t]*\d+ free [^\n]+? \* \d+ bytes each[ \t]*=[ \t]*[\d,]+[ \t]*\n?"
)


def split_foreign_lines(text: str) -> tuple[str, str]:
    """Splits captured fd-2 text into the statistics and what something else wrote.

    The interpreter writes the statistics in one piece (it holds the GIL throughout), so they
    are one stretch of the text: from "Small block threshold" (pymalloc, mimalloc) or, when no
    allocator section is printed (PYTHONMALLOC=malloc), from the first free-list line, to the
    end of the last free-list line. What comes before and after it belongs to someone else (also
    a part line: sys.stderr writes a print's text and its newline apart), and so does any line
    inside it that is not of the statistics' shapes (C code writing without the GIL).
    """
    start = text.find("Small block threshold = ")
    if start < 0:
        first = _FREELIST_ANYWHERE.search(text)
        if first is None:
            return "", text
        start = first.start()
    ends = [m.end() for m in _FREELIST_ANYWHERE.finditer(text, start)]
    end = ends[-1] if ends else len(text)
    stats: list[str] = []
    inside: list[str] = []
    for line in text[start:end].splitlines(keepends=True):
        (stats if _is_stats_line(line.rstrip("\n")) else inside).append(line)
    return "".join(stats), text[:start] + "".join(inside) + text[end:]


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def parse_debug_malloc_stats(
    text: str, *, debug_hooks: bool = False, memory: ProcessMemory | None = None
) -> PymallocStats:
    """Parses the text of sys._debugmallocstats() (CPython 3.11-3.13). Raises MemhoundError
    when a pymalloc section is there but lacks the figures every version prints."""
    memory = memory or ProcessMemory(None, None)
    lines = [line.rstrip() for line in text.splitlines()]
    freelists = (
        tuple(
            FreeList(m.group(2), int(m.group(1)), int(m.group(3)), _number(m.group(4)))
            for m in map(_FREELIST.match, lines)
            if m
        )
        or None
    )
    threshold = next((m for m in map(_THRESHOLD.match, lines) if m), None)
    mimalloc = {
        _MIMALLOC_VALUES[m.group(1)]: int(m.group(2))
        for m in map(_MIMALLOC_VALUE.match, lines)
        if m and m.group(1) in _MIMALLOC_VALUES
    }
    if mimalloc:
        if len(mimalloc) != len(_MIMALLOC_VALUES):
            raise MemhoundError("cannot read the mimalloc statistics of sys._debugmallocstats()")
        return PymallocStats(
            "mimalloc",
            debug_hooks,
            memory,
            freelists=freelists,
            mimalloc=MimallocTotals(**mimalloc),
        )
    if threshold is None:
        return PymallocStats("malloc", debug_hooks, memory, freelists=freelists)
    return _parse_pymalloc(lines, int(threshold.group(1)), freelists, debug_hooks, memory)


def _parse_pymalloc(
    lines: list[str],
    threshold: int,
    freelists: tuple[FreeList, ...] | None,
    debug_hooks: bool,
    memory: ProcessMemory,
) -> PymallocStats:
    classes: list[SizeClass] = []
    values: dict[str, int] = {}
    totals: list[int] = []
    arena_size = unused_pools = pool_size = None
    in_table = False
    for line in lines:
        if line.startswith("class "):
            in_table = True
            continue
        row = _CLASS_ROW.match(line) if in_table else None
        if row:
            classes.append(SizeClass(*(int(group) for group in row.groups())))
            continue
        if in_table and line and not _TABLE_HEADER.match(line):
            in_table = False
        value = _VALUE_LINE.match(line)
        if value is None or _FREELIST.match(line):
            continue
        label, number = value.group(1), _number(value.group(2))
        if arenas_line := _ARENAS_LINE.match(label):
            arena_size = int(arenas_line.group(2))
        elif pools_line := _UNUSED_POOLS.match(label):
            unused_pools, pool_size = int(pools_line.group(1)), int(pools_line.group(2))
        elif _PYMALLOC_VALUES.get(label) == "total":
            totals.append(number)
        elif label in _PYMALLOC_VALUES:
            values[_PYMALLOC_VALUES[label]] = number
    required = (
        "allocated_total",
        "reclaimed",
        "highwater",
        "current",
        "allocated_bytes",
        "available_bytes",
        "pool_header_bytes",
        "quantization_bytes",
        "arena_alignment_bytes",
    )
    missing = [name for name in required if name not in values]
    if missing or arena_size is None or unused_pools is None or pool_size is None:
        raise MemhoundError(
            "cannot read the pymalloc statistics of sys._debugmallocstats() "
            f"(missing: {', '.join(missing) or 'arena or pool size'})"
        )
    map_parts = [values.get(name) for name in ("map_root", "map_mid", "map_bot")]
    return PymallocStats(
        "pymalloc",
        debug_hooks,
        memory,
        small_block_threshold=threshold,
        arenas=Arenas(
            values["allocated_total"],
            values["reclaimed"],
            values["highwater"],
            values["current"],
            arena_size,
        ),
        pool_size=pool_size,
        size_classes=tuple(classes),
        allocated_bytes=values["allocated_bytes"],
        available_bytes=values["available_bytes"],
        unused_pools=unused_pools,
        unused_pool_bytes=unused_pools * pool_size,
        pool_header_bytes=values["pool_header_bytes"],
        quantization_bytes=values["quantization_bytes"],
        arena_alignment_bytes=values["arena_alignment_bytes"],
        arena_map_bytes=None if None in map_parts else sum(p or 0 for p in map_parts),
        freelists=freelists,
    )


# ---- the process ----------------------------------------------------------------------------


def debug_hooks_enabled() -> bool:
    """Whether the start-up settings put the allocator debug hooks in place."""
    setting = os.environ.get("PYTHONMALLOC", "")
    return (
        setting == "debug"
        or setting.endswith("_debug")
        or bool(getattr(sys.flags, "dev_mode", False))
        or hasattr(sys, "gettotalrefcount")
    )


def current_rss() -> int | None:
    """The process's resident set now, from /proc/self/statm (one short read); None where
    unreadable. Cheap enough for every checkpoint of a leak check."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            fields = statm.read().split()
        return int(fields[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def process_memory() -> ProcessMemory:
    """RSS now and at its peak, from /proc/self/status (kB figures); None where unreadable."""
    fields: dict[str, int] = {}
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                name, _, rest = line.partition(":")
                if name in ("VmRSS", "VmHWM"):
                    number, _, unit = rest.strip().partition(" ")
                    if number.isdigit() and unit.strip().lower() == "kb":
                        fields[name] = int(number) * 1024
    except OSError:
        pass
    peak = fields.get("VmHWM")
    if peak is None:
        try:
            import resource

            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
        except (ImportError, OSError):
            peak = None
    return ProcessMemory(fields.get("VmRSS"), peak)
