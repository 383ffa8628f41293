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
        mem_mb=1000,
        runtime=5,
    params:
        target=config["target"],
    script:
        "../scripts/compute_target.py"
