"""Running helper processes: one-line error summaries and JSON results written to a file."""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


@dataclass(frozen=True)
class JsonRun:
    """A helper process that writes JSON to a file: its data (or error) and wall time."""

    data: Any
    error: str | None
    seconds: float
    returncode: int | None


def run_json(command: list[str], timeout_s: float, ok_codes: tuple[int, ...] = (0,)) -> JsonRun:
    """Runs `command + [OUTPUT]` and reads the JSON the process wrote to OUTPUT."""
    with tempfile.TemporaryDirectory(prefix="memhound-bench-") as tmp:
        output = Path(tmp) / "result.json"
        start = time.perf_counter()
        try:
            done = subprocess.run(
                [*command, str(output)],
                capture_output=True,
                text=True,
                check=False,
                timeout=timeout_s,
            )
        except subprocess.TimeoutExpired:
            return JsonRun(None, f"timed out after {timeout_s:.0f} s", timeout_s, None)
        seconds = time.perf_counter() - start
        if done.returncode not in ok_codes:
            message = f"failed (exit {done.returncode}): {last_line(done.stderr or done.stdout)}"
            return JsonRun(None, message, seconds, done.returncode)
        if not output.exists():
            message = f"no JSON written (exit {done.returncode}): {last_line(done.stderr)}"
            return JsonRun(None, message, seconds, done.returncode)
        try:
            data = json.loads(output.read_text(encoding="utf-8"))
        except ValueError as exc:
            return JsonRun(None, f"unreadable JSON result: {exc}", seconds, done.returncode)
        return JsonRun(data, None, seconds, done.returncode)
