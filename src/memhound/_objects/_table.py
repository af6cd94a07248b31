"""Plain-text tables for the objects API's results (their repr at a prompt, print_diff...)."""

from __future__ import annotations

from collections.abc import Sequence

from memhound.report._format import format_bytes

TYPE_WIDTH = 48  # longer type names are clipped


def clip(text: str, width: int = TYPE_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def signed_count(n: int) -> str:
    return f"{n:+,}"


def signed_bytes(n: int) -> str:
    return ("+" if n >= 0 else "-") + format_bytes(abs(n))


def render(header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]) -> str:
    """Columns padded to their widest cell; `right` says which are right-aligned (numbers)."""
    widths = [max([len(header[i]), *(len(row[i]) for row in rows)]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = (
            cell.rjust(width) if align else cell.ljust(width)
            for cell, width, align in zip(cells, widths, right, strict=True)
        )
        return "  ".join(padded).rstrip()

    return "\n".join([line(header), *(line(row) for row in rows)])
