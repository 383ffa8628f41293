# Stage 3: target -> seeded train/valid/test split, overlapping reporters kept together; or, with
# split.method: file, the parts of a split file (a published benchmark split; docs/splits.md).


from decaylm.split import job_params as split_params


rule split_data:
    input:
        R("data", "target.tsv"),
        # the split file is an input: editing it re-runs this job and what depends on split.tsv only
        split_file=[config["split"]["file"]] if config["split"]["method"] == "file" else [],
    output:
        R("data", "split.tsv"),
    params:
        split=split_params(config["split"]),  # only the keys the method uses
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
