# Thin wrapper over CMake: the targets a user types. Everything real lives in CMakeLists.txt,
# slurm/install-deps.sh, tests/ and data-prep/.
#
#   make demo    install deps, build, generate a synthetic Kermany set, prep it and train on it
#                with 2 ranks; the run directory lands in results/demo/run
#   make test    install deps, build, run all tests (then the unit tests again under ASan+UBSan)
#   make bench   benchmarks; tables go to results/
#   make build   build only; programs land in build/bin/

BUILD       ?= build
BUILD_ASAN  ?= build-asan
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

.PHONY: all deps build demo test test-unit test-asan bench clean

all: build

deps:
	@sh slurm/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DPTRAIN_WERROR=$(WERROR)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

demo: build
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

test: build
	cd $(BUILD) && ctest --output-on-failure -j 1
	$(MAKE) test-asan

# The unit tests again, built with AddressSanitizer and UndefinedBehaviorSanitizer.
test-asan: deps
	cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DPTRAIN_WERROR=$(WERROR) -DPTRAIN_SANITIZE=ON
	cmake --build $(BUILD_ASAN) -j $(JOBS)
	cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j 1 -L unit

test-unit: build
	cd $(BUILD) && ctest --output-on-failure -j 1 -L unit

bench: build
	@sh slurm/install-deps.sh --bench
	bash tests/bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN)
