"""The `sme` command group: each command in its own module beside this one.

Nothing happens at import: the settings that quiet TensorFlow's and ML Metadata's native logs
are made when a command starts (before it imports either).
"""

from __future__ import annotations

import os
import warnings

import click

from savedmodel_estimator_tfx.pipelines import interrupts
from savedmodel_estimator_tfx.pipelines.cli.compile_command import compile_command
from savedmodel_estimator_tfx.pipelines.cli.evaluate_command import evaluate
from savedmodel_estimator_tfx.pipelines.cli.import_command import import_command
from savedmodel_estimator_tfx.pipelines.cli.inspect_command import inspect_command
from savedmodel_estimator_tfx.pipelines.cli.migrate_command import migrate_command
from savedmodel_estimator_tfx.pipelines.cli.predict_command import predict
from savedmodel_estimator_tfx.pipelines.cli.run_command import run
from savedmodel_estimator_tfx.pipelines.cli.train_command import train

COMMANDS = (
    inspect_command,
    run,
    import_command,
    train,
    evaluate,
    predict,
    compile_command,
    migrate_command,
)


def quiet_native_logs() -> None:
    """TensorFlow's and ML Metadata's C++ logs off unless the person set them."""
    os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
    # ML Metadata's C++ library logs each failed reconnection to stderr, with advice about MySQL 8
    # authentication that misleads when a server simply went away; `sme run` says what happened.
    os.environ.setdefault('GLOG_minloglevel', '3')
    # Google client libraries warn at import about Python 3.10, which TFX 1.16 requires.
    warnings.filterwarnings('ignore', category=FutureWarning)


@click.group(context_settings={'help_option_names': ['-h', '--help']})
@click.pass_context
def main(ctx: click.Context) -> None:
    """Keep SavedModels exported by tf.estimator alive: inspect, continue training, evaluate,
    batch-predict, in ML-Metadata-tracked pipelines."""
    quiet_native_logs()
    ctx.call_on_close(interrupts.install(ctx.invoked_subcommand))


for command in COMMANDS:
    main.add_command(command)
