# decaylm: `make run` runs the pipeline on the default config, `make test` runs the tests.
# Both create .venv and install the pinned requirements (and graphviz) when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CORES ?= all
SNAKEMAKE := $(BIN)/snakemake
RESULTS ?= results

.PHONY: run test setup system-deps lint dag report slurm slurm-gpu bench gpu-check clean

$(BIN)/activate: requirements.txt pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(BIN)/activate

setup: $(BIN)/activate

# Debian packages: graphviz draws the DAG pictures; slurmctld, slurmd, slurm-client and munge
# run the one-node cluster of tests/test_slurm.py. Installed quietly, only the missing ones and
# only as root (CI and here); without root a missing graphviz is an error and a missing Slurm
# only skips the SLURM test. Each package is detected by one of its programs.
SYSTEM_PACKAGES := graphviz:dot slurmctld:/usr/sbin/slurmctld slurmd:/usr/sbin/slurmd \
	slurm-client:sbatch munge:/usr/sbin/munged
system-deps:
	@missing=; for pair in $(SYSTEM_PACKAGES); do \
	  command -v "$${pair#*:}" >/dev/null 2>&1 || missing="$$missing $${pair%%:*}"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  log=$$(mktemp); if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends $$missing; } >$$log 2>&1; then \
	    cat $$log; rm -f $$log; exit 1; fi; rm -f $$log; \
	elif echo "$$missing" | grep -qw graphviz; then \
	  echo "graphviz missing: install it (sudo apt-get install graphviz)"; exit 1; \
	else echo "Not installed:$$missing (sudo make system-deps): the SLURM test is skipped"; fi

run: setup
	$(SNAKEMAKE) --cores $(CORES) --profile profiles/default

test: setup system-deps
	$(BIN)/python -m pytest -q --durations=20 tests

# On a machine with an NVIDIA GPU: every neural kind trains, predicts and runs ISM there (docs/gpu.md);
# without CUDA it stops in one line.
gpu-check: setup
	$(BIN)/python benchmarks/gpu_check.py $(GPU_CHECK_ARGS)

lint: setup
	$(SNAKEMAKE) --lint
	$(BIN)/ruff check .
	$(BIN)/snakefmt --check -l 120 Snakefile rules

dag: setup system-deps
	mkdir -p $(RESULTS)
	$(SNAKEMAKE) --dag | dot -Tsvg > $(RESULTS)/dag.svg
	$(SNAKEMAKE) --rulegraph | dot -Tsvg > $(RESULTS)/rulegraph.svg

report: setup
	$(SNAKEMAKE) --cores $(CORES) --profile profiles/default
	$(SNAKEMAKE) --report $(RESULTS)/report.html

# A SLURM cluster (docs/slurm.md): `decaylm slurm-run` checks first that every job fits its partition
# (sinfo; one line per rule that does not, with the override), then runs Snakemake and stops it in
# one line if a job pends for a reason no wait resolves; Ctrl-C cancels the run's jobs. More
# Snakemake arguments in SLURM_ARGS, e.g. `make slurm SLURM_ARGS="--configfile my.yaml"`.
# profiles/slurm only: without `--workflow-profile none`, Snakemake would add profiles/default
# (local runs) on top.
SLURM_ARGS ?=
slurm: setup
	$(BIN)/decaylm slurm-run --profile profiles/slurm --workflow-profile none $(SLURM_ARGS)

# A cluster with GPUs: profiles/slurm-gpu, given after profiles/slurm, gives each training job one
# GPU (sbatch --gpus=1). Set its GPU partition first if GPUs have their own (docs/slurm.md).
slurm-gpu: setup
	$(BIN)/decaylm slurm-run --profile profiles/slurm --profile profiles/slurm-gpu --workflow-profile none $(SLURM_ARGS)

bench: setup
	$(BIN)/python benchmarks/bench_pipeline.py

clean:
	rm -rf $(RESULTS) .snakemake
