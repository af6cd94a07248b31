"""Brendan Gregg's collapsed stacks, as flamegraph.pl, inferno and many viewers read them: one
line per stack, `outermost;...;innermost BYTES`."""

from __future__ import annotations

from collections.abc import Iterator

from memhound.export._profile import Profile
from memhound.export._speedscope import frame_name

# Characters that would split a frame or a line; a file path may hold them.
_UNSAFE = str.maketrans({";": ",", "\n": " ", "\r": " "})


def collapsed_lines(profile: Profile) -> Iterator[str]:
    names = [
        frame_name(frame.function, frame.file, frame.line).translate(_UNSAFE)
        for frame in profile.frames
    ]
    for stack in profile.stacks:
        if stack.bytes[0] <= 0:
            continue
        path = ";".join(names[index] for index in reversed(stack.frames))
        yield f"{path} {stack.bytes[0]}\n"
