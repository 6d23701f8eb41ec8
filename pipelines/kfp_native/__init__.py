"""Kubeflow Pipelines v2 components and a pipeline over the `sme` stage commands, without TFX.

`components`: container components, one per stage (`sme import|train|evaluate|predict`).
`metrics`: lightweight Python components that show the evaluator's results in kfp's own types.
`pipeline`: the pipeline built from them, and `compile(out)`.

Only `kfp` is imported here: compiling needs neither TensorFlow nor TFX. The containers run the
image the repository's Dockerfile builds (`SME_IMAGE`).
"""
