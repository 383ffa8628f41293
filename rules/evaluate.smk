# Stage 6: held-out metrics per model, the comparison table, figures and provenance.


rule evaluate_model:
    input:
        predictions=L("models", "{model}", "predictions.tsv"),
        run=L("models", "{model}", "run.json"),
        truth=truth_file(),
        repeats=lambda wildcards: repeat_files(wildcards.model, "predictions.tsv"),  # its metrics: the repeats' mean
    output:
        metrics=L("models", "{model}", "metrics.json"),
        figure=report(
            L("models", "{model}", "pred_vs_measured.png"),
            caption="../report/pred_vs_measured.rst",
            category="Predictions",
            subcategory="{model}",
        ),
    log:
        L("logs", "evaluate", "{model}.log"),
    benchmark:
        L("benchmarks", "evaluate", "{model}.tsv")
    wildcard_constraints:
        model=name_regex(config["models"]),
    conda:
        "../envs/core.yaml"
    resources:
        mem_mb=sized(config, "evaluate_model", "mem_mb"),
        runtime=sized(config, "evaluate_model", "runtime"),
    params:
        target=config["target"],  # what the simulator's truth is compared as (r2_truth)
    script:
        "../scripts/evaluate_model.py"


rule noise_ceiling:
    input:
        # the reads and the split's test reporters
        unpack(raw_reads),
        split=scored_split(),
    output:
        report(L("noise_ceiling.json"), caption="../report/noise_ceiling.rst", category="Comparison"),
    log:
        L("logs", "noise_ceiling.log"),
    benchmark:
        L("benchmarks", "noise_ceiling.tsv")
    conda:
        "../envs/core.yaml"
    resources:
        mem_mb=sized(config, "noise_ceiling", "mem_mb"),
        runtime=sized(config, "noise_ceiling", "runtime"),
    params:
        data=data_of,
        target=config["target"],
        evaluate=config["evaluate"],
    script:
        "../scripts/noise_ceiling.py"


rule compare_models:
    input:
        # the reads, to bin the test reporters by depth
        unpack(raw_reads),
        metrics=expand(L("models", "{model}", "metrics.json"), model=sorted(config["models"]), allow_missing=True),
        predictions=expand(
            L("models", "{model}", "predictions.tsv"), model=sorted(config["models"]), allow_missing=True
        ),
        repeats=[path for model in sorted(REPEATED) for path in repeat_files(model, "predictions.tsv")],
        split=scored_split(),
        ceiling=L("noise_ceiling.json"),
    output:
        table=report(L("comparison.tsv"), caption="../report/comparison.rst", category="Comparison"),
        markdown=L("comparison.md"),
        panel=report(
            L("figures", "pred_vs_measured.png"), caption="../report/pred_vs_measured_panel.rst", category="Comparison"
        ),
        intervals=report(L("figures", "r2_intervals.png"), caption="../report/r2_intervals.rst", category="Comparison"),
        depth=L("r2_by_depth.tsv"),
        depth_figure=report(L("figures", "r2_by_depth.png"), caption="../report/r2_by_depth.rst", category="Comparison"),
    log:
        L("logs", "compare_models.log"),
    benchmark:
        L("benchmarks", "compare_models.tsv")
    conda:
        "../envs/core.yaml"
    resources:
        mem_mb=sized(config, "compare_models", "mem_mb"),
        runtime=sized(config, "compare_models", "runtime"),
    params:
        evaluate={key: config["evaluate"][key] for key in ("bootstrap", "seed")},
        repeats={model: repeat_files(model, "predictions.tsv") for model in REPEATED},
        data=data_of,
        target=config["target"],
    script:
        "../scripts/compare_models.py"


if LIBRARIES:

    # The libraries side by side: each model's test R2 per library, and per library its reporters,
    # target and (kinetic targets) how many onsets are determined.
    rule compare_libraries:
        input:
            comparisons=expand(rules.compare_models.output.table, library=LIBRARIES),
            targets=expand(rules.compute_target.output[0], library=LIBRARIES),
            splits=expand(rules.library_split.output[0], library=LIBRARIES),
        output:
            table=report(R("libraries.tsv"), caption="../report/libraries.rst", category="Comparison"),
            markdown=R("libraries.md"),
        log:
            R("logs", "compare_libraries.log"),
        benchmark:
            R("benchmarks", "compare_libraries.tsv")
        conda:
            "../envs/core.yaml"
        resources:
            mem_mb=sized(config, "compare_libraries", "mem_mb"),
            runtime=sized(config, "compare_libraries", "runtime"),
        params:
            libraries=LIBRARIES,
        script:
            "../scripts/compare_libraries.py"


rule provenance:
    output:
        report(R("provenance.json"), caption="../report/provenance.rst", category="Provenance"),
    log:
        R("logs", "provenance.log"),
    benchmark:
        R("benchmarks", "provenance.tsv")
    conda:
        "../envs/core.yaml"
    resources:
        mem_mb=sized(config, "provenance", "mem_mb"),
        runtime=sized(config, "provenance", "runtime"),
    params:
        config=config,
        repo=REPO,
    script:
        "../scripts/provenance.py"
