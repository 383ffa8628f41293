"""What each model learned: attributions (ISM for every model, gradients where one-hot differentiable),
motifs (modisco-lite, matched by TOMTOM against known 3'UTR elements, logos), and element effects by
insertion into dinucleotide-shuffled backgrounds, centrally and by position. See docs/interpretation.md.

Modules: attribution (ISM, saliency), motifs (modisco-lite, TOMTOM, logos), marginalize (insertion
effects, positional effects, heatmap), meme (MEME files), pipeline (the two workflow jobs).
"""
