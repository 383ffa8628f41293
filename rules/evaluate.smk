# Stage 6: held-out metrics per model, the comparison table, figures and provenance.


rule evaluate_model:
    input:
        predictions=R("models", "{model}", "predictions.tsv"),
        run=R("models", "{model}", "run.json"),
        truth=truth_file(),
        repeats=lambda wildcards: repeat_files(wildcards.model, "predictions.tsv"),  # its metrics: the repeats' mean
    output:
        metrics=R("models", "{model}", "metrics.json"),
        figure=report(R("models", "{model}", "pred_vs_measured.png"), caption="../report/pred_vs_measured.rst",
                      category="Predictions", subcategory="{model}"),
    wildcard_constraints:
        model=name_regex(config["models"]),
    log:
        R("logs", "evaluate", "{model}.log"),
    benchmark:
        R("benchmarks", "evaluate", "{model}.tsv")
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/core.yaml"
    script:
        "../scripts/evaluate_model.py"


rule noise_ceiling:
    input:
        # the reads (none for `table` data: the ceiling is then "not computed") and the split's test reporters
        unpack(lambda wildcards: {} if SOURCE == "table" else {"counts": raw_counts(), "sequences": raw_sequences()}),
        split=scored_split(),
    output:
        report(R("noise_ceiling.json"), caption="../report/noise_ceiling.rst", category="Comparison"),
    params:
        data=config["data"],
        target=config["target"],
        evaluate=config["evaluate"],
    log:
        R("logs", "noise_ceiling.log"),
    benchmark:
        R("benchmarks", "noise_ceiling.tsv")
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/core.yaml"
    script:
        "../scripts/noise_ceiling.py"


rule compare_models:
    input:
        metrics=expand(R("models", "{model}", "metrics.json"), model=sorted(config["models"])),
        predictions=expand(R("models", "{model}", "predictions.tsv"), model=sorted(config["models"])),
        repeats=[path for model in sorted(REPEATED) for path in repeat_files(model, "predictions.tsv")],
        split=scored_split(),
        ceiling=R("noise_ceiling.json"),
    output:
        table=report(R("comparison.tsv"), caption="../report/comparison.rst", category="Comparison"),
        markdown=R("comparison.md"),
        panel=report(R("figures", "pred_vs_measured.png"), caption="../report/pred_vs_measured_panel.rst",
                     category="Comparison"),
        intervals=report(R("figures", "r2_intervals.png"), caption="../report/r2_intervals.rst",
                         category="Comparison"),
    params:
        evaluate={key: config["evaluate"][key] for key in ("bootstrap", "seed")},
        repeats={model: repeat_files(model, "predictions.tsv") for model in REPEATED},
    log:
        R("logs", "compare_models.log"),
    benchmark:
        R("benchmarks", "compare_models.tsv")
    resources:
        mem_mb=2000,
        runtime=5,
    conda:
        "../envs/core.yaml"
    script:
        "../scripts/compare_models.py"


rule provenance:
    output:
        report(R("provenance.json"), caption="../report/provenance.rst", category="Provenance"),
    params:
        config=config,
        repo=REPO,
    log:
        R("logs", "provenance.log"),
    benchmark:
        R("benchmarks", "provenance.tsv")
    resources:
        runtime=2,
    conda:
        "../envs/core.yaml"
    script:
        "../scripts/provenance.py"
