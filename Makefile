# The study's two commands: `make study` and `make test`. Everything they need is installed from this
# repository's files into .venv (exact versions: requirements-lock.txt).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PROFILE ?= cpu
BIN := $(VENV)/bin
STAMP := $(VENV)/.install-stamp

.PHONY: study test install export check-export nbtest pytest clean-nbs bench

study: $(STAMP)  ## run every chapter under papermill into runs/<UTC timestamp>-$(PROFILE)/
	$(BIN)/cxrstudy run --profile $(PROFILE)

test: $(STAMP) check-export nbtest pytest  ## export, check the package matches the notebooks, nbdev-test, pytest

install: $(STAMP)

# torch and torchvision are installed first and as a pair: the CUDA build of torch 2.14.1 with torchvision 0.29.1
# (PyPI's torchvision does not import beside a different torch).
$(STAMP): pyproject.toml requirements-lock.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q "pip==26.3"
	$(BIN)/pip install -q -c requirements-lock.txt torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install -q -c requirements-lock.txt -e ".[dev]"
	touch $(STAMP)

export: $(STAMP)
	$(BIN)/nbdev-export

# The package must be exactly what the notebooks export: export into the tree and fail if that changed anything.
check-export: $(STAMP)
	@snap=$$(mktemp -d); cp -a cxrstudy "$$snap/"; \
	$(BIN)/nbdev-export; \
	if ! diff -r -x __pycache__ "$$snap/cxrstudy" cxrstudy; then \
	  echo "cxrstudy/ differed from what the notebooks export (now re-exported): commit nbs/ and cxrstudy/ together"; \
	  rm -rf "$$snap"; exit 1; fi; rm -rf "$$snap"; echo "cxrstudy/ matches the notebooks"

nbtest: $(STAMP)
	$(BIN)/nbdev-test --n-workers 2

pytest: $(STAMP)
	$(BIN)/pytest -q

clean-nbs: $(STAMP)
	$(BIN)/nbdev-clean

bench: $(STAMP)  ## run the benchmarks in bench/ and record them in bench/results/ (minutes; not part of `make test`)
	$(BIN)/python bench/phantom_speed.py --n 2000 --out bench/results/phantom_speed.md
	$(BIN)/python bench/phantom_probe.py --profile cpu --out bench/results/phantom_probe.md
	$(BIN)/python bench/cache_speed.py
	$(BIN)/python bench/augment_speed.py
	$(BIN)/python bench/site_speed.py --repeat 3
	$(BIN)/python bench/ctrl_c_stress.py --n 20 --load 3
	$(BIN)/python bench/metrics_speed.py
	$(BIN)/python bench/classify_speed.py --profile cpu
	$(BIN)/python bench/genmetrics_speed.py
	$(BIN)/python bench/fd_ci_coverage.py
	$(BIN)/python bench/diffusion_speed.py --profile cpu --threads 1
	$(BIN)/python bench/diffusion_threads.py
	$(BIN)/python bench/diffusion_fidelity.py --variants natural,balanced --weights 0,2 --n 48 --steps 25
	$(BIN)/python bench/diffusion_ablation.py --updates 600 --n 64 --n-fidelity 32
	$(BIN)/python bench/diffusion_cpu_choice.py --variants eps,v --n 32 --n-fidelity 40
	$(BIN)/python bench/guidance_costs.py --profile cpu
	$(BIN)/python bench/structure_rhythm.py --label after
	$(BIN)/python bench/sweep_speed.py --chapters data labels masking classify --seeds 0-1 --workers 2
	$(BIN)/python bench/arms_parallel.py --chapters classify strategies diffusion --profile smoke --workers 2
	$(BIN)/python bench/cli_import.py --repeat 3 --workers 2
