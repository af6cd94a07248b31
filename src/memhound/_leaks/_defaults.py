"""Defaults of a leak check, shared by the API, the CLI and the pytest plugin (a light module:
the CLI builds its --help from it without importing the detector)."""

DEFAULT_ITERATIONS = 30
DEFAULT_WARMUP = 3
# Growth below this many bytes per iteration is dropped (interpreter noise, an int here and there).
DEFAULT_MIN_BYTES = 64
