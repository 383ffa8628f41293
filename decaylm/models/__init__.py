"""Sequence -> degradation regressors, and the one contract every trained model keeps.

A model folder (`{results}/models/{name}/`) holds `model.json` (kind, spec, input length,
tokenizer, versions) beside its weights. `load_model(folder)` returns a `TrainedModel`:

- `name`, `kind`, `input_length` (nt of the training reporters), `min_length` (the shortest
  sequence it scores), `members` (the member models of an ensemble, else None);
- `predict(sequences) -> np.ndarray`: one number per sequence (upper-case DNA), the same
  numbers as the job's `predictions.tsv`;
- `predict_members(sequences) -> np.ndarray` of shape (members, sequences), ensembles only.

Loading needs nothing but the folder (and an ensemble's member folders beside it), so it works
from a fresh process and after the results folder has been moved. It first checks the folder
(decaylm.models.artifact.check_files): every file model.json lists, with its size and sha256; no
pickle; no path out of the folder, and members only inside the folder that holds it. A folder
from someone else is safe to load, except a `pretrained` model trained with trust_remote_code,
whose encoder runs Python files of the folder: `trust_remote_code=False` refuses it
(docs/predict.md, "Sharing a model folder").
"""


def load_model(folder, trust_remote_code: bool = True):
    """The trained model in `folder` (see the module docstring); an InputError names what is wrong."""
    from decaylm.models.artifact import load_model as load  # torch is imported only when a model is loaded

    return load(folder, trust_remote_code)
