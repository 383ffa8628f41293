# Stage 7 (optional): score new sequences and full-length 3'UTRs with trained models, window by
# window (decaylm/predict.py), and draw each input's profile. Config key `predict`; on when
# predict.models and predict.sequences are both set. Per model and input: {name}.tsv (one row a
# window: id, start, end 1-based inclusive, the prediction, `{model}_sd` for ensembles),
# {name}.summary.tsv (per sequence: mean, lowest window), variants_{name}.tsv (ref and alt).


rule predict_sequences:
    input:
        runs=predict_model_inputs,
        sequences=lambda wildcards: predict_sequences_file(wildcards.name),
    output:
        windows=R("predict", "{model}", "{name}.tsv"),
        summary=R("predict", "{model}", "{name}.summary.tsv"),
    log:
        R("logs", "predict", "{model}", "{name}.log"),
    benchmark:
        R("benchmarks", "predict", "{model}", "{name}.tsv")
    wildcard_constraints:
        model=name_regex(PREDICT_MODELS),
        name=name_regex(PREDICT["sequences"]),
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=sized(config, "predict_sequences", "mem_mb"),
        runtime=sized(config, "predict_sequences", "runtime"),
    params:
        stride=PREDICT["stride"],
    script:
        "../scripts/predict.py"


rule predict_variants:
    input:
        runs=predict_model_inputs,
        sequences=lambda wildcards: predict_sequences_file(PREDICT["variants"][wildcards.name]["sequences"]),
        variants=lambda wildcards: PREDICT["variants"][wildcards.name]["file"],
    output:
        variants=R("predict", "{model}", "variants_{name}.tsv"),
    log:
        R("logs", "predict", "{model}", "variants_{name}.log"),
    benchmark:
        R("benchmarks", "predict", "{model}", "variants_{name}.tsv")
    wildcard_constraints:
        model=name_regex(PREDICT_MODELS),
        name=name_regex(PREDICT["variants"]),
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=sized(config, "predict_variants", "mem_mb"),
        runtime=sized(config, "predict_variants", "runtime"),
    script:
        "../scripts/predict.py"


rule plot_profiles:
    input:
        windows=expand(R("predict", "{model}", "{{name}}.tsv"), model=PREDICT_MODELS),
        sequences=lambda wildcards: predict_sequences_file(wildcards.name),
        elements=lambda wildcards: predict_elements_file(wildcards.name),
    output:
        report(
            R("predict", "{name}_profiles.png"),
            caption="../report/predict_profiles.rst",
            category="Predicted profiles",
            subcategory="{name}",
        ),
    log:
        R("logs", "plot_profiles", "{name}.log"),
    benchmark:
        R("benchmarks", "plot_profiles", "{name}.tsv")
    wildcard_constraints:
        name=name_regex(PREDICT["sequences"]),
    conda:
        "../envs/core.yaml"
    resources:
        mem_mb=sized(config, "plot_profiles", "mem_mb"),
        runtime=sized(config, "plot_profiles", "runtime"),
    script:
        "../scripts/plot_profiles.py"
