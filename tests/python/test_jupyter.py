"""The IPython magics (`%load_ext memhound`) in a real InteractiveShell, no notebook server:
cells run with shell.run_cell, their displays captured with IPython's capture_output."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import memhound

IPython = pytest.importorskip("IPython")
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output


@pytest.fixture(scope="module")
def shell() -> Iterator[InteractiveShell]:
    ipython = InteractiveShell.instance()
    ipython.run_line_magic("load_ext", "memhound")
    yield ipython
    InteractiveShell.clear_instance()


ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")


class Ran:
    """One cell run: IPython's ExecutionResult, what it printed, and what it displayed."""

    def __init__(self, result: Any, captured: Any) -> None:
        self.result = result
        self.printed = ANSI_COLOUR.sub("", captured.stdout + captured.stderr)
        self.displays = [output.data for output in captured.outputs]

    @property
    def text(self) -> str:
        return "\n".join(data["text/plain"] for data in self.displays)

    @property
    def html(self) -> str:
        return "\n".join(data["text/html"] for data in self.displays)

    def cell_name(self) -> str:
        return f"Cell In[{self.result.execution_count}]"


def run(shell: InteractiveShell, source: str) -> Ran:
    with capture_output() as captured:
        result = shell.run_cell(source, store_history=True)
    return Ran(result, captured)


def site_lines(text: str) -> list[str]:
    """The rows of the sites table (a rank, then numbers), without source or caller lines."""
    rows = text.split("  where\n", 1)[1].splitlines()
    return [row for row in rows if row.split() and row.split()[0].isdigit()]


def test_import_memhound_does_not_import_ipython() -> None:
    code = "import sys, memhound; print('IPython' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_top_site_is_the_cells_line(shell: InteractiveShell) -> None:
    ran = run(shell, "%%memhound\nblock = bytearray(8_000_000)\nsmall = [0] * 10\n")
    assert ran.result.error_in_exec is None
    first = site_lines(ran.text)[0]
    assert first.endswith(f"{ran.cell_name()}, line 2"), ran.text
    assert "7.6 MiB" in first
    assert "block = bytearray(8_000_000)" in ran.text
    assert f"{ran.cell_name()}, line 2" in ran.html
    assert "<table>" in ran.html and "<code>block = bytearray(8_000_000)</code>" in ran.html


def embedded_document(html_fragment: str) -> str:
    """The HTML document inside the output's iframe (its srcdoc, unescaped)."""
    match = re.search(r'<iframe srcdoc="([^"]*)" sandbox="allow-scripts"', html_fragment)
    assert match, "no sandboxed iframe with scripts allowed in the output"
    return html.unescape(match.group(1))


def test_the_flame_graph_is_embedded_under_the_table(shell: InteractiveShell) -> None:
    ran = run(shell, "%%memhound\nblob = bytearray(6_000_000)\n")
    document = embedded_document(ran.html)
    assert ran.html.index("<table>") < ran.html.index("<iframe")
    assert document.startswith("<!DOCTYPE html>") and 'id="flame"' in document
    data = json.loads(document.split('id="memhound-data">', 1)[1].split("</script>", 1)[0])
    cell_lines = [(f[0], f[2], f[3]) for f in data["frames"]]  # [function, file, line, source]
    assert ("<module>", 2, "blob = bytearray(6_000_000)") in cell_lines
    cell_files = {f[1] for f in data["frames"] if f[3] == "blob = bytearray(6_000_000)"}
    assert cell_files == {ran.cell_name()}  # the cell as IPython names it, not its temp file
    assert "iframe" not in ran.text
    plain = run(shell, "%%memhound --no-flame-graph\nblob = bytearray(6_000_000)\n")
    assert "<iframe" not in plain.html and "<table>" in plain.html


def test_the_cells_variables_and_result_are_kept(shell: InteractiveShell) -> None:
    ran = run(shell, "%%memhound\nnumbers = list(range(1000))\nlen(numbers) + 1\n")
    assert len(shell.user_ns["numbers"]) == 1000
    assert ran.result.result == 1001
    later = run(shell, "numbers[-1]")
    assert later.result.result == 999


def test_a_frame_of_a_library_names_the_cell_as_caller(shell: InteractiveShell) -> None:
    source = (
        "%%memhound -n 3\nimport json\nrows = [{'id': i, 'name': 'x' * 20} for i in range(20_000)]"
        "\ntext = json.dumps(rows)\n"
    )
    ran = run(shell, source)
    assert len(shell.user_ns["text"]) > 500_000
    assert f"from {ran.cell_name()}, line 4" in ran.text
    assert f"{ran.cell_name()}, line 3" in ran.text


def test_an_exception_shows_the_trace_then_goes_on(shell: InteractiveShell) -> None:
    ran = run(shell, "%%memhound\nkept = bytearray(3_000_000)\nraise ValueError('boom')\n")
    assert isinstance(ran.result.error_in_exec, ValueError)
    assert site_lines(ran.text)[0].endswith(f"{ran.cell_name()}, line 2")
    assert "ValueError: boom" in ran.printed
    assert "memhound/_jupyter" not in ran.printed  # the magic's frames are hidden


def test_a_syntax_error_is_the_cells_own(shell: InteractiveShell) -> None:
    ran = run(shell, "%%memhound\nx = (\n")
    assert isinstance(ran.result.error_in_exec, SyntaxError)
    assert ran.displays == []


def test_top_level_await_is_a_usage_line(shell: InteractiveShell) -> None:
    ran = run(shell, "%%memhound\nimport asyncio\nawait asyncio.sleep(0)\n")
    assert type(ran.result.error_in_exec).__name__ == "UsageError"
    assert "memhound: a cell with top-level await cannot be traced" in ran.printed


def test_a_cell_that_allocates_nothing_says_so(shell: InteractiveShell) -> None:
    ran = run(shell, "%%memhound\n# nothing here\n")
    assert ran.result.error_in_exec is None
    assert "No allocations of the cell in this view." in ran.text


def test_options_limit_group_sample_and_keep(shell: InteractiveShell, tmp_path: Path) -> None:
    kept = tmp_path / "cell.bin"
    source = (
        f"%%memhound -n 2 --by function --sample-bytes 4096 -o {kept}\n"
        "def build():\n    return [bytearray(1000) for _ in range(3000)]\n"
        "parts = build()\nmore = [str(i) for i in range(50_000)]\n"
    )
    ran = run(shell, source)
    assert ran.result.error_in_exec is None
    assert len(site_lines(ran.text)) == 2
    assert "sites by function" in ran.text and "sampled mode" in ran.text
    assert f"{ran.cell_name()}, line 3 in build()" in ran.text
    assert f"capture kept in {kept}" in ran.text
    capture = memhound.read_capture(kept)
    assert capture.header["mode"] == "sampled" and capture.peak_bytes > 2_000_000


def test_the_leaks_view_shows_what_the_cell_left(shell: InteractiveShell) -> None:
    shell.run_cell("held = []")
    ran = run(
        shell, "%%memhound --leaks\nheld.append(bytearray(500_000))\ngone = bytearray(10**6)\n"
    )
    assert "Memory the cell left allocated" in ran.text
    rows = site_lines(ran.text)
    assert rows[0].endswith(f"{ran.cell_name()}, line 3")  # `gone` stays bound: still allocated


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("-n many", "argument -n: not a whole number: 'many'"),
        ("--by module", "argument --by: invalid choice: 'module'"),
        ("--sample-bytes 0", "must be positive"),
        ("--bogus", "unrecognized arguments: --bogus"),
    ],
)
def test_bad_options_are_one_usage_line(shell: InteractiveShell, line: str, message: str) -> None:
    shell.user_ns.pop("never", None)
    ran = run(shell, f"%%memhound {line}\nnever = 1\n")
    assert type(ran.result.error_in_exec).__name__ == "UsageError"
    printed = ran.printed
    assert message in printed and "Traceback" not in printed
    assert "never" not in shell.user_ns


def test_tracing_already_on_is_a_usage_line(shell: InteractiveShell, tmp_path: Path) -> None:
    with memhound.Tracker(tmp_path / "outer.bin"):
        ran = run(shell, "%%memhound\nx = 1\n")
    assert type(ran.result.error_in_exec).__name__ == "UsageError"
    assert "memhound is already tracing" in ran.printed


def test_leaks_finds_a_cell_appending_to_a_global(shell: InteractiveShell) -> None:
    shell.run_cell("kept_rows = []")
    ran = run(shell, "%%memhound_leaks --iterations 8\nkept_rows.append(bytearray(4000))\n")
    assert ran.result.error_in_exec is None
    assert "1 leak(s) found" in ran.text, ran.text
    assert "[global]" in ran.text
    assert "bytearray: +" in ran.text
    assert f"allocated at  {ran.cell_name()}, line 2" in ran.text
    assert "kept_rows" in ran.text.split("retained by", 1)[1]
    assert "held by the program" in ran.text
    assert '<span class="kind">global</span>' in ran.html
    # warm-up, 8 traced runs and the detector's probe runs: the cell ran at least 11 times
    assert len(shell.user_ns["kept_rows"]) >= 11


def test_leaks_finds_none_in_a_clean_cell(shell: InteractiveShell) -> None:
    ran = run(
        shell, "%%memhound_leaks --iterations 8\nscratch = [bytearray(4000) for _ in range(8)]"
    )
    assert ran.result.error_in_exec is None
    assert "no leaks found" in ran.text and "no leaks found" in ran.html
    assert len(shell.user_ns["scratch"]) == 8


def test_leaks_lets_the_cells_exception_go_on(shell: InteractiveShell) -> None:
    ran = run(shell, "%%memhound_leaks\nraise KeyError('missing')\n")
    assert isinstance(ran.result.error_in_exec, KeyError)
    assert ran.displays == []
    assert f"{ran.cell_name()}, line 2" in ran.printed  # the traceback goes to the cell's line
    assert "memhound/_leaks/" not in ran.printed  # with no frame of the leak checker's loop


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("--iterations 2", "argument --iterations: must be at least 4: 2"),
        ("--budget soon", "bad duration 'soon'"),
        ("--min-bytes -3", "must not be negative"),
    ],
)
def test_leaks_bad_options_are_one_usage_line(
    shell: InteractiveShell, line: str, message: str
) -> None:
    ran = run(shell, f"%%memhound_leaks {line}\npass\n")
    assert type(ran.result.error_in_exec).__name__ == "UsageError"
    printed = ran.printed
    assert message in printed and "Traceback" not in printed


def test_a_notebook_run_by_a_real_kernel(tmp_path: Path) -> None:
    """The magics in a notebook executed by nbclient in an ipykernel (headless, no server):
    the kernel names its cells by temporary files, which still read as `Cell In[2]`."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    cells = [
        "%load_ext memhound",
        "%%memhound\nblock = bytearray(8_000_000)\nlen(block)",
        "history = []",
        "%%memhound_leaks --iterations 8\nhistory.append(bytearray(4000))",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(
        notebook, timeout=120, resources={"metadata": {"path": tmp_path}}
    ).execute()
    _, traced, _, leaks = (cell.outputs for cell in notebook.cells)
    report, result = traced
    assert report.output_type == "display_data"
    assert "Cell In[2], line 2" in report.data["text/html"]
    assert site_lines(report.data["text/plain"])[0].endswith("Cell In[2], line 2")
    assert result.output_type == "execute_result" and result.data["text/plain"] == "8000000"
    (finding,) = leaks
    assert "1 leak(s) found" in finding.data["text/plain"]
    assert "Cell In[4], line 2" in finding.data["text/html"]
    assert "__main__.history[" in finding.data["text/html"]
    assert "held by the program (the cells&#x27; code)" in finding.data["text/html"]
