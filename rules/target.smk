# Stage 2: expression table -> degradation target per reporter.


rule compute_target:
    input:
        R("data", "expression.tsv"),
    output:
        R("data", "target.tsv"),
    params:
        target=config["target"],
    log:
        R("logs", "compute_target.log"),
    benchmark:
        R("benchmarks", "compute_target.tsv")
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/core.yaml"
    script:
        "../scripts/compute_target.py"
