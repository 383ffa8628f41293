# Stage 6: held-out metrics per model, the comparison table, figures and provenance.


rule evaluate_model:
    input:
        predictions=R("models", "{model}", "predictions.tsv"),
        run=R("models", "{model}", "run.json"),
        truth=truth_file(),
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


rule compare_models:
    input:
        metrics=expand(R("models", "{model}", "metrics.json"), model=sorted(config["models"])),
        predictions=expand(R("models", "{model}", "predictions.tsv"), model=sorted(config["models"])),
    output:
        table=report(R("comparison.tsv"), caption="../report/comparison.rst", category="Comparison"),
        markdown=R("comparison.md"),
        panel=report(R("figures", "pred_vs_measured.png"), caption="../report/pred_vs_measured_panel.rst",
                     category="Comparison"),
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
