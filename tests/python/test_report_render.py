"""The report renderers on fabricated rows: no capture, no tracing."""

from __future__ import annotations

import json

import pytest

from memhound.report import (
    CaptureInfo,
    SiteRow,
    SiteSummary,
    dumps,
    format_bytes,
    render_sites,
    render_stats,
    sites_document,
    stats_document,
    trim_rows,
    without_launcher_frames,
)

SOURCE = {
    ("app/cache.py", 41): "self.entries[key] = value",
    ("app/main.py", 12): "cache.put(k, load(k))",
    ("lib/parse.py", 7): "return [Token(t) for t in text.split()]",
}


def fake_source(path: str, line: int | None) -> str:
    return SOURCE.get((path, line or 0), "")


def frame(file: str, function: str, line: int | None) -> dict:
    return {"file": file, "function": function, "line": line}


def rows() -> list[SiteRow]:
    return [
        {
            "bytes": 3 * 1024 * 1024,
            "count": 30,
            "frames": [frame("app/cache.py", "Cache.put", 41), frame("app/main.py", "main", 12)],
        },
        {"bytes": 1024 * 1024, "count": 90, "frames": [frame("lib/parse.py", "parse", 7)]},
        {"bytes": 512, "count": 1, "frames": []},
    ]


def summary(site_rows: list[SiteRow], limit: int = 0) -> SiteSummary:
    """What Capture.site_summary returns: the top rows and the totals over all of them."""
    return {
        "total_bytes": sum(row["bytes"] for row in site_rows),
        "total_count": sum(row["count"] for row in site_rows),
        "site_count": len(site_rows),
        "sites": site_rows[:limit] if limit else site_rows,
    }


INFO: CaptureInfo = {
    "path": "app.bin",
    "header": {
        "version": 1,
        "python_version": "3.11.7",
        "pid": 4242,
        "argv": ["app.py", "--port", "80"],
        "start_time_ns": 0,
        "mode": "full",
        "sample_bytes": 0,
    },
    "complete": True,
    "truncated_at": None,
    "event_count": 1000,
}


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (150 * 1024**2, "150 MiB"),
        (3 * 1024**4, "3.0 TiB"),
    ],
)
def test_format_bytes(n: int, text: str) -> None:
    assert format_bytes(n) == text


def test_sites_table_ranks_rows_with_share_frames_and_source() -> None:
    text = render_sites(summary(rows(), 10), view="peak", by="line", info=INFO, source=fake_source)
    lines = text.splitlines()
    assert (
        lines[0] == "Memory live at the peak: 4.0 MiB in 121 allocations (top 3 of 3 sites by line)"
    )
    assert "app.bin of `app.py --port 80` (pid 4242, full mode, complete)" in lines[1]
    first = next(line for line in lines if line.lstrip().startswith("1 "))
    assert first.split()[:5] == ["1", "3.0", "MiB", "75.0%", "30"]
    assert first.endswith("Cache.put  app/cache.py:41")
    body = text[text.index(first) :]
    # innermost frame, its source, then the caller and its source, in that order
    order = [
        "Cache.put",
        "self.entries[key] = value",
        "from main  app/main.py:12",
        "cache.put(k, load(k))",
    ]
    positions = [body.index(part) for part in order]
    assert positions == sorted(positions)
    assert "<no Python frame>" in text


def test_limit_shows_the_first_rows_but_shares_use_every_row() -> None:
    text = render_sites(summary(rows(), 1), view="leaks", by="line", source=fake_source)
    assert "(top 1 of 3 sites by line)" in text
    assert "75.0%" in text
    assert "parse" not in text


def test_temporary_shares_are_by_count() -> None:
    text = render_sites(summary(rows()), view="temporary", by="function", source=fake_source)
    second = next(line for line in text.splitlines() if line.lstrip().startswith("2 "))
    assert "74.4%" in second  # 90 of 121 allocations


def test_long_stacks_are_cut_unless_grouped_by_stack() -> None:
    deep = [frame("m.py", f"f{i}", i + 1) for i in range(9)]
    row: SiteRow = {"bytes": 10, "count": 1, "frames": deep}
    by_line = render_sites(summary([row]), view="peak", by="line", source=fake_source)
    assert "from f4  m.py:5" in by_line
    assert "f5" not in by_line
    assert "... 4 more callers (--by stack shows all)" in by_line
    by_stack = render_sites(summary([row]), view="peak", by="stack", source=fake_source)
    assert "from f8  m.py:9" in by_stack
    assert "more callers" not in by_stack


def test_unknown_line_is_a_question_mark() -> None:
    row: SiteRow = {"bytes": 10, "count": 1, "frames": [frame("gen.py", "<genexpr>", None)]}
    text = render_sites(summary([row]), view="peak", by="line", source=fake_source)
    assert "<genexpr>  gen.py:?" in text


def test_empty_view_says_so() -> None:
    text = render_sites(summary([]), view="leaks", by="line", info=INFO)
    assert "No allocations in this view." in text


def test_truncated_capture_is_named_in_the_table() -> None:
    info = {**INFO, "complete": False, "truncated_at": 5120}
    text = render_sites(summary(rows(), 1), view="peak", by="line", info=info)
    assert "truncated at byte 5120" in text


def test_sites_json_has_totals_shares_and_source() -> None:
    document = json.loads(
        dumps(
            sites_document(
                summary(rows(), 2), view="peak", by="stack", info=INFO, source=fake_source
            )
        )
    )
    assert document["view"] == "peak"
    assert document["by"] == "stack"
    assert document["total_bytes"] == 4 * 1024 * 1024 + 512
    assert document["site_count"] == 3
    assert len(document["sites"]) == 2
    top = document["sites"][0]
    assert top["bytes_share"] == pytest.approx(0.75, abs=1e-3)
    assert top["frames"][1] == {
        "file": "app/main.py",
        "function": "main",
        "line": 12,
        "source": "cache.put(k, load(k))",
    }
    assert document["capture"]["header"]["pid"] == 4242


def stats() -> dict:
    return {
        "events": 2000,
        "recorded_allocations": 1200,
        "recorded_frees": 800,
        "allocations": 1200,
        "allocated_bytes": 4 * 1024 * 1024,
        "peak_bytes": 2 * 1024 * 1024,
        "peak_seq": 1500,
        "live_bytes": 1024,
        "live_allocations": 400,
        "duration_s": 2.0,
        "threads": 3,
        "size_histogram": [
            {"low": 16, "high": 32, "count": 1000, "bytes": 20000},
            {"low": 1024, "high": 2048, "count": 200, "bytes": 300000},
        ],
        "top_sites": rows(),
    }


def test_stats_text_has_totals_rate_histogram_and_top_sites() -> None:
    text = render_stats(stats(), INFO)
    assert "1,200 allocations, 800 frees" in text
    assert "600 allocations/s, 2.0 MiB/s" in text
    assert "2.0 MiB live (traced), reached at event #1500" in text
    assert "1 KiB - 2 KiB" in text
    histogram = [line for line in text.splitlines() if line.strip().startswith(("16 B", "1 KiB"))]
    assert histogram[0].endswith("#" * 30)  # the largest bucket gets the full bar
    assert histogram[1].endswith(" " + "#" * 6)
    top = text[text.index("Top sites by number of allocations") :]
    assert top.index("Cache.put") < top.index("parse")


def test_stats_without_duration_say_the_rate_is_unknown() -> None:
    figures = {**stats(), "duration_s": None}
    assert "unknown (no duration recorded)" in render_stats(figures, INFO)
    document = stats_document(figures, INFO)
    assert document["allocations_per_s"] is None


def test_stats_json_adds_rates() -> None:
    document = json.loads(dumps(stats_document(stats(), INFO)))
    assert document["allocations_per_s"] == 600
    assert document["bytes_per_s"] == 2 * 1024 * 1024
    assert document["capture"]["path"] == "app.bin"


def test_launcher_frames_below_the_program_are_dropped() -> None:
    package = "/opt/lib/memhound"
    frames = [
        frame("app.py", "load", 4),
        frame("app.py", "<module>", 9),
        frame("<frozen runpy>", "_run_code", 88),
        frame("<frozen runpy>", "run_path", 291),
        frame(f"{package}/_program.py", "run_program.<locals>.execute", 105),
        frame(f"{package}/cli/run.py", "run", 40),
        frame("/usr/bin/memhound", "<module>", 8),  # the console script
    ]
    assert without_launcher_frames(frames, package) == frames[:2]
    row: SiteRow = {"bytes": 1, "count": 1, "frames": frames}
    assert trim_rows([row], package)[0]["frames"] == frames[:2]
    assert row["frames"] == frames  # the input rows are left as they were


def test_an_allocation_made_by_the_launcher_keeps_its_innermost_frame() -> None:
    package = "/opt/lib/memhound"
    frames = [
        frame(f"{package}/_program.py", "execute", 100),
        frame(f"{package}/cli/run.py", "run", 40),
    ]
    assert without_launcher_frames(frames, package) == frames[:1]


def test_runpy_used_by_the_program_itself_is_kept() -> None:
    frames = [frame("/usr/lib/python3.11/runpy.py", "run_module", 200), frame("app.py", "main", 3)]
    assert without_launcher_frames(frames, "/opt/lib/memhound") == frames


def test_sampled_capture_is_flagged_as_estimates() -> None:
    info = {**INFO, "header": {**INFO["header"], "mode": "sampled", "sample_bytes": 4096}}
    text = render_sites(summary(rows(), 1), view="peak", by="line", info=info)
    assert "sampled mode, estimated from samples" in text
    assert "figures are estimates" in render_stats(stats(), info)


def test_frames_of_another_memhound_install_are_launcher_frames() -> None:
    frames = [
        frame("app.py", "main", 3),
        frame("<frozen runpy>", "run_path", 291),
        frame("/elsewhere/site-packages/memhound/_program.py", "execute", 105),
    ]
    assert without_launcher_frames(frames) == frames[:1]
