"""speedscope's JSON file format (https://www.speedscope.app/file-format-schema.json): two
"sampled" profiles of the view, one weighted in bytes and one in allocations, over one shared
list of frames. A sample is a stack, outermost frame first, as speedscope reads it."""

from __future__ import annotations

import json
import os

from memhound.export._profile import Profile

SCHEMA = "https://www.speedscope.app/file-format-schema.json"
_TITLES = {"peak": "live at the peak", "leaks": "live at the end", "temporary": "temporary"}


def speedscope_document(profile: Profile, *, program: str, exporter: str) -> dict:
    frames = [
        {"name": frame_name(frame.function, frame.file, frame.line), "file": frame.file}
        | ({"line": frame.line} if frame.line else {})
        for frame in profile.frames
    ]
    by_bytes = [stack for stack in profile.stacks if stack.bytes[0] > 0]
    by_count = [stack for stack in profile.stacks if stack.counts[0] > 0]
    by_count.sort(key=lambda stack: -stack.counts[0])
    title = _TITLES[profile.view]
    return {
        "$schema": SCHEMA,
        "name": f"{program}: {title}",
        "exporter": exporter,
        "activeProfileIndex": 0,
        "shared": {"frames": frames},
        "profiles": [
            _sampled(f"{title}: bytes", "bytes", by_bytes, [s.bytes[0] for s in by_bytes]),
            _sampled(f"{title}: allocations", "none", by_count, [s.counts[0] for s in by_count]),
        ],
    }


def speedscope_text(profile: Profile, *, program: str, exporter: str) -> str:
    document = speedscope_document(profile, program=program, exporter=exporter)
    return json.dumps(document, separators=(",", ":"))


def frame_name(function: str, file: str, line: int) -> str:
    """'handle (service.py:63)': the function, and where in its file."""
    if not file:
        return function
    where = f"{os.path.basename(file)}:{line}" if line else os.path.basename(file)
    return f"{function} ({where})"


def _sampled(name: str, unit: str, stacks: list, weights: list[int]) -> dict:
    return {
        "type": "sampled",
        "name": name,
        "unit": unit,
        "startValue": 0,
        "endValue": sum(weights),
        "samples": [list(reversed(stack.frames)) for stack in stacks],
        "weights": weights,
    }
