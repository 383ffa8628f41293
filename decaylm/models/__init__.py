"""Sequence -> degradation regressors. Each module exposes `train_and_predict(split, spec, out_dir, seed)`."""
