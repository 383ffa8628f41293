# Stage 3: target -> seeded train/valid/test split, overlapping reporters kept together; or, with
# split.method: file, the parts of a split file (a published benchmark split; docs/splits.md).


from decaylm.split import job_params as split_params

if LIBRARIES:

    # The reporters that passed the filters in every library, with each library's target (y: the first's).
    rule joint_targets:
        input:
            expand(rules.compute_target.output[0], library=LIBRARIES),
        output:
            R("data", "joint_targets.tsv"),
        log:
            R("logs", "joint_targets.log"),
        benchmark:
            R("benchmarks", "joint_targets.tsv")
        conda:
            "../envs/core.yaml"
        resources:
            mem_mb=sized(config, "joint_targets", "mem_mb"),
            runtime=sized(config, "joint_targets", "runtime"),
        params:
            libraries=LIBRARIES,
            sources={
                library: (
                    raw_counts(library_data(config, library))
                    if SOURCE != "table"
                    else library_data(config, library)["expression"]
                )
                for library in LIBRARIES
            },
        script:
            "../scripts/joint_targets.py"


rule split_data:
    input:
        # one library: its target table; several: the reporters of every library (joint_targets)
        rules.joint_targets.output[0] if LIBRARIES else rules.compute_target.output[0],
        # the split file is an input: editing it re-runs this job and what depends on split.tsv only
        split_file=[config["split"]["file"]] if config["split"]["method"] == "file" else [],
    output:
        R("data", "split.tsv"),
    log:
        R("logs", "split_data.log"),
    benchmark:
        R("benchmarks", "split_data.tsv")
    conda:
        "../envs/core.yaml"
    resources:
        mem_mb=sized(config, "split_data", "mem_mb"),
        runtime=sized(config, "split_data", "runtime"),
    params:
        split=split_params(config["split"]),  # only the keys the method uses
    script:
        "../scripts/split_data.py"


if LIBRARIES:

    # One library's split.tsv: the shared split's parts with that library's target.
    rule library_split:
        input:
            split=rules.split_data.output[0],
            target=rules.compute_target.output[0],
        output:
            L("data", "split.tsv"),
        log:
            L("logs", "library_split.log"),
        benchmark:
            L("benchmarks", "library_split.tsv")
        conda:
            "../envs/core.yaml"
        resources:
            mem_mb=sized(config, "library_split", "mem_mb"),
            runtime=sized(config, "library_split", "runtime"),
        script:
            "../scripts/library_split.py"
