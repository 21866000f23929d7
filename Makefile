# roi — `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# pytest-xdist workers for the suite (one per core); tests of one xdist_group share a worker
TEST_WORKERS ?= auto
# $(call pytest_parallel,N): N workers, handing out work by xdist_group
pytest_parallel = -n $(1) --dist loadgroup
# On PostgreSQL a worker waits on the server for each statement, and one worker per core left
# the cores idle in those waits: one more worker than cores keeps them busy (the PostgreSQL run
# took 229 s against 266 s with one per core, back to back on 2 cores; on SQLite, where nothing
# waits, a third worker gained nothing). An explicit TEST_WORKERS holds for both runs.
POSTGRES_TEST_WORKERS ?= $(if $(filter auto,$(TEST_WORKERS)),$(shell echo $$(( $$(nproc) + 1 ))),$(TEST_WORKERS))
export ROI_INSTANCE_PATH ?= $(CURDIR)/instance
# Python writes the bytecode of what it imports (into the checkout and the venv, both ignored by
# git) even where the environment says not to: the install skips compiling every package, so
# without it each of the suite's processes — pytest's workers, both databases' runs, every
# command and server a test starts — compiled each module it imports again (roi.cli: 2.7 s
# against 1.2 s) and pytest rewrote every test module's asserts again.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: help run test test-sqlite test-postgres lint fmt bench clean-venv catalogue constraints

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(BIN)/roi: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e .
	@touch $@

# roi and its development tools in one install: one resolution and one build of roi, not two
$(VENV)/.dev: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@# no byte-compiling of every installed package: Python compiles what the suite imports
	$(BIN)/pip install --quiet --no-compile -c constraints.txt -e '.[dev]'
	@touch $(BIN)/roi $@

# the newest release of every dependency within pyproject.toml's ranges, pinned for the next
# installs; run the suite before committing the new constraints.txt
constraints: $(VENV)/.dev  ## Upgrade every dependency to its newest release and pin it
	$(BIN)/pip install --quiet --no-compile --upgrade --upgrade-strategy eager -e '.[dev]'
	{ sed -n '/^#/p' constraints.txt; $(BIN)/pip freeze --exclude-editable; } > constraints.new
	mv constraints.new constraints.txt
	@touch $(BIN)/roi $(VENV)/.dev

run: $(BIN)/roi  ## Install, initialize, seed the demo on an empty instance, serve on :8000 with a mail worker
	$(BIN)/roi init
	$(BIN)/roi demo --if-empty
	@if [ -f "$(ROI_INSTANCE_PATH)/demo_accounts.txt" ]; then \
	  echo; echo "Demo accounts (role, email, password):"; cat "$(ROI_INSTANCE_PATH)/demo_accounts.txt"; \
	  echo "Staff set up an authenticator app (second factor) at their first sign-in."; echo; fi
	@# the worker delivers the outbox beside the web server, and stops with it
	@$(BIN)/roi worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  $(BIN)/roi serve --host 127.0.0.1 --port $(PORT)

# PostgreSQL starts and makes its fresh database while the SQLite run goes on, and the linters
# run beside the PostgreSQL run (their output shown after it): waits that overlap, not add up.
# What test-postgres.sh says is shown after the SQLite run: when an installed PostgreSQL cannot
# be used, its reason is the last line before the run fails.
test: $(VENV)/.dev  ## Run the suite on SQLite and PostgreSQL, and the linters
	@./scripts/system-packages.sh
	@./scripts/test-postgres.sh > $(VENV)/.test-postgres-url 2> $(VENV)/.test-postgres.log & \
	postgres=$$!; \
	$(MAKE) --no-print-directory test-sqlite || { wait $$postgres; exit 1; }; \
	wait $$postgres; ready=$$?; cat $(VENV)/.test-postgres.log >&2; [ $$ready -eq 0 ] || exit 1; \
	$(MAKE) --no-print-directory lint > $(VENV)/.lint.log 2>&1 & lint=$$!; \
	TEST_POSTGRES_URL="$$(cat $(VENV)/.test-postgres-url)" $(MAKE) --no-print-directory test-postgres; \
	tested=$$?; wait $$lint; linted=$$?; \
	echo "== linters"; cat $(VENV)/.lint.log; \
	[ $$tested -eq 0 ] && [ $$linted -eq 0 ]

test-sqlite: $(VENV)/.dev  ## Run the suite on SQLite only
	ROI_TEST_DATABASE_URL= $(BIN)/pytest -q $(call pytest_parallel,$(TEST_WORKERS)) $(PYTEST_ARGS)

test-postgres: $(VENV)/.dev  ## Run the suite on a fresh PostgreSQL database
	@url=$${TEST_POSTGRES_URL-$$(./scripts/test-postgres.sh)} || exit 1; \
	if [ -z "$$url" ]; then \
	  echo ""; echo "!!! PostgreSQL is not available: the suite ran on SQLite ONLY !!!"; echo ""; \
	else \
	  echo "running the suite on PostgreSQL (tests that reach no database, and the browser tests,"; \
	  echo "judge what both databases give alike: they run in test-sqlite only, tests/conftest.py)"; \
	  ROI_TEST_DATABASE_URL="$$url" $(BIN)/pytest -q $(call pytest_parallel,$(POSTGRES_TEST_WORKERS)) $(PYTEST_ARGS); \
	fi

catalogue: $(VENV)/.dev  ## Add newly marked strings to the Spanish catalogue (then translate them)
	BIN=$(BIN) ./scripts/catalogue.sh

lint: $(VENV)/.dev  ## ruff check + ruff format --check + import-linter + mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

fmt: $(VENV)/.dev  ## Format and fix what ruff can
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(VENV)/.dev  ## Run the benchmarks (ratios against a baseline measured in the same run)
	@# an installed PostgreSQL that cannot be used stops here, with its reason, as `make test` does
	@url=$$(ROI_TEST_DB_NAME=roi_bench ./scripts/test-postgres.sh) || exit 1; \
	[ -n "$$url" ] || echo "PostgreSQL is not available: the benchmarks run on SQLite only"; \
	failed=0; \
	for b in bench/*_bench.py; do \
	  echo "== $$b"; $(BIN)/python $$b $${url:+--database-url "$$url"} || failed=1; \
	done; \
	exit $$failed

clean-venv:  ## Remove the virtual environment
	rm -rf $(VENV)
