"""Jupyter and IPython: `%load_ext memhound` registers the `%%memhound` and `%%memhound_leaks`
cell magics. IPython is imported here on loading the extension, never by `import memhound`."""

from __future__ import annotations

from typing import Any


def load_ipython_extension(ipython: Any) -> None:
    """Called by `%load_ext memhound`: registers memhound's magics in the shell."""
    from memhound._jupyter._magics import MemhoundMagics

    ipython.register_magics(MemhoundMagics)
