# The few verbs a person types. Each one sets up what it needs on a fresh machine
# (PostgreSQL/PostGIS with apt-get when root, a virtual environment, pip) and is quick
# when everything is already there.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.cropkit-installed

REGION  ?= chartres
YEAR    ?= 2023
PROFILE ?= ci
RUNS    ?= data/batches/demo.yaml
PORT    ?= 8888

.PHONY: demo test lab bench lint format system browser env clean help

help:
	@echo "make demo   run every notebook on the embedded demo (REGION=$(REGION) YEAR=$(YEAR) PROFILE=$(PROFILE))"
	@echo "make test   run the test suite"
	@echo "make rerun  run a batch of runs (RUNS=$(RUNS); resumable)"
	@echo "make lab    open JupyterLab on the notebooks (PORT=$(PORT))"
	@echo "make bench  run the benchmarks"
	@echo "make lint   ruff on the package, tests and notebooks"

system:
	@bash scripts/install-system.sh

browser:
	@bash scripts/install-browser.sh

$(STAMP): pyproject.toml scripts/install-python.sh
	@echo "cropkit: setting up $(VENV)"
	@PYTHON=$(PYTHON) bash scripts/install-python.sh $(VENV)
	@touch $(STAMP)

env: $(STAMP)

demo: system env
	$(PY) -m cropkit demo --region $(REGION) --year $(YEAR) --profile $(PROFILE)
	@echo "cropkit: next, in this shell: source $(VENV)/bin/activate (then cropkit, papermill and"
	@echo "         jupyter are on the PATH); README, 'What do you want to do?', says which to use"

rerun: system env
	$(PY) -m cropkit rerun -f $(RUNS)

test: system browser env
	$(PY) -m pytest -n 2 --dist loadfile --durations=20

# JupyterLab refuses to start as root unless told: root (a container, Binder's build) says so
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: system env
	$(VENV)/bin/jupyter lab --ip=127.0.0.1 --port=$(PORT) $(ROOT_FLAG) notebooks/

bench: system env
	$(PY) benchmarks/bench_demo.py
	$(PY) benchmarks/bench_server.py
	$(PY) benchmarks/bench_composite.py
	$(PY) benchmarks/bench_pipeline.py --report test-artifacts/pipeline-report.html

lint: env
	$(VENV)/bin/ruff check cropkit tests benchmarks notebooks
	$(VENV)/bin/ruff format --check cropkit tests benchmarks notebooks

format: env
	$(VENV)/bin/ruff format cropkit tests benchmarks notebooks
	$(VENV)/bin/ruff check --fix cropkit tests benchmarks notebooks

clean:
	rm -rf runs .pytest_cache .ruff_cache test-artifacts
