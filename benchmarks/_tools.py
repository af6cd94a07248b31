"""The tracing tools compared by the overhead benchmark, and how each one runs a script.

A tool that is not installed, or a memhound feature that does not work yet, is kept in the list
with the reason in `unavailable`, so the report shows a row that says so instead of crashing.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from _proc import last_line

BENCH_DIR = Path(__file__).resolve().parent
TRACEMALLOC_WRAPPER = BENCH_DIR / "tracemalloc_run.py"
# Mean sampling interval of memhound's sampled mode in the benchmark (bytes between samples).
SAMPLE_BYTES = 1_048_576
BASELINE_TOOL = "plain"
# Report column order; build_tools returns exactly these, the baseline first.
TOOL_NAMES = (
    BASELINE_TOOL,
    "tracemalloc-1",
    "tracemalloc-64",
    "memray",
    "memhound-full",
    "memhound-sampled",
    "memray-native",
    "memhound-native",
    "memhound-native-frames",
)
PROBE_TIMEOUT_S = 60

CAPTURE = "{capture}"  # placeholder in a tool's arguments for the capture file path


@dataclass(frozen=True)
class Tool:
    """A way to run a script: `python *arguments SCRIPT ARGS...`, CAPTURE replaced by a path."""

    name: str
    arguments: tuple[str, ...]
    capture_format: str | None = None  # the reader that counts its events: "memhound", "memray"
    unavailable: str | None = None
    python: str = sys.executable

    def command(self, script: Path, script_args: list[str], capture: Path) -> list[str]:
        resolved = [str(capture) if arg == CAPTURE else arg for arg in self.arguments]
        return [self.python, *resolved, str(script), *script_args]

    @property
    def command_shape(self) -> str:
        """How the tool is invoked, for the Method section."""
        shown = ["CAPTURE" if arg == CAPTURE else _relative(arg) for arg in self.arguments]
        return " ".join(["python", *shown, "SCRIPT"])


def _relative(argument: str) -> str:
    path = Path(argument)
    if path.is_absolute() and path.is_relative_to(BENCH_DIR.parent):
        return str(path.relative_to(BENCH_DIR.parent))
    return argument


def probe_memray(python: str) -> str | None:
    """None when `memray run` works, otherwise why it cannot be used."""
    if importlib.util.find_spec("memray") is None:
        return "not installed"
    return _probe_capture(python, ["-m", "memray", "run", "-q", "-f", "-o"])


def probe_memhound(python: str) -> str | None:
    """None when `memhound run` traces a tiny program into a capture file, otherwise why not."""
    if importlib.util.find_spec("memhound") is None:
        return "not installed"
    return _probe_capture(python, ["-m", "memhound", "run", "-o"])


def _probe_capture(python: str, prefix: list[str]) -> str | None:
    with tempfile.TemporaryDirectory(prefix="memhound-bench-probe-") as tmp:
        capture = Path(tmp) / "probe.bin"
        command = [python, *prefix, str(capture), "-c", "data = [str(i) for i in range(1000)]"]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, check=False, timeout=PROBE_TIMEOUT_S
            )
        except subprocess.TimeoutExpired:
            return f"not working yet: probe timed out after {PROBE_TIMEOUT_S} s"
        if done.returncode != 0:
            return f"not working yet: {last_line(done.stderr)}"
        if not capture.exists():
            return "not working yet: no capture file written"
    return None


def build_tools(python: str) -> list[Tool]:
    """Every compared tool, in report column order; plain python first (the baseline)."""
    memray = ("-m", "memray", "run", "--trace-python-allocators", "-q", "-f", "-o", CAPTURE)
    # Native tracing: memray's --native also unwinds and keeps the C stack of every allocation;
    # memhound-native records the Python stack of the C allocator's calls, memhound-native-frames
    # their C stack too (up to the interpreter's frames).
    memray_native = ("-m", "memray", "run", "--native", "--trace-python-allocators", "-q", "-f")
    memhound = ("-m", "memhound", "run")
    sampled = ("--sample-bytes", str(SAMPLE_BYTES))
    memhound_reason = probe_memhound(python)
    memray_reason = probe_memray(python)
    return [
        Tool(BASELINE_TOOL, (), python=python),
        Tool("tracemalloc-1", (str(TRACEMALLOC_WRAPPER), "1"), python=python),
        Tool("tracemalloc-64", (str(TRACEMALLOC_WRAPPER), "64"), python=python),
        Tool("memray", memray, "memray", memray_reason, python),
        Tool("memhound-full", (*memhound, "-o", CAPTURE), "memhound", memhound_reason, python),
        Tool(
            "memhound-sampled",
            (*memhound, *sampled, "-o", CAPTURE),
            "memhound",
            memhound_reason,
            python,
        ),
        Tool("memray-native", (*memray_native, "-o", CAPTURE), "memray", memray_reason, python),
        Tool(
            "memhound-native",
            (*memhound, "--native", "-o", CAPTURE),
            "memhound",
            memhound_reason,
            python,
        ),
        Tool(
            "memhound-native-frames",
            (*memhound, "--native-frames", "-o", CAPTURE),
            "memhound",
            memhound_reason,
            python,
        ),
    ]
