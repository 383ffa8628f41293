# Stage 4: one vocabulary per tokenizer, trained on the training split only; one stats table.


rule train_tokenizer:
    input:
        split=split_of,
    output:
        tokenizer=R("tokenizers", "{tokenizer}", "tokenizer.json"),
    log:
        R("logs", "train_tokenizer", "{tokenizer}.log"),
    benchmark:
        R("benchmarks", "train_tokenizer", "{tokenizer}.tsv")
    wildcard_constraints:
        tokenizer=name_regex(per_fold(config["tokenizers"])),
    priority: TRAINING_PRIORITY
    conda:
        "../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=sized(config, "train_tokenizer", "mem_mb"),
        runtime=sized(config, "train_tokenizer", "runtime"),
    params:
        spec=lambda wildcards: config["tokenizers"][base_model(wildcards.tokenizer)],
        seed=lambda wildcards: config["tokenizers"][base_model(wildcards.tokenizer)].get("seed", config["seed"]),
    script:
        "../scripts/train_tokenizer.py"


# Under cross-validation, the statistics are those of fold 1's vocabularies.
rule tokenizer_stats:
    input:
        split=R("data", "folds", "fold1", "split.tsv") if FOLDS else R("data", "split.tsv"),
        tokenizers=expand(
            R("tokenizers", "{tokenizer}", "tokenizer.json"),
            tokenizer=[f"{name}/fold1" if FOLDS else name for name in sorted(config["tokenizers"])],
        ),
    output:
        table=R("tokenizers", "stats.tsv"),
        figure=report(R("figures", "token_counts.png"), caption="../report/token_counts.rst", category="Tokenizers"),
    log:
        R("logs", "tokenizer_stats.log"),
    benchmark:
        R("benchmarks", "tokenizer_stats.tsv")
    conda:
        "../envs/torch.yaml"
    resources:
        mem_mb=sized(config, "tokenizer_stats", "mem_mb"),
        runtime=sized(config, "tokenizer_stats", "runtime"),
    params:
        names=sorted(config["tokenizers"]),  # in the order of input.tokenizers
    script:
        "../scripts/tokenizer_stats.py"
