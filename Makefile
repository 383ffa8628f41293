# decaylm: `make run` runs the pipeline on the default config, `make test` runs the tests.
# Both create .venv and install the pinned requirements (and graphviz) when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORES ?= all
SNAKEMAKE := $(BIN)/snakemake
RESULTS ?= results

.PHONY: run test setup system-deps lint dag report slurm bench clean

$(BIN)/activate: requirements.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $(BIN)/activate

setup: $(BIN)/activate

# graphviz draws the DAG pictures; installed from Debian when missing (root on CI and here).
system-deps:
	@command -v dot >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null; \
	  else echo "graphviz missing: install it (sudo apt-get install graphviz)"; exit 1; fi; }

run: setup
	$(SNAKEMAKE) --cores $(CORES) --profile profiles/default

test: setup system-deps
	$(BIN)/python -m pytest -q tests

lint: setup
	$(SNAKEMAKE) --lint

dag: setup system-deps
	mkdir -p $(RESULTS)
	$(SNAKEMAKE) --dag | dot -Tsvg > $(RESULTS)/dag.svg
	$(SNAKEMAKE) --rulegraph | dot -Tsvg > $(RESULTS)/rulegraph.svg

report: setup
	$(SNAKEMAKE) --cores $(CORES) --profile profiles/default
	$(SNAKEMAKE) --report $(RESULTS)/report.html

slurm: setup
	$(SNAKEMAKE) --profile profiles/slurm

bench: setup
	$(BIN)/python benchmarks/bench_pipeline.py

clean:
	rm -rf $(RESULTS) .snakemake
