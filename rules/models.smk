# Stage 5: one training job per model in config; each writes predictions and a run record.
# No rule asks for a GPU: neural jobs use one when the job has one, else train on the CPU. On a
# SLURM cluster with GPUs, profiles/slurm-gpu requests one per training job (docs/slurm.md).
# One thread per job: these small models gain little from more, and on a busy machine PyTorch's
# spinning threads slow a job many times over; several jobs in parallel use the cores better.
# Give big models more with `--set-threads train_bert=8` (on SLURM, the job then asks for 8 CPUs). Memory and
# time: decaylm/resources.py, from measurement (the template's `sized` sizes every kind; docs/slurm.md).


# The template of every training job; each kind's rule below (named in decaylm.models.registry)
# says which models it trains and what differs: extra inputs, resources. Its own constraint
# matches no model, so the template never runs a job itself.
rule train_model:
    input:
        split=split_of,
    output:
        predictions=L("models", "{model}", "predictions.tsv"),
        run=L("models", "{model}", "run.json"),
    log:
        L("logs", "train", "{model}.log"),
    benchmark:
        L("benchmarks", "train", "{model}.tsv")
    wildcard_constraints:
        model="(?!)",
    priority: TRAINING_PRIORITY
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=sized(config, "train_model", "mem_mb"),
        runtime=sized(config, "train_model", "runtime"),
    params:
        spec=model_spec,
        seed=model_seed,
    script:
        "../scripts/train_model.py"


use rule train_model as train_kmer_ridge with:
    wildcard_constraints:
        model=trained_by(config, "train_kmer_ridge"),


use rule train_model as train_cnn with:
    input:
        split=split_of,
        expression=rules.normalize_expression.output[0],  # auxiliary targets (aux_hours), when a model asks for them
        aux_libraries=aux_library_splits,  # other libraries' targets (aux_libraries), when a model asks for them
        variance=target_variance_of,  # the target's sampling variance (weighting: reads), when a model asks for it
    wildcard_constraints:
        model=trained_by(config, "train_cnn"),


use rule train_model as train_bert with:
    input:
        split=split_of,
        tokenizer=tokenizer_of,
        pretrained=pretrained_of,
        expression=rules.normalize_expression.output[0],
        aux_libraries=aux_library_splits,
        variance=target_variance_of,
    wildcard_constraints:
        model=trained_by(config, "train_bert"),


use rule train_model as finetune_pretrained with:
    wildcard_constraints:
        model=trained_by(config, "finetune_pretrained"),


rule pretrain_mlm:
    input:
        split=split_of,
        tokenizer=lambda wildcards: R(
            "tokenizers", on_fold_of(pretraining_spec(wildcards)["tokenizer"], wildcards.pretraining), "tokenizer.json"
        ),
    output:
        R("pretrained", "{pretraining}", "config.json"),
    log:
        R("logs", "pretrain_mlm", "{pretraining}.log"),
    benchmark:
        R("benchmarks", "pretrain_mlm", "{pretraining}.tsv")
    wildcard_constraints:
        pretraining=name_regex(per_fold(config["pretraining"])),
    priority: TRAINING_PRIORITY
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=sized(config, "pretrain_mlm", "mem_mb"),
        runtime=sized(config, "pretrain_mlm", "runtime"),
    params:
        spec=pretraining_spec,
        seed=lambda wildcards: pretraining_spec(wildcards).get("seed", config["seed"]),
    script:
        "../scripts/pretrain_mlm.py"


# The mean of its members. `members: auto` arrives here as the list of candidates (decaylm.config):
# the job chooses among them on valid only and records every combination in selection.tsv.
rule ensemble_models:
    input:
        members=lambda wildcards: [
            predictions_of(on_fold_of(m, wildcards.model), wildcards) for m in model_spec(wildcards)["members"]
        ],
    output:
        predictions=L("models", "{model}", "predictions.tsv"),
        run=L("models", "{model}", "run.json"),
        selection=L("models", "{model}", "selection.tsv"),
    log:
        L("logs", "train", "{model}.log"),
    benchmark:
        L("benchmarks", "train", "{model}.tsv")
    wildcard_constraints:
        model=name_regex(units_of_kind(config, "ensemble")),
    conda:
        "../envs/core.yaml"
    resources:
        mem_mb=sized(config, "ensemble_models", "mem_mb"),
        runtime=sized(config, "ensemble_models", "runtime"),
    params:
        spec=model_spec,
        seed=model_seed,
        repo=REPO,
    script:
        "../scripts/ensemble_models.py"


rule combine_repeats:
    input:
        predictions=lambda wildcards: repeat_files(wildcards.model, "predictions.tsv"),
        runs=lambda wildcards: repeat_files(wildcards.model, "run.json"),
    output:
        predictions=R("models", "{model}", "predictions.tsv"),
        run=R("models", "{model}", "run.json"),
        repeats=R("models", "{model}", "repeats.tsv"),
    log:
        R("logs", "train", "{model}.log"),
    benchmark:
        R("benchmarks", "train", "{model}.tsv")
    wildcard_constraints:
        model=name_regex(REPEATED),
    conda:
        "../envs/core.yaml"
    resources:
        mem_mb=sized(config, "combine_repeats", "mem_mb"),
        runtime=sized(config, "combine_repeats", "runtime"),
    script:
        "../scripts/combine_repeats.py"


rule repeat_ensemble:
    input:
        predictions=lambda wildcards: predictions_of(config["models"][wildcards.model]["of"]),
        run=lambda wildcards: R("models", config["models"][wildcards.model]["of"], "run.json"),
    output:
        predictions=R("models", "{model}", "predictions.tsv"),
        run=R("models", "{model}", "run.json"),
    log:
        R("logs", "train", "{model}.log"),
    benchmark:
        R("benchmarks", "train", "{model}.tsv")
    wildcard_constraints:
        model=name_regex(models_of_kind(config, "repeat_ensemble")),
    conda:
        "../envs/core.yaml"
    resources:
        mem_mb=sized(config, "repeat_ensemble", "mem_mb"),
        runtime=sized(config, "repeat_ensemble", "runtime"),
    script:
        "../scripts/repeat_ensemble.py"


rule pool_folds:
    input:
        predictions=lambda wildcards: fold_files(wildcards.model, "predictions.tsv"),
        runs=lambda wildcards: fold_files(wildcards.model, "run.json"),
    output:
        predictions=R("models", "{model}", "predictions.tsv"),
        run=R("models", "{model}", "run.json"),
        folds=R("models", "{model}", "folds.tsv"),
    log:
        R("logs", "train", "{model}.log"),
    benchmark:
        R("benchmarks", "train", "{model}.tsv")
    wildcard_constraints:
        model=name_regex(config["models"] if FOLDS else []),
    conda:
        "../envs/core.yaml"
    resources:
        mem_mb=sized(config, "pool_folds", "mem_mb"),
        runtime=sized(config, "pool_folds", "runtime"),
    script:
        "../scripts/pool_folds.py"
