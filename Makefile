# memhound: the two set-up commands of the README (`make demo`, `make test`) and the developer targets.
# Every target installs what it needs first, so each works on a fresh Debian 12 machine.
# Python: the active virtual environment's, else one that make creates in build/venv (so that
# nothing is installed into the system's Python, which Debian marks externally managed).
# PYTHON=... overrides both; BASE_PYTHON is the interpreter build/venv is made from.
# `make test` runs the Python suite on every supported CPython (3.11-3.13) that tools/find-pythons
# finds, each in its own build/venv-3.X; PYTHONS="/path/to/python3.12 ..." names them instead.
PYTHONS ?=
BASE_PYTHON ?= python3
VENV := build/venv
ifeq ($(origin PYTHON),undefined)
  ifdef VIRTUAL_ENV
    PYTHON := $(VIRTUAL_ENV)/bin/python
  else
    PYTHON := $(VENV)/bin/python
    MAKE_VENV := $(PYTHON)
  endif
  # the build tools that pip installs (cmake, ninja) are found beside that Python
  export PATH := $(abspath $(dir $(PYTHON))):$(PATH)
endif
# graphviz: memhound.graph renders SVG and PNG with `dot` (the tests render both); chromium: the
# HTML report tests open the pages in it (headless)
APT_PACKAGES := libzstd-dev libgtest-dev libdw-dev pkg-config g++ make python3-venv graphviz chromium
PIP_BUILD := scikit-build-core nanobind cmake ninja
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
CMAKE_CPP := cmake -G Ninja -DMEMHOUND_PYTHON=OFF -DMEMHOUND_TESTS=ON

.PHONY: system-deps deps install demo test cpp-test py-test py-test-all asan bench format lint clean

system-deps:  ## the Debian packages the build and the tests need
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq $$missing; fi

$(VENV)/bin/python: | system-deps
	$(BASE_PYTHON) -m venv $(VENV)

deps: system-deps $(MAKE_VENV)  ## system packages, then the build tools in the chosen Python
	$(PYTHON) -m pip install -q $(PIP_BUILD)

install: deps  ## the package and its test extras (incremental build in build/py)
	$(PYTHON) -m pip install -q --no-build-isolation '.[test]'

demo: install  ## trace the bundled example, print its peak and leak reports, then hunt its leaks
	$(PYTHON) -m memhound run -o build/demo.bin examples/demo_service.py
	$(PYTHON) -m memhound report build/demo.bin --peak -n 5
	$(PYTHON) -m memhound report build/demo.bin --leaks -n 5
	@# exit 1 means leaks were found, which is what the demo shows; 2 would be a real error
	$(PYTHON) -m memhound leaks examples/demo_service.py:handle_request --iterations 30; [ $$? -le 1 ]

cpp-test: deps
	$(CMAKE_CPP) -S . -B build/cpp
	cmake --build build/cpp -j2
	ctest --test-dir build/cpp --output-on-failure

py-test: install  ## pytest on the chosen Python only
	$(PYTHON) -m pytest -q -n 2 tests/python

py-test-all: system-deps  ## pytest on each supported Python found (or PYTHONS), one venv each
	tools/test-pythons $(PYTHONS)

test: cpp-test py-test-all  ## GoogleTest once, then pytest (unit and end-to-end) on each Python

asan: deps  ## the C++ tests under AddressSanitizer + UndefinedBehaviorSanitizer
	$(CMAKE_CPP) -DMEMHOUND_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -S . -B build/asan
	cmake --build build/asan -j2
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --test-dir build/asan --output-on-failure

bench: install  ## side-by-side benchmarks (all on this Python, reading at scale, tracing and heap on each other one)
	$(PYTHON) -m pip install -q '.[bench]' --no-build-isolation
	$(PYTHON) benchmarks/run.py --write BENCHMARKS.md
	$(PYTHON) benchmarks/reading_bench.py --write BENCHMARKS.md
	SKIP_VERSION=$$($(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])') tools/bench-pythons $(PYTHONS)

format:
	clang-format -i $$(git ls-files 'src/*.cpp' 'src/*.h' 'tests/*.cpp')
	$(PYTHON) -m ruff format src tests benchmarks examples

lint:
	$(PYTHON) -m ruff check src tests benchmarks examples

clean:
	rm -rf build dist *.egg-info
