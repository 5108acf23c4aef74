# Two commands on a fresh machine: `make demo` and `make test`. Everything is installed from
# the project's own files (pyproject.toml + uv.lock); uv itself is bootstrapped from PyPI.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION ?= 0.13.9
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/.venv
# installed packages carry their bytecode: every process (a run, a test's subprocess) starts
# seconds sooner, also where PYTHONDONTWRITEBYTECODE is set
export UV_COMPILE_BYTECODE := 1
export DAGSTER_HOME ?= $(CURDIR)/var/dagster
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)

.PHONY: env demo demo-reset dev sandbox test lint bench bench-scale bench-full clean

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv $(CURDIR)/.tools
	$(CURDIR)/.tools/bin/pip install --quiet "uv==$(UV_VERSION)"

env: $(UV)
	$(UV) sync --frozen

demo: env
	$(UV) run --frozen intercom-salesforce demo

demo-reset: env
	$(UV) run --frozen intercom-salesforce demo --reset

sandbox: env
	$(UV) run --frozen intercom-salesforce sandbox serve

dev: env
	mkdir -p $(DAGSTER_HOME) && cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	$(UV) run --frozen intercom-salesforce sandbox serve & SANDBOX_PID=$$!; \
	trap "kill $$SANDBOX_PID" EXIT; \
	$(UV) run --frozen dagster dev -h 127.0.0.1 -p 3000 -w workspace.yaml

# four workers (the long tests spend much of their time waiting on processes, daemons and the
# emulators, so four workers keep two cores busy), a work unit's tests on one worker (module
# fixtures are built once; the three modules that fork syncs share a worker and its fork server);
# units in the order tests/conftest.py gives them, the minutes-long ones first. Bytecode caches
# are written even where PYTHONDONTWRITEBYTECODE is set: without them every worker and every
# process a test starts compiles the package again, and each worker parses and rewrites the
# test modules' asserts again.
test: env
	PYTHONDONTWRITEBYTECODE= $(UV) run --frozen pytest -q -n 4 --dist loadscope --no-loadscope-reorder --durations=15

lint: env
	$(UV) run --frozen ruff check .

# the latency run (benchmarks/RESULTS.md, about 6 minutes), peak RSS and throughput of extraction (10k vs 100k contacts), the 100k mirror and the people
# push (10k vs 50k, about 14 minutes); the full 100k/10k/50k extraction with faults takes about
# 40 minutes: make bench-full
bench: env
	$(UV) run --frozen python benchmarks/throughput.py --shares 0.8,0.95 --write benchmarks/RESULTS.md
	$(UV) run --frozen python benchmarks/extract_contacts_rss.py
	$(UV) run --frozen python benchmarks/mirror_100k.py
	$(UV) run --frozen python benchmarks/push_people.py

# the scale run at 100,000 contacts (about 20 minutes; --contacts 1000000 is the full size)
bench-scale: env
	$(UV) run --frozen python benchmarks/scale.py --contacts 100000 --write benchmarks/RESULTS.md

bench-full: env
	$(UV) run --frozen python benchmarks/extract_full_faults.py --scale 1

clean:
	rm -rf var .venv .tools
