# Stage 8 (optional): what each model learned (decaylm/interpret, docs/interpretation.md). Config key
# `interpret`; on when interpret.models is not empty. Per model of interpret.models that is configured:
# interpret/{model}/ with attributions.npz (ISM for every kind; gradient x input for one-hot
# differentiable ones), motifs.tsv and motifs.meme (modisco-lite, TOMTOM against the known elements),
# logos.png, effects.tsv and positional.png (insertion into shuffled test reporters by position).
# Then interpret/elements.tsv and elements.png: the model x element table of insertion effects; a
# model not configured, or that did not run, has a row with the reason.


rule interpret_model:
    input:
        runs=lambda wildcards: predict_model_inputs(wildcards),
        split=R("data", "split.tsv"),
    output:
        attributions=R("interpret", "{model}", "attributions.npz"),
        motifs=report(
            R("interpret", "{model}", "motifs.tsv"),
            caption="../report/interpret_motifs.rst",
            category="Interpretation",
            subcategory="{model}",
        ),
        meme=R("interpret", "{model}", "motifs.meme"),
        effects=R("interpret", "{model}", "effects.tsv"),
        logos=report(
            R("interpret", "{model}", "logos.png"),
            caption="../report/interpret_logos.rst",
            category="Interpretation",
            subcategory="{model}",
        ),
        positional=report(
            R("interpret", "{model}", "positional.png"),
            caption="../report/interpret_positional.rst",
            category="Interpretation",
            subcategory="{model}",
        ),
    log:
        R("logs", "interpret", "{model}.log"),
    benchmark:
        R("benchmarks", "interpret", "{model}.tsv")
    wildcard_constraints:
        model=name_regex(INTERPRET_MODELS),
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=sized(config, "interpret_model", "mem_mb"),
        runtime=sized(config, "interpret_model", "runtime"),
    params:
        settings=INTERPRET_SETTINGS,
    script:
        "../scripts/interpret_model.py"


rule interpret_elements:
    input:
        runs=expand(R("models", "{model}", "run.json"), model=INTERPRET_MODELS),
        motifs=expand(rules.interpret_model.output.motifs, model=INTERPRET_MODELS),
        split=R("data", "split.tsv"),
    output:
        table=report(
            R("interpret", "elements.tsv"), caption="../report/interpret_elements.rst", category="Interpretation"
        ),
        heatmap=report(
            R("interpret", "elements.png"), caption="../report/interpret_heatmap.rst", category="Interpretation"
        ),
    log:
        R("logs", "interpret", "elements.log"),
    benchmark:
        R("benchmarks", "interpret", "elements.tsv")
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=sized(config, "interpret_elements", "mem_mb"),
        runtime=sized(config, "interpret_elements", "runtime"),
    params:
        models=INTERPRET_MODELS,
        unavailable=INTERPRET_UNAVAILABLE,
        settings=INTERPRET_SETTINGS,
    script:
        "../scripts/interpret_elements.py"
