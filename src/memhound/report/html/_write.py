"""Writing a report file: a failure is memhound's UsageError with one line."""

from __future__ import annotations

import os

from memhound._errors import UsageError


def write_html(text: str, path: str | os.PathLike[str]) -> None:
    name = os.fspath(path)
    try:
        with open(name, "w", encoding="utf-8") as out:
            out.write(text)
    except OSError as exc:
        raise UsageError(f"can't write '{name}': {exc.strerror or exc}") from None
