# Stage 1: raw data (simulated, downloaded or given) -> log2 spike-in-normalized expression table.


rule simulate_data:
    output:
        counts=R("data", "raw", "reporter_counts.txt"),
        sequences=R("data", "raw", "reporter_seq.txt"),
        truth=R("data", "raw", "truth.tsv"),
        long_utrs=R("data", "raw", "long_utrs.fa"),  # long 3'UTRs with planted elements (predict stage)
        long_truth=R("data", "raw", "long_utrs_truth.tsv"),
    log:
        R("logs", "simulate_data.log"),
    benchmark:
        R("benchmarks", "simulate_data.tsv")
    conda:
        "../envs/core.yaml"
    resources:
        mem_mb=sized(config, "simulate_data", "mem_mb"),
        runtime=sized(config, "simulate_data", "runtime"),
    params:
        sim=lambda wildcards: {
            "hours": config["data"]["hours"],
            "from_hour": config["target"]["from_hour"],
            "to_hour": config["target"]["to_hour"],
            **config["data"]["simulate"],
        },
    script:
        "../scripts/simulate.py"


if SOURCE == "utrseq" and config["data"]["download"]:

    rule download_utrseq:
        output:
            os.path.join(config["data"]["path"], "{file}.txt"),
        log:
            R("logs", "download_utrseq", "{file}.log"),
        benchmark:
            R("benchmarks", "download_utrseq", "{file}.tsv")
        wildcard_constraints:
            file="reporter_counts|reporter_seq",
        conda:
            "../envs/core.yaml"
        resources:
            mem_mb=sized(config, "download_utrseq", "mem_mb"),
            runtime=sized(config, "download_utrseq", "runtime"),
        params:
            url=lambda wildcards: utrseq_url(f"{wildcards.file}.txt", config["data"]["download_url"]),
            sha256=lambda wildcards: UTRSEQ_SHA256[f"{wildcards.file}.txt"],
        script:
            "../scripts/download.py"


rule normalize_expression:
    input:
        unpack(expression_inputs),
    output:
        L("data", "expression.tsv"),
    log:
        L("logs", "normalize_expression.log"),
    benchmark:
        L("benchmarks", "normalize_expression.tsv")
    conda:
        "../envs/core.yaml"
    resources:
        mem_mb=sized(config, "normalize_expression", "mem_mb"),
        runtime=sized(config, "normalize_expression", "runtime"),
    params:
        data=data_of,  # a library's: the run's data keys with its entry's
    script:
        "../scripts/normalize_expression.py"
