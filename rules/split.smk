# Stage 3: target -> seeded train/valid/test split, overlapping reporters kept together.


rule split_data:
    input:
        R("data", "target.tsv"),
    output:
        R("data", "split.tsv"),
    params:
        split=config["split"],
    log:
        R("logs", "split_data.log"),
    benchmark:
        R("benchmarks", "split_data.tsv")
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/core.yaml"
    script:
        "../scripts/split_data.py"
