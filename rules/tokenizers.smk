# Stage 4: one vocabulary per tokenizer, trained on the training split only; one stats table.


rule train_tokenizer:
    input:
        split=R("data", "split.tsv"),
    output:
        tokenizer=R("tokenizers", "{tokenizer}", "tokenizer.json"),
    wildcard_constraints:
        tokenizer=name_regex(config["tokenizers"]),
    params:
        spec=lambda wildcards: config["tokenizers"][wildcards.tokenizer],
        seed=lambda wildcards: config["tokenizers"][wildcards.tokenizer].get("seed", config["seed"]),
    log:
        R("logs", "train_tokenizer", "{tokenizer}.log"),
    benchmark:
        R("benchmarks", "train_tokenizer", "{tokenizer}.tsv")
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/train_tokenizer.py"


rule tokenizer_stats:
    input:
        split=R("data", "split.tsv"),
        tokenizers=expand(R("tokenizers", "{tokenizer}", "tokenizer.json"), tokenizer=sorted(config["tokenizers"])),
    output:
        table=R("tokenizers", "stats.tsv"),
        figure=report(R("figures", "token_counts.png"), caption="../report/token_counts.rst", category="Tokenizers"),
    log:
        R("logs", "tokenizer_stats.log"),
    benchmark:
        R("benchmarks", "tokenizer_stats.tsv")
    resources:
        mem_mb=4000,
        runtime=20,
    conda:
        "../envs/torch.yaml"
    script:
        "../scripts/tokenizer_stats.py"
