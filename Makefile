# Thin wrapper over CMake: the targets a user types. Everything real lives in CMakeLists.txt,
# slurm/install-deps.sh, tests/ and data-prep/.
#
#   make demo    install what is missing, build, generate a synthetic Kermany set, prep it and
#                train on it with 2 ranks; the run directory lands in results/demo/run
#   make test    install what is missing, build, run all tests (then the unit tests again under
#                ASan+UBSan)
#   make bench   install what is missing (and PyTorch), build, benchmarks; tables go to results/
#   make fuzz    install clang if missing, build the libFuzzer harnesses (tests/fuzz) with ASan and
#                UBSan in build-fuzz/, run each for FUZZ_SECONDS (300); .ci/run runs it for 30 s
#   make build   build only, with the libraries already on this machine (never installs
#                anything); programs land in build/bin/
#   make deps    run slurm/install-deps.sh (Debian/Ubuntu packages) on demand
#
# demo, test and bench bootstrap a fresh Debian/Ubuntu machine: they first run
# `slurm/install-deps.sh --auto`, which asks dpkg and calls apt only for packages that are
# missing. Where it cannot check (no dpkg: RHEL, Rocky, libraries from environment modules) it
# says so and goes on; CMake then finds the libraries or names the one that is missing.

BUILD       ?= build
BUILD_ASAN  ?= build-asan
BUILD_FUZZ  ?= build-fuzz
FUZZ_SECONDS ?= 300
FUZZ_HARNESSES ?= image idx csv arch cache v2
JOBS        ?= $(shell nproc)
# Warnings are errors in CI (CI=true), plain warnings for users on other compilers.
WERROR      ?= $(if $(CI),ON,OFF)
DEMO_DIR    ?= results/demo
DEMO_COUNT  ?= 800
DEMO_EPOCHS ?= 8
NP          ?= 2

# Open MPI refuses to run as root without these; only the demo and tests set them, for root only.
ifeq ($(shell id -u),0)
MPI_ROOT_ENV := OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
endif

.PHONY: all deps auto-deps build demo test test-unit test-asan bench fuzz clean

all: build

deps:
	@sh slurm/install-deps.sh

auto-deps:
	@sh slurm/install-deps.sh --auto

# A configure that fails (a library not found) leaves no cache behind, so the next make retries.
$(BUILD)/CMakeCache.txt:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DPTRAIN_WERROR=$(WERROR) || \
	    { rm -f $@; echo "make: CMake did not find what ptrain needs (see above);" \
	      "'make deps' installs it on Debian/Ubuntu" >&2; exit 1; }

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# The dependencies first, then the build: one after the other even under make -j.
demo: auto-deps
	@$(MAKE) --no-print-directory build
	rm -rf $(DEMO_DIR)
	mkdir -p $(DEMO_DIR)
	$(BUILD)/bin/ptrain-synth --out $(DEMO_DIR)/chest_xray --count $(DEMO_COUNT) --seed 1
	$(MPI_ROOT_ENV) mpirun -np $(NP) $(BUILD)/bin/ptrain-prep \
	    --src $(DEMO_DIR)/chest_xray --out $(DEMO_DIR)/cache.h5 --size 128
	$(MPI_ROOT_ENV) mpirun -np $(NP) $(BUILD)/bin/ptrain train --data $(DEMO_DIR)/cache.h5 \
	    --arch cxr --epochs $(DEMO_EPOCHS) --batch 32 --lr 0.05 --schedule cosine \
	    --warmup-epochs 1 --log-seconds 20 --run-dir $(DEMO_DIR)/run
	@echo
	@echo "demo: the run directory is $(DEMO_DIR)/run (summary.json, metrics.csv, model.h5, *.png)"

# --no-tests=error: a build configured without the tests (no Criterion) fails here, never passes.
test: auto-deps
	@$(MAKE) --no-print-directory build
	cd $(BUILD) && ctest --output-on-failure --no-tests=error -j 1
	@$(MAKE) --no-print-directory test-asan

# The unit tests again, built with AddressSanitizer and UndefinedBehaviorSanitizer.
test-asan:
	cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DPTRAIN_WERROR=$(WERROR) -DPTRAIN_SANITIZE=ON
	cmake --build $(BUILD_ASAN) -j $(JOBS)
	cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure --no-tests=error -j 1 -L unit

test-unit: build
	cd $(BUILD) && ctest --output-on-failure --no-tests=error -j 1 -L unit

bench:
	@sh slurm/install-deps.sh --auto --bench
	@$(MAKE) --no-print-directory build
	bash tests/bench/run.sh $(BUILD)

# The harnesses need clang (libFuzzer); each runs FUZZ_SECONDS and the run fails on any crash,
# leak, UBSan report or hang, keeping the input in $(BUILD_FUZZ)/fuzz-artifacts/.
fuzz:
	@sh slurm/install-deps.sh --auto --fuzz
	cmake -S . -B $(BUILD_FUZZ) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DPTRAIN_WERROR=$(WERROR) -DPTRAIN_FUZZ=ON -DPTRAIN_TESTS=OFF
	cmake --build $(BUILD_FUZZ) -j $(JOBS) --target fuzzers
	bash tests/fuzz/run.sh $(BUILD_FUZZ) $(FUZZ_SECONDS) $(FUZZ_HARNESSES)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)
