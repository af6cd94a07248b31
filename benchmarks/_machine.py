"""Describes the machine and software a benchmark run used, for the header of BENCHMARKS.md."""

from __future__ import annotations

import datetime
import importlib.metadata
import importlib.util
import os
import platform
import subprocess
import sys
from pathlib import Path

COMPARED_PACKAGES = ("memhound", "memray", "pympler", "guppy3", "objgraph")


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU model name from /proc/cpuinfo, or the platform's processor string elsewhere."""
    try:
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def module_location(name: str) -> str:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.origin:
        return "not installed"
    return str(Path(spec.origin).parent)


def source_revision(repo: Path) -> str:
    """The checked-out commit, with ' (modified)' when the work tree has uncommitted changes."""
    try:
        commit = _git(repo, "rev-parse", "--short", "HEAD")
        dirty = _git(repo, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + (" (modified)" if dirty else "")


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, timeout=30
    )
    return done.stdout.strip()


def load_average() -> str:
    try:
        return " / ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


def machine_facts() -> dict[str, str]:
    """Ordered facts: CPU, cores, memory, OS, Python, date, tool versions, load."""
    facts = {
        "CPU": cpu_model(),
        "cores (os.cpu_count)": str(os.cpu_count()),
        "memory": _total_memory(),
        "OS": f"{platform.system()} {platform.release()}",
        "Python": f"{platform.python_implementation()} {sys.version.split()[0]} ({sys.executable})",
        "date (UTC)": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M"),
    }
    facts["repository commit"] = source_revision(Path(__file__).resolve().parent.parent)
    facts["memhound imported from"] = module_location("memhound")
    facts.update({f"{name} version": package_version(name) for name in COMPARED_PACKAGES})
    facts["load average at start (1/5/15 min)"] = load_average()
    return facts


def _total_memory(meminfo: Path = Path("/proc/meminfo")) -> str:
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / (1024 * 1024):.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return "unknown"
