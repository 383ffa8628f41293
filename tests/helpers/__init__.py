"""What the tests are built from. Test modules import from here, never from each other or from
conftest.py (which holds the fixtures only, each a few lines over these helpers).

- paths: the repository, config/tiny.yaml and the real UTR-seq data beside it.
- data: small input files (random sequences, UTR-seq folders, the table source, two libraries).
- configs: config.yaml with layers on top, the minimal config, configs of chosen models or two
  libraries, and `workflow_config`, the workflow's start-up config check run in-process.
- snakemake: the one way tests run Snakemake, in the foreground or in the background.
- pipeline_runs: the whole pipeline runs that the session starts in the background (tiny_run, ...).
- malformed: the catalogue of malformed inputs that tests/test_bad_input.py checks.
- models: splits with a planted signal, training through a job's entry point, a tiny local stand-in
  for a hub checkpoint, one small model folder of every kind.
- slurm_cluster: a real one-node SLURM cluster for tests/test_slurm.py.
- tokenizers, simulate: the shared data of the tokenizer and simulator tests.

Where a module's tests live: tests/test_<name>.py, where <name> is the module's file name
(decaylm/io.py -> test_io.py, decaylm/models/bert.py -> test_bert.py). A module of a sub-package
whose file name alone says little or is used twice (specs, registry, common, jobs, train, stats, and
every module of interpret/ and simulate/) is prefixed with its package in the singular:
decaylm/models/registry.py -> test_model_registry.py, decaylm/tokenizers/train.py ->
test_tokenizer_train.py, decaylm/interpret/motifs.py -> test_interpret_motifs.py. A file named after
a package or a behaviour tests the pieces together: test_interpret.py (the interpret stage),
test_model_contract.py (every kind's folder), test_pipeline.py, test_reliability.py, test_bad_input.py.
"""
