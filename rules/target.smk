# Stage 2: expression table -> degradation target per reporter.


rule compute_target:
    input:
        rules.normalize_expression.output[0],
    output:
        L("data", "target.tsv"),
    log:
        L("logs", "compute_target.log"),
    benchmark:
        L("benchmarks", "compute_target.tsv")
    conda:
        "../envs/core.yaml"
    resources:
        mem_mb=sized(config, "compute_target", "mem_mb"),
        runtime=sized(config, "compute_target", "runtime"),
    params:
        target=config["target"],
    script:
        "../scripts/compute_target.py"


# Per reporter of the split, the variance of its target over resamples of its reads (decaylm/noise.py,
# with the noise ceiling's dispersion fit): what a model with `weighting: reads` weights its training
# loss by (docs/training.md). Only such models ask for it; `table` data has no reads (refused at start-up).
rule target_variance:
    input:
        counts=lambda wildcards: raw_counts(data_of(wildcards)),
        sequences=lambda wildcards: raw_sequences(data_of(wildcards)),
        split=L("data", "split.tsv"),
    output:
        L("data", "target_variance.tsv"),
    log:
        L("logs", "target_variance.log"),
    benchmark:
        L("benchmarks", "target_variance.tsv")
    conda:
        "../envs/core.yaml"
    resources:
        mem_mb=sized(config, "target_variance", "mem_mb"),
        runtime=sized(config, "target_variance", "runtime"),
    params:
        data=data_of,
        target=config["target"],
        evaluate=config["evaluate"],
    script:
        "../scripts/target_variance.py"
