"""`sme`: inspect an Estimator export, run the pipeline, or run one stage.

sme inspect SAVED_MODEL                                                     inspect_command.py
sme run --saved-model DIR --data DIR [--config FILE] [--beam-arg ARG ...]   run_command.py
sme import|train|evaluate|predict ...                                       <stage>_command.py
sme compile --target vertex|kubeflow ...                                    compile_command.py
sme migrate EXPORT OUT                                                      migrate_command.py

The group is in group.py; what the commands share (console, exit statuses, thresholds) in
common.py. Ctrl-C exits 130 at once (pipelines/interrupts.py).
"""

from savedmodel_estimator_tfx.pipelines.cli.group import main

__all__ = ['main']
