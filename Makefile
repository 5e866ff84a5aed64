# marketsim: thin wrapper around scripts/install-deps.sh, CMake and CTest.
#
#   make build   install the missing build dependencies (as root on Debian;
#                otherwise it lists them), then build
#   make run     the same, then run scenarios/default.yaml
#   make test    the same with the test dependencies too, then every test
#   make install PREFIX=dir  install marketsim, the Slurm templates, the
#                example scenarios and the Python package into dir
#                (default ~/.local; no root needed; docs/CLUSTER.md)
#   make test-asan  the tests again, built with ASan and UBSan in build-asan/
#   make bench   benchmarks: bench/consumers.yaml, bench/strategies.yaml,
#                bench/consumers3.yaml (3 categories: bytes per consumer)
#   make docs    regenerate docs/PARAMETERS.md from the parameter table
#   make scenarios-report  docs/SCENARIOS.md from 20 runs of each seed scenario
#   make firm-dynamics  docs/FIRM-DYNAMICS.md: firm demography and growth of a
#                generated world (scripts/firm_dynamics.py)
#   make strategies  docs/STRATEGIES.md: which strategy mix wins where, from
#                the sweep scenarios/sweeps/strategies.yaml
#   make exploring  docs/EXPLORING.md: which parameters matter (and how sure a
#                fit is), worked on a seed scenario (scripts/exploring.py)
#
# BUILD=dir chooses the build folder; JOBS=n the parallel build jobs.
# scripts/install-deps.sh --help says which dependency is needed for what.

BUILD ?= build
JOBS  ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
PREFIX ?= $(HOME)/.local

.PHONY: all deps deps-python deps-test configure build run test test-asan bench docs \
        clean scenarios-report firm-dynamics strategies exploring install

all: build

deps:
	@scripts/install-deps.sh build

deps-python:
	@scripts/install-deps.sh build python

deps-test:
	@scripts/install-deps.sh all

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	@$(BUILD)/marketsim run scenarios/default.yaml -o results/default.h5 --check

test: deps-test build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# Every test but the fuzz run (label fuzz), anything labelled slow and
# valgrind (which cannot run ASan binaries), built with AddressSanitizer,
# LeakSanitizer and UBSan (-DMARKETSIM_SANITIZE=ON; float-cast-overflow on
# top, which gcc's -fsanitize=undefined leaves out) in a Debug build.
# tests/lsan.supp: leaks of Open MPI's libraries, not ours.
ASAN_BUILD ?= build-asan
test-asan: deps-test
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug \
	    -DMARKETSIM_SANITIZE=ON \
	    -DCMAKE_C_FLAGS=-fsanitize=float-cast-overflow $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	@cd $(ASAN_BUILD) && \
	    ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0 \
	    LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	    UBSAN_OPTIONS=print_stacktrace=1 \
	    ctest --output-on-failure -j $(JOBS) -LE '^(fuzz|slow)$$' \
	        -E 'integration\.test_valgrind$$'

# PEER='command' adds whole-process runs of another implementation of the
# benchmark's model, alternated with marketsim (docs/PERFORMANCE.md).
bench: build
	@$(BUILD)/bench/msbench bench/consumers.yaml --scale \
	    --marketsim $(BUILD)/marketsim $(if $(PEER),--peer "$(PEER)")
	@echo
	@$(BUILD)/bench/msbench bench/strategies.yaml
	@echo
	@$(BUILD)/bench/msbench bench/consumers3.yaml --reps 1

docs: build
	@$(BUILD)/marketsim params --markdown > docs/PARAMETERS.md
	@echo "docs/PARAMETERS.md regenerated"

# MARKETSIM=path overrides the binary (default $(BUILD)/marketsim).
scenarios-report: deps-python build
	@MARKETSIM=$${MARKETSIM:-$(BUILD)/marketsim} /usr/bin/python3 scripts/scenarios_report.py

# A world of 8 markets and 40 firms with start-up entry, 30 years, 5 run
# seeds; about a minute on 2 cores. MARKETSIM=path as above.
firm-dynamics: deps-python build
	@MARKETSIM=$${MARKETSIM:-$(BUILD)/marketsim} /usr/bin/python3 scripts/firm_dynamics.py

# 10 strategy mixes x 20 replications (200 runs); about a minute on 2 cores.
strategies: deps-python build
	@MARKETSIM=$${MARKETSIM:-$(BUILD)/marketsim} /usr/bin/python3 scripts/strategies_report.py

# A Morris screening and a Saltelli sweep of scenarios/sea_expansion.yaml
# (84 + 384 short runs); a couple of minutes on 2 cores. MARKETSIM=path as
# above.
exploring: deps-python build
	@MARKETSIM=$${MARKETSIM:-$(BUILD)/marketsim} /usr/bin/python3 scripts/exploring.py

install: build
	@cmake --install $(BUILD) --prefix "$(PREFIX)"
	@echo "installed into $(PREFIX): bin/marketsim, share/marketsim/slurm," \
	      "share/marketsim/scenarios, the Python package (docs/CLUSTER.md)"

clean:
	rm -rf $(BUILD)
