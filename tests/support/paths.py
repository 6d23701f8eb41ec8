"""Where the repository and its golden test data are: one definition each."""

from __future__ import annotations

import pathlib

REPO = pathlib.Path(__file__).resolve().parents[2]
DATA = REPO / 'tests' / 'data'
EXPORTS = DATA / 'estimator_exports'
# The golden `dnn_classifier_seed` export (exported with all modes): saved_model/ and data/.
SEED = EXPORTS / 'dnn_classifier_seed'
SEED_SAVED_MODEL = SEED / 'saved_model'
