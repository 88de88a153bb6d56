# The project's commands. Needs only python3 (>= 3.10), pip, git and make: everything else is installed
# into .venv by the targets themselves.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help venv test lint typecheck unit emulator bench-emulator clean test-system test-compat compat-venv bench chaos

help:
	@echo "make test            lint (ruff), types (mypy --strict), tests (pytest), then make test-system"
	@echo "make emulator        run the Operations emulator in the foreground (Ctrl-C to stop)"
	@echo "make bench-emulator  measure the emulator's GET/s"
	@echo "make bench           every benchmark against its peer, one table (about 6 min; bench/results/*.json)"
	@echo "make chaos           1,000 cancels and waits under 30 % injected faults, stalls vs deadlines (about 2 min)"
	@echo "make test-system     every kill path in a real Airflow deployment (api-server, scheduler, triggerer)"
	@echo "make test-compat     unit + system tests on the lowest supported Airflow (COMPAT_AIRFLOW, .venv-<version>)"
	@echo "make system-3.3.1    the system suite on one pinned Airflow (also unit-<version>; see constraints/)"
	@echo "make test-system-production  the system suite on PostgreSQL + CeleryExecutor (Redis), 2 workers, 2 triggerers"
	@echo "make demo            run every example DAG against the emulator and show what happened (about 1 min)"

# (Re)install when pyproject.toml changes. The editable install keeps the provider's entry point registered.
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

unit: $(STAMP)
	$(VENV)/bin/pytest -q

test: lint typecheck unit test-system

# A real Airflow deployment per run (SQLite + LocalExecutor, 127.0.0.1 only); about 3 min.
test-system: $(STAMP) chromium
	$(VENV)/bin/pytest -q -m system tests/system -p no:cacheprovider

# Headless Chromium for the system suite's browser test (Debian's chromium; apt-get as root, once).
.PHONY: chromium
chromium:
	@bash scripts/ensure_chromium.sh

# The production-shaped deployment (PostgreSQL, CeleryExecutor on Redis, two Celery workers, two triggerers): the
# kill paths again plus triggerer failover and a lost worker. Installs Debian's postgresql and redis-server if
# missing (root or sudo); the harness starts and stops throw-away instances on 127.0.0.1. About 10 min.
PRODUCTION_STAMP := $(VENV)/.installed-system-production

$(PRODUCTION_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e ".[dev,system-production]"
	@touch $(PRODUCTION_STAMP)

.PHONY: test-system-production
test-system-production: $(PRODUCTION_STAMP)
	bash scripts/system_services.sh
	$(VENV)/bin/pytest -q -m system -p no:cacheprovider --system-deployment=production \
		tests/system/test_kill_paths.py tests/system/test_production_triggerers.py tests/system/test_production_workers.py

# Other Airflow versions, each in its own venv (.venv-<version>) pinned by constraints/airflow-<version>.txt:
#   make test-compat             unit + system suites on the lowest supported Airflow (COMPAT_AIRFLOW)
#   make unit-3.2.2 system-3.3.1 one suite on one pinned version (any version with a constraints file)
COMPAT_AIRFLOW ?= 3.1.8
PIN_PYTHON := PYTHON=$(PYTHON) bash scripts/compat_env.sh

# Per-version deselects, for timing, not behaviour (see README "Airflow versions"): on 3.1 and 3.2, dag.test()
# starts a task 2-3 s after the run (3.3: about 1 s), so these tests' 0.8-1.5 s operations are already done
# when the task first looks.
SLOW_DAG_TEST := \
	--deselect tests/operators/test_cancel.py::test_finished_anyway \
	--deselect "tests/sensors/test_operation_sensor.py::test_waits_until_the_operation_succeeds[deferrable]"
DESELECT_3.1.8 := $(SLOW_DAG_TEST) \
	--deselect tests/operators/test_cancel.py::test_finished_anyway_with_a_failure_reports_its_error
DESELECT_3.2.2 := $(SLOW_DAG_TEST) \
	--deselect tests/example_dags/test_example_dags.py::test_every_example_dag_end_to_end_against_the_emulator

compat-venv:
	$(PIN_PYTHON) $(COMPAT_AIRFLOW) .venv-$(COMPAT_AIRFLOW)

test-compat: unit-$(COMPAT_AIRFLOW) system-$(COMPAT_AIRFLOW)

unit-%:
	$(PIN_PYTHON) $* .venv-$*
	.venv-$*/bin/pytest -q -p no:cacheprovider $(DESELECT_$*)

system-%: chromium
	$(PIN_PYTHON) $* .venv-$*
	.venv-$*/bin/pytest -q -m system tests/system -p no:cacheprovider

emulator: $(STAMP)
	$(PY) -m airflow_provider_gcp_ops.emulator --host 127.0.0.1 --port $${PORT:-8765}

.PHONY: demo
demo: $(STAMP)
	$(PY) scripts/demo.py

bench-emulator: $(STAMP)
	$(PY) bench/emulator_bench.py

# Ratios against a peer measured in the same run (the machine is noisy); prints one table, writes bench/results/.
bench: $(STAMP)
	$(PY) bench/run_all.py

chaos: $(STAMP)
	$(PY) bench/chaos.py

hostile: $(STAMP)  # every verb of both clients against misbehaving servers: seconds vs deadline, RSS
	$(PY) bench/hostile.py

clean:
	rm -rf $(VENV) .venv-[0-9]* .pytest_cache .mypy_cache .ruff_cache .hypothesis bench/results
