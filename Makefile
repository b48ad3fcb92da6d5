# One set of scripts for people and CI: .ci/run calls these targets verbatim.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The console's stream players (hls.js, dash.js): npm ci from package-lock.json into
# node_modules/, which reelflow serves at /console/players/ (REELFLOW_PLAYER_DIR elsewhere).
PLAYERS := node_modules/.installed

.PHONY: demo test check players bench bench-ladder bench-chain bench-overhead bench-api bench-notify bench-upload bench-cluster bench-bounds bench-depth bench-chunked chaos clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,s3]'
	touch $(STAMP)

$(PLAYERS): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --ignore-scripts --no-audit --no-fund && touch $(PLAYERS); \
	else \
		echo "npm not found: the console's stream players (hls.js, dash.js) are not installed;"; \
		echo "everything else works. Install npm (e.g. apt-get install npm), then: make players"; \
	fi

players: $(PLAYERS)

demo: $(STAMP) $(PLAYERS)
	$(BIN)/reelflow demo

test: $(STAMP) $(PLAYERS)
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

# Quality scoring: overhead on the default workflow, subsampled vs full VMAF (issue 18);
# part (2): per-title vs the fixed 4-rung ladder (bench/pertitle_bench.py).
bench-quality: $(STAMP)
	$(BIN)/python bench/quality_bench.py
	$(BIN)/python bench/pertitle_bench.py

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

# Issue 19: CPU per task, cluster (fused jobs) vs embedded; one long source chunked on 2
# workers vs 1; a model for 4-16 workers. PostgreSQL at 127.0.0.1:5432 and Redis; long
# (bench/README.md gives shorter runs).
bench-chunked: $(STAMP)
	$(BIN)/python bench/chunked_bench.py

# Dependency outages against a real cluster (PostgreSQL, Redis, RabbitMQ, moto); ~10 minutes.
chaos: $(STAMP)
	$(BIN)/python bench/chaos_bench.py

clean:
	rm -rf $(VENV) node_modules demo-output .pytest_cache .mypy_cache .ruff_cache .import_linter_cache .grimp_cache
