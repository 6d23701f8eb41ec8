"""`python -m savedmodel_estimator_tfx.pipelines.cli`, as `sme`."""

from savedmodel_estimator_tfx.pipelines.cli import main

main()
