# memhound: the two set-up commands of the README (`make demo`, `make test`) and the developer targets.
# Every target installs what it needs first, so each works on a fresh Debian 12 machine.
PYTHON ?= python3
APT_PACKAGES := libzstd-dev libgtest-dev pkg-config g++ make
PIP_BUILD := scikit-build-core nanobind cmake ninja
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
CMAKE_CPP := cmake -G Ninja -DMEMHOUND_PYTHON=OFF -DMEMHOUND_TESTS=ON

.PHONY: deps install demo test cpp-test py-test asan bench format lint clean

deps:  ## system packages and build tools
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq $$missing; fi
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

py-test: install
	$(PYTHON) -m pytest -q -n 2 tests/python

test: cpp-test py-test  ## GoogleTest, then pytest (unit and end-to-end)

asan: deps  ## the C++ tests under AddressSanitizer + UndefinedBehaviorSanitizer
	$(CMAKE_CPP) -DMEMHOUND_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -S . -B build/asan
	cmake --build build/asan -j2
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --test-dir build/asan --output-on-failure

bench: install  ## side-by-side benchmarks; rewrites BENCHMARKS.md
	$(PYTHON) -m pip install -q '.[bench]' --no-build-isolation
	$(PYTHON) benchmarks/run.py --write BENCHMARKS.md

format:
	clang-format -i $$(git ls-files 'src/*.cpp' 'src/*.h' 'tests/*.cpp')
	$(PYTHON) -m ruff format src tests benchmarks examples

lint:
	$(PYTHON) -m ruff check src tests benchmarks examples

clean:
	rm -rf build dist *.egg-info
