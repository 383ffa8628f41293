# Stage 2: expression table -> degradation target per reporter.


rule compute_target:
    input:
        rules.normalize_expression.output[0],
    output:
        L("data", "target.tsv"),
    params:
        target=config["target"],
    log:
        L("logs", "compute_target.log"),
    benchmark:
        L("benchmarks", "compute_target.tsv")
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/core.yaml"
    script:
        "../scripts/compute_target.py"
