# decaylm: raw MPRA reads -> degradation target -> split -> tokenizers -> models -> comparison.
# Run: snakemake --cores 8 [--configfile my.yaml]; see README.md.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"


wildcard_constraints:
    library="|".join(sorted(LIBRARIES)) or "(?!)",


include: "rules/data.smk"
include: "rules/target.smk"
include: "rules/split.smk"
include: "rules/folds.smk"
include: "rules/tokenizers.smk"
include: "rules/models.smk"
include: "rules/evaluate.smk"
include: "rules/predict.smk"
include: "rules/interpret.smk"


rule all:
    input:
        final_outputs(),
    default_target: True
