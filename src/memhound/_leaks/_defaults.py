"""Defaults of a leak check, shared by the API, the CLI and the pytest plugin (a light module:
the CLI builds its --help from it without importing the detector)."""

from __future__ import annotations

import argparse
import re

from memhound._errors import UsageError

DEFAULT_ITERATIONS = 30
DEFAULT_WARMUP = 3
# Growth below this many bytes per iteration is dropped (interpreter noise, an int here and there).
DEFAULT_MIN_BYTES = 64
# Wall time a check may spend on more iterations when its evidence is ambiguous (see _extend).
DEFAULT_BUDGET_S = 10.0

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min)?\s*$", re.IGNORECASE)
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0}


def parse_seconds(text: str | float) -> float:
    """'10s' -> 10.0, '500ms' -> 0.5, '2m' -> 120.0; a bare number is seconds."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        seconds = float(text)
    else:
        match = _DURATION.match(str(text))
        if match is None:
            raise UsageError(f"bad duration '{text}': expected e.g. '10s', '500ms' or '2m'")
        seconds = float(match.group(1)) * _SECONDS[(match.group(2) or "s").lower()]
    if seconds < 0:
        raise UsageError(f"a duration must not be negative (got {text})")
    return seconds


def seconds_argument(text: str) -> float:
    """parse_seconds for an argparse option (pytest's included): a bad value is argparse's
    one-line usage error."""
    try:
        return parse_seconds(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
