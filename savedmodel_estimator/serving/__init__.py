"""Serving and batch inference on an export, beside the estimator API: no training here.

* `signature_runner`: one signature of a SavedModel loaded in its own graph and session, run
  on batches of serialized tf.Examples or of columns (`SignatureSpec`, `SignatureRunner`).
* `tf_example_inputs`: what a signature reads from tf.Examples (its columns, their dtypes and
  shapes), and the tf.data input functions that parse them.
"""
