"""At a pdb prompt, `p memhound.referrers(x)`, `p memhound.explain(x)` and `p memhound.summary()`
print readable, labelled text (a scripted pdb session reading its commands from stdin)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

PROGRAM = textwrap.dedent(
    """
    import memhound

    cache = {}


    class Item:
        pass


    def work():
        x = Item()
        cache["k"] = x
        breakpoint()
        return x


    work()
    print("program done")
    """
)

COMMANDS = """\
p memhound.referrers(x)
p memhound.explain(x)
p memhound.summary()
p memhound.refcount(x)
c
"""


def run_session(tmp_path: Path) -> str:
    script = tmp_path / "debugged.py"
    script.write_text(PROGRAM, encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONBREAKPOINT"}
    done = subprocess.run(
        [sys.executable, str(script)],
        input=COMMANDS,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_pdb_prints_labelled_referrers_explain_and_summary(tmp_path: Path) -> None:
    out = run_session(tmp_path)
    # each `p` answer follows a "(Pdb) " prompt
    answers = out.split("(Pdb) ")[1:]
    referrers, explanation, summary, refcount = (answer.strip() for answer in answers[:4])
    assert referrers.startswith("referrers of this __main__.Item (")
    assert "__main__.cache['k']  [dict, " in referrers
    assert "Thread 'MainThread' > work() local 'x'" in referrers
    assert "object at 0x" not in referrers
    assert explanation.startswith("__main__.Item (")
    assert explanation.endswith(": __main__.cache['k']")
    assert summary.startswith("memhound summary: ")
    assert summary.splitlines()[1].split() == ["type", "count", "bytes"]
    # cache['k'] and work()'s x; on 3.11 and 3.12, also pdb's copy of the frame's locals
    assert int(refcount) in (2, 3)
    assert "program done" in out
