# One set of scripts for people and CI: .ci/run calls these targets verbatim.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test check bench bench-ladder bench-chain bench-overhead bench-api bench-notify bench-upload bench-cluster bench-bounds bench-depth chaos clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,s3]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/reelflow demo

test: $(STAMP)
	$(BIN)/pytest -q

check: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python bench/process_bench.py
	$(BIN)/python bench/chain_bench.py
	$(BIN)/python bench/ladder_bench.py

bench-ladder: $(STAMP)
	$(BIN)/python bench/ladder_bench.py

bench-chain: $(STAMP)
	$(BIN)/python bench/chain_bench.py

bench-overhead: $(STAMP)
	$(BIN)/python bench/task_overhead_bench.py

bench-api: $(STAMP)
	$(BIN)/python bench/api_bench.py

bench-notify: $(STAMP)
	$(BIN)/python bench/notify_bench.py

bench-upload: $(STAMP)
	$(BIN)/python bench/upload_bench.py

bench-cluster: $(STAMP)
	$(BIN)/python bench/cluster_bench.py

bench-bounds: $(STAMP)
	$(BIN)/python bench/input_bounds_bench.py

# The scheduler at depth (issue 21): SQLite and PostgreSQL at 127.0.0.1:5432; --quick for a shared machine.
bench-depth: $(STAMP)
	$(BIN)/python bench/depth_bench.py

# Dependency outages against a real cluster (PostgreSQL, Redis, RabbitMQ, moto); ~10 minutes.
chaos: $(STAMP)
	$(BIN)/python bench/chaos_bench.py

clean:
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache .import_linter_cache .grimp_cache
