# How much labelled data is worth (learning_curve: fractions, models, seed; decaylm/learning_curve.py).
# Each row of learning_curve.models is retrained as NAME/frac{f} (models/NAME/frac{f}/) by the training
# rule of its kind (rules/models.smk; split_of gives it data/learning_curve/split_{f}.tsv, whose training
# reporters outside the nested subset are "unused"). Its tokenizer and MLM pretraining stay those of the
# full training split: the curve measures labelled reporters, and these read sequences, not labels (all
# but an rbp_window tokenizer with table: train, which picks its 7-mers with every training label).
# Fraction 1 is the row's own job; nothing is retrained for it.


# Seconds of pandas: run where Snakemake runs, as the other data and scoring rules (Snakefile).
localrules:
    learning_curve_split,
    learning_curve,


rule learning_curve_split:
    input:
        rules.split_data.output[0],
    output:
        curve_split("{fraction}"),
    log:
        R("logs", "learning_curve", "split_{fraction}.log"),
    benchmark:
        R("benchmarks", "learning_curve", "split_{fraction}.tsv")
    wildcard_constraints:
        fraction=name_regex(CURVE_FRACTIONS),
    conda:
        "../envs/core.yaml"
    resources:
        mem_mb=sized(config, "learning_curve_split", "mem_mb"),
        runtime=sized(config, "learning_curve_split", "runtime"),
    params:
        seed=config["learning_curve"]["seed"],
    script:
        "../scripts/learning_curve_split.py"


# Every (row, fraction) on the test reporters, with the comparison's grouped bootstrap (the same
# resamples for every point), and the figure of test R2 against training reporters.
rule learning_curve:
    input:
        split=rules.split_data.output[0],
        splits=[curve_split(fraction) for fraction in CURVE_FRACTIONS],
        predictions=curve_files("predictions.tsv"),
        runs=curve_files("run.json"),
    output:
        table=report(R("learning_curve.tsv"), category="Learning curve"),
        figure=report(R("figures", "learning_curve.png"), category="Learning curve"),
    log:
        R("logs", "learning_curve.log"),
    benchmark:
        R("benchmarks", "learning_curve.tsv")
    conda:
        "../envs/core.yaml"
    resources:
        mem_mb=sized(config, "learning_curve", "mem_mb"),
        runtime=sized(config, "learning_curve", "runtime"),
    params:
        points=[[model, fraction] for model, fraction, _ in CURVE_POINTS],
        fractions=CURVE_FRACTIONS,
        evaluate={key: config["evaluate"][key] for key in ("bootstrap", "seed")},
    script:
        "../scripts/learning_curve_score.py"
