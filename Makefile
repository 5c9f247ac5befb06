# The two commands a newcomer needs: `make demo` and `make test`.
# Everything builds out of tree in build/ (sanitizer build in build/asan).

BUILD      ?= build
ASAN_BUILD ?= $(BUILD)/asan
FUZZ_BUILD ?= $(BUILD)/fuzz
JOBS       ?= $(shell nproc)
FUZZ_SECONDS ?= 30
CMAKE_FLAGS ?=
PYTHON     ?= /usr/bin/python3
GENERATOR  := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")

# ccache (CMakeLists.txt uses it when installed): paths under the clone are
# hashed relative to it, so a second clone elsewhere (a CI checkout, a
# colleague's tree) reuses the first one's objects instead of building cold.
export CCACHE_BASEDIR ?= $(CURDIR)
export CCACHE_NOHASHDIR ?= 1

.PHONY: all setup configure build test test-fast test-asan demo live bench fuzz clean

all: build

setup:
	@scripts/setup.sh

$(BUILD)/CMakeCache.txt:
	@$(MAKE) --no-print-directory setup
	cmake -S . -B $(BUILD) $(GENERATOR) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

configure: $(BUILD)/CMakeCache.txt

build: setup configure
	cmake --build $(BUILD) -j $(JOBS)

# The whole suite: every test of the normal build, then the unit tests once
# more under ASan+UBSan.
test: build
	cd $(BUILD) && ctest -j $(JOBS) --output-on-failure --timeout 900
	@$(MAKE) --no-print-directory test-asan

test-fast: build
	cd $(BUILD) && ctest -j $(JOBS) --output-on-failure -L unit

test-asan: setup
	@test -f $(ASAN_BUILD)/CMakeCache.txt || cmake -S . -B $(ASAN_BUILD) $(GENERATOR) \
	  -DCMAKE_BUILD_TYPE=Debug -DXIAOXIANG_SANITIZE=ON -DXIAOXIANG_BUILD_BENCHMARKS=OFF \
	  -DXIAOXIANG_BUILD_EXAMPLES=OFF -DXIAOXIANG_INSTALL=OFF
	cmake --build $(ASAN_BUILD) -j $(JOBS) --target xiaoxiang_unit_tests
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest -j $(JOBS) --output-on-failure -L unit --timeout 900

demo: build
	@echo "demo: the live map (docs/web.md) is 'make live', then open http://127.0.0.1:$(LIVE_PORT)/"
	$(BUILD)/bin/xiaoxiang demo --db $(BUILD)/demo.sqlite $(DEMO_ARGS)

# The dispatch console (docs/web.md): the sim served with the live page.
LIVE_PORT ?= 8080
live: build
	@echo "live: open http://127.0.0.1:$(LIVE_PORT)/ in a browser (Ctrl-C stops)"
	$(BUILD)/bin/xiaoxiang serve --port $(LIVE_PORT) --sim --sim-speed 10 --web-root $(BUILD)/web/dist $(LIVE_ARGS)

bench: build
	@mkdir -p $(BUILD)/bench
	@for b in $(BUILD)/bin/bench_*; do \
	  name=$$(basename $$b); echo "== $$name"; \
	  $$b --benchmark_out=$(BUILD)/bench/$$name.json --benchmark_out_format=json $(BENCH_ARGS) || exit 1; \
	done
	@if [ -d $(BUILD)/python/xiaoxiang ]; then echo "== python (benchmarks/python)"; \
	  for p in benchmarks/python/bench_*.py; do \
	    PYTHONPATH=$(BUILD)/python $(PYTHON) $$p --bench-geo $(BUILD)/bin/bench_geo \
	      --bench-track $(BUILD)/bin/bench_track || exit 1; \
	  done; fi

fuzz: setup
	@test -f $(FUZZ_BUILD)/CMakeCache.txt || CXX=clang++ cmake -S . -B $(FUZZ_BUILD) $(GENERATOR) \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXIAOXIANG_FUZZ=ON -DXIAOXIANG_BUILD_TESTS=OFF \
	  -DXIAOXIANG_BUILD_BENCHMARKS=OFF -DXIAOXIANG_BUILD_EXAMPLES=OFF -DXIAOXIANG_INSTALL=OFF
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@for f in $(FUZZ_BUILD)/bin/fuzz_*; do \
	  name=$$(basename $$f); echo "== $$name ($(FUZZ_SECONDS) s)"; \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$name; \
	  seeds=fuzz/corpus/$$name; [ -d $$seeds ] || seeds=; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -artifact_prefix=$(FUZZ_BUILD)/ $(FUZZ_BUILD)/corpus/$$name $$seeds || exit 1; \
	done

clean:
	rm -rf $(BUILD)
