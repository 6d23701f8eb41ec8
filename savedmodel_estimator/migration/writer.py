"""Writing the migrated SavedModel: all of it, or nothing at `output_dir`.

It is saved into a staging directory beside `output_dir` and renamed into place once complete,
so a failure leaves `output_dir` as it was. TF2's `tf.saved_model.save` marks every signature
`tensorflow/serving/predict`; the export's classify and regress method names are written back,
so TF Serving's Classify and Regress APIs and TFX's BulkInferrer treat them as the export's.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from savedmodel_estimator import files

_PB = 'saved_model.pb'


def check_output_dir(output_dir: str) -> None:
    """Raises FileExistsError if `output_dir` exists and is not an empty directory."""
    gfile = tf.io.gfile
    if not gfile.exists(output_dir):
        return
    if not gfile.isdir(output_dir):
        raise FileExistsError(
            f'migrate() output_dir {output_dir!r} is a file; pass a new or empty directory.'
        )
    found = sorted(gfile.listdir(output_dir))
    if found:
        listing = ', '.join(found[:5]) + (', ...' if len(found) > 5 else '')
        raise FileExistsError(
            f'migrate() output_dir {output_dir!r} is not empty (found: {listing}); pass a new '
            'or empty directory, or remove it first.'
        )


def restore_method_names(saved_model_dir: str, method_names: Mapping[str, str]) -> None:
    """Sets the method name of each signature in `method_names` in the saved_model.pb."""
    path = os.path.join(saved_model_dir, _PB)
    saved_model = saved_model_pb2.SavedModel()
    with tf.io.gfile.GFile(path, 'rb') as f:
        saved_model.ParseFromString(f.read())
    for meta_graph in saved_model.meta_graphs:
        for key, method_name in method_names.items():
            if key in meta_graph.signature_def:
                meta_graph.signature_def[key].method_name = method_name
    with tf.io.gfile.GFile(path, 'wb') as f:
        f.write(saved_model.SerializeToString(deterministic=True))


def write_atomically(output_dir: str, write: Callable[[str], Any]) -> Any:
    """Calls `write(staging)`, then renames the staging directory to `output_dir`.

    On any error the staging directory is removed and `output_dir` left as it was.
    """
    check_output_dir(output_dir)
    with files.removed_on_failure(files.staging_path(output_dir, 'migrating')) as staging:
        result = write(staging)
        files.move_into_place(staging, output_dir)  # an empty output_dir: checked above
    return result
