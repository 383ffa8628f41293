# Grouped K-fold cross-validation (split.folds: K > 1; decaylm/folds.py): the overlap groups of
# split.tsv dealt into K folds; fold k's split has fold k as test. Everything trained downstream
# runs per fold (NAME/fold{k}), and pool_folds (rules/models.smk) gathers the out-of-fold predictions.


rule split_folds:
    input:
        rules.split_data.output[0],
    output:
        folds=[R("data", "folds", fold, "split.tsv") for fold in FOLDS],
        pooled=R("data", "folds", "pooled.tsv"),
    log:
        R("logs", "split_folds.log"),
    benchmark:
        R("benchmarks", "split_folds.tsv")
    conda:
        "../envs/core.yaml"
    resources:
        mem_mb=sized(config, "split_folds", "mem_mb"),
        runtime=sized(config, "split_folds", "runtime"),
    params:
        folds=len(FOLDS),
        fractions=config["split"]["fractions"],
        seed=config["split"]["seed"],
    script:
        "../scripts/split_folds.py"
