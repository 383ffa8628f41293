# decaylm: raw MPRA reads -> degradation target -> split -> tokenizers -> models -> comparison.
# Run: snakemake --cores 8 [--configfile my.yaml]; see README.md.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"


wildcard_constraints:
    library="|".join(sorted(LIBRARIES)) or "(?!)",


include: "rules/data.smk"
include: "rules/target.smk"
include: "rules/split.smk"
include: "rules/folds.smk"
include: "rules/tokenizers.smk"
include: "rules/models.smk"
include: "rules/evaluate.smk"
include: "rules/learning_curve.smk"
include: "rules/predict.smk"
include: "rules/interpret.smk"


# Rules of seconds of pandas or numpy run where Snakemake runs, not as cluster jobs: a queue wait
# and a status-check round per job would cost more than the work, and they sit on the path to the
# table (data preparation before every training job; scoring and combining after each). The
# cluster gets the tokenizers, pretraining, training, prediction and interpretation.
localrules:
    simulate_data,
    normalize_expression,
    compute_target,
    split_data,
    evaluate_model,
    ensemble_models,
    repeat_ensemble,
    combine_repeats,
    pool_folds,
    compare_models,
    provenance,


rule all:
    default_target: True
    input:
        final_outputs(),
