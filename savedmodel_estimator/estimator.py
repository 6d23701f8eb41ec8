"""SavedModelEstimator: an Estimator export trained, evaluated, served and re-exported on TF 2."""

from __future__ import annotations

import contextlib
import copy
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import tensorflow as tf

from savedmodel_estimator import evaluation, exporting, predictions, training, variables
from savedmodel_estimator.errors import ModeNotAvailableError
from savedmodel_estimator.graph_import import ModeGraph, import_mode_graph
from savedmodel_estimator.input_fn import (
    call_input_fn,
    has_dataset_or_queue_runner,
    parse_input_fn_result,
)
from savedmodel_estimator.mode_keys import ModeKeys
from savedmodel_estimator.restore_errors import readable_restore_errors
from savedmodel_estimator.run_config import RunConfig
from savedmodel_estimator.saved_model_reader import SavedModelReader

InputFn = Callable[..., Any]


@contextlib.contextmanager
def _graph_mode() -> Iterator[tf.Graph]:
    with tf.Graph().as_default() as graph:
        yield graph


class SavedModelEstimator:
    """An Estimator made from a SavedModel that `tf.estimator` exported.

    Only SavedModels exported with `Estimator.experimental_export_all_saved_models()` (train,
    eval and serve MetaGraphs sharing one set of variables) or `Estimator.export_saved_model()`
    (serve only) are supported. The model function is the exported graph: there is no model_fn
    or params to pass.

    Example:
        est = SavedModelEstimator('/tmp/export_all/1234567890', model_dir='/tmp/continued')
        print(est.evaluate(input_fn=eval_input_fn, steps=1))
        est.train(input_fn=train_input_fn, steps=20)
        predictions = est.predict(predict_input_fn)

    Args:
        saved_model_dir: Directory containing the SavedModel protobuf and subfolders.
        model_dir: Directory to save new checkpoints during training; a temporary directory
            when None.
        config: Checkpoint and summary cadence (an extension of the original, whose defaults
            it keeps: save every 600 s and at the end, keep 5, summaries every 100 steps).

    Raises:
        SavedModelFormatError: (a ValueError) `saved_model_dir` is not a readable SavedModel.
    """

    def __init__(
        self,
        saved_model_dir: str | bytes | os.PathLike[str],
        model_dir: str | os.PathLike[str] | None = None,
        *,
        config: RunConfig | None = None,
    ) -> None:
        config = config or RunConfig()
        model_dir = os.fsdecode(model_dir) if model_dir is not None else config.model_dir
        if config.model_dir is not None and model_dir != config.model_dir:
            raise ValueError(
                '`model_dir` are set both in constructor and `RunConfig`, but with different '
                f"values. In constructor: '{model_dir}', in `RunConfig`: '{config.model_dir}' "
            )
        if not model_dir:
            model_dir = tempfile.mkdtemp()
            tf.compat.v1.logging.warn(f'Using temporary folder as model directory: {model_dir}')
        self._config = config.replace(model_dir=model_dir)
        self._model_dir: str = model_dir
        self.saved_model_dir = os.fsdecode(saved_model_dir)
        self._reader = SavedModelReader(self.saved_model_dir)
        self._available_modes = self._reader.available_modes
        tf.compat.v1.logging.info(f'Available modes for Estimator: {self._available_modes}')

    # -- properties of the original ------------------------------------------------------------

    @property
    def model_dir(self) -> str:
        return self._model_dir

    @property
    def config(self) -> RunConfig:
        return copy.deepcopy(self._config)

    @property
    def params(self) -> dict[str, Any]:
        return {}

    @property
    def model_fn(self) -> Callable[[Any, Any, str, Any], ModeGraph]:
        """`model_fn(features, labels, mode, config)`: imports the mode's graph into the default
        graph and returns its `ModeGraph` (loss, train_op, predictions, metrics, scaffold)."""

        def public_model_fn(features: Any, labels: Any, mode: str, config: Any) -> ModeGraph:
            del config
            return self._import(mode, features, labels)

        return public_model_fn

    @property
    def available_modes(self) -> list[str]:
        """The modes the SavedModel has: some of `train`, `eval`, `infer`."""
        return list(self._available_modes)

    # -- checkpoints and variables -------------------------------------------------------------

    def _model_dir_checkpoint(self) -> str | None:
        return tf.train.latest_checkpoint(self._model_dir)

    def latest_checkpoint(self) -> str:
        """The latest checkpoint in `model_dir`, else the SavedModel's own variables."""
        return self._model_dir_checkpoint() or self._reader.variables_path

    def _require_checkpoint(self) -> str:
        latest = self._model_dir_checkpoint()
        if not latest:
            raise ValueError(f'Could not find trained model in model_dir: {self._model_dir}.')
        return latest

    def get_variable_names(self) -> list[str]:
        """Names of all variables in the latest checkpoint of `model_dir`.

        Raises:
            ValueError: `model_dir` has no checkpoint yet (as in the original, the SavedModel's
                own variables do not count).
        """
        self._require_checkpoint()
        return [name for name, _ in tf.train.list_variables(self._model_dir)]

    def get_variable_value(self, name: str) -> Any:
        """The value (a numpy array) of variable `name` in the latest checkpoint of `model_dir`.

        A partitioned variable reads whole, its slices joined, and so does each optimizer slot
        of one, also where a V1 optimizer saved the slot of every part under a name of its own
        (`<var>/t_0/Adam`: the whole slot, which the original could not read; see
        `savedmodel_estimator.variables`).
        """
        checkpoint = self._require_checkpoint()
        return variables.read_variable(checkpoint, name, self._reader.saved_model.meta_graphs)

    def eval_dir(self, name: str | None = None) -> str:
        """Where evaluation summaries go: `model_dir/eval` or `model_dir/eval_<name>`."""
        return evaluation.eval_dir(self._model_dir, name)

    # -- the graph for a mode ------------------------------------------------------------------

    def _validate_mode(self, mode: str) -> None:
        if mode not in self._available_modes:
            raise ModeNotAvailableError(mode, self._available_modes)

    def _import(self, mode: str, features: Any, labels: Any) -> ModeGraph:
        self._validate_mode(mode)
        restore_from = None if self._model_dir_checkpoint() else self._reader.variables_path
        return import_mode_graph(
            self._reader,
            mode,
            features,
            labels,
            restore_from,
            keep_checkpoint_max=self._config.keep_checkpoint_max,
        )

    def _input(self, input_fn: InputFn, mode: str) -> tuple[Any, Any, list[Any]]:
        result = call_input_fn(input_fn, mode, self.params, self.config)
        return parse_input_fn_result(result)

    # -- train, evaluate, predict --------------------------------------------------------------

    def train(
        self,
        input_fn: InputFn,
        hooks: Sequence[tf.compat.v1.train.SessionRunHook] | None = None,
        steps: int | None = None,
        max_steps: int | None = None,
        saving_listeners: Sequence[tf.compat.v1.train.CheckpointSaverListener] | None = None,
    ) -> SavedModelEstimator:
        """Continues training from the latest checkpoint (at first, the SavedModel's variables).

        Args:
            input_fn: Returns a `tf.data.Dataset` of `(features, labels)`, or such a tuple.
            hooks: `SessionRunHook`s to run during training.
            steps: Train this many more steps (incremental), or until the input ends.
            max_steps: Train until the global step reaches this (absolute).
            saving_listeners: `CheckpointSaverListener`s called around each checkpoint save.

        Returns:
            self, for chaining.

        Raises:
            ValueError: both steps and max_steps given, or either is not positive.
            RuntimeError: the SavedModel has no train mode.
        """
        if steps is not None and max_steps is not None:
            raise ValueError('Can not provide both steps and max_steps.')
        if steps is not None and steps <= 0:
            raise ValueError(f'Must specify steps > 0, given: {steps}')
        if max_steps is not None and max_steps <= 0:
            raise ValueError(f'Must specify max_steps > 0, given: {max_steps}')
        if max_steps is not None:
            start_step = training.global_step_in_checkpoint_dir(self._model_dir)
            if max_steps <= start_step:
                tf.compat.v1.logging.info('Skipping training since max_steps has already saved.')
                return self
        all_hooks = training.check_hooks(hooks)
        if steps is not None or max_steps is not None:
            all_hooks.append(tf.compat.v1.train.StopAtStepHook(steps, max_steps))
        listeners = training.check_listeners(saving_listeners)
        with _graph_mode():
            tf.compat.v1.random.set_random_seed(self._config.tf_random_seed)
            features, labels, input_hooks = self._input(input_fn, ModeKeys.TRAIN)
            spec = self._import(ModeKeys.TRAIN, features, labels)
            restore = None if self._model_dir_checkpoint() else self._reader.variables_path
            with readable_restore_errors(restore):
                loss = training.train_graph(
                    spec, input_hooks + all_hooks, listeners, self._config, self._model_dir
                )
        tf.compat.v1.logging.info(f'Loss for final step: {loss}.')
        return self

    def evaluate(
        self,
        input_fn: InputFn,
        steps: int | None = None,
        hooks: Sequence[tf.compat.v1.train.SessionRunHook] | None = None,
        checkpoint_path: str | None = None,
        name: str | None = None,
    ) -> dict[str, Any]:
        """Runs the exported eval graph; returns its metrics plus `loss` and `global_step`.

        Metric keys are as exported (`metrics/accuracy`, ...). Results are also written as
        TensorBoard summaries under `eval_dir(name)`.

        Args:
            input_fn: Returns a `tf.data.Dataset` of `(features, labels)`, or such a tuple.
            steps: Evaluate this many batches, or until the input ends when None.
            hooks: `SessionRunHook`s to run during evaluation.
            checkpoint_path: Evaluate this checkpoint instead of the latest one.
            name: Name of this evaluation (summaries go to `eval_<name>`).
        """
        all_hooks = training.check_hooks(hooks)
        all_hooks.extend(evaluation.steps_to_hooks(steps))
        if not checkpoint_path:
            checkpoint_path = self._model_dir_checkpoint()
            if not checkpoint_path:
                tf.compat.v1.logging.info(
                    f'Could not find trained model in model_dir: {self._model_dir}, running '
                    'initialization to evaluate.'
                )
        with _graph_mode():
            tf.compat.v1.random.set_random_seed(self._config.tf_random_seed)
            features, labels, input_hooks = self._input(input_fn, ModeKeys.EVAL)
            spec = self._import(ModeKeys.EVAL, features, labels)
            update_op, values, scaffold = evaluation.build_eval_ops(spec)
            with readable_restore_errors(checkpoint_path or self._reader.variables_path):
                results = evaluation.evaluate_once(
                    checkpoint_path,
                    scaffold,
                    update_op,
                    values,
                    input_hooks + all_hooks,
                    self._config,
                )
        evaluation.write_eval_summaries(self.eval_dir(name), results, checkpoint_path)
        return results

    def predict(
        self,
        input_fn: InputFn,
        predict_keys: Sequence[str] | None = None,
        hooks: Sequence[tf.compat.v1.train.SessionRunHook] | None = None,
        checkpoint_path: str | None = None,
        yield_single_examples: bool = True,
    ) -> Iterator[Any]:
        """Yields the serving signature's outputs for the features `input_fn` returns.

        Args:
            input_fn: Returns features (a dict of tensors, or a dataset of them). Predicting from
                plain tensors yields forever, as in the original: use a dataset to bound it.
            predict_keys: Only these outputs.
            hooks: `SessionRunHook`s to run during prediction.
            checkpoint_path: Predict with this checkpoint instead of the latest one.
            yield_single_examples: Yield one dict per example; False yields whole batches.

        Raises:
            RuntimeError: (on the first `next`) the SavedModel has no serving signature.
            ValueError: no output matches `predict_keys`, or outputs differ in batch size.
        """
        all_hooks = training.check_hooks(hooks)
        checkpoint_path = checkpoint_path or self.latest_checkpoint()
        with _graph_mode():
            tf.compat.v1.random.set_random_seed(self._config.tf_random_seed)
            features, _, input_hooks = self._input(input_fn, ModeKeys.PREDICT)
            if not has_dataset_or_queue_runner(features):
                tf.compat.v1.logging.warning(
                    'Input graph does not use tf.data.Dataset or contain a QueueRunner. That '
                    'means predict yields forever. This is probably a mistake.'
                )
            spec = self._import(ModeKeys.PREDICT, features, None)
            yield from predictions.run_predict(
                spec.scaffold,
                predictions.select_keys(spec.predictions, predict_keys),
                checkpoint_path,
                self._config.effective_session_config,
                input_hooks + all_hooks,
                yield_single_examples,
            )

    # -- export --------------------------------------------------------------------------------

    def export_saved_model(
        self,
        export_dir_base: str,
        serving_input_receiver_fn: Callable[[], Any],
        assets_extra: Mapping[str, str] | None = None,
        as_text: bool = False,
        checkpoint_path: str | None = None,
        experimental_mode: str = ModeKeys.PREDICT,
    ) -> bytes:
        """Exports one mode (serving by default) as a timestamped SavedModel; returns its path."""
        if serving_input_receiver_fn is None and experimental_mode == ModeKeys.PREDICT:
            raise ValueError('An input_receiver_fn must be defined.')
        return self.experimental_export_all_saved_models(
            export_dir_base,
            {experimental_mode: serving_input_receiver_fn},
            assets_extra=assets_extra,
            as_text=as_text,
            checkpoint_path=checkpoint_path,
        )

    def experimental_export_all_saved_models(
        self,
        export_dir_base: str,
        input_receiver_fn_map: Mapping[str, Callable[[], Any]],
        assets_extra: Mapping[str, str] | None = None,
        as_text: bool = False,
        checkpoint_path: str | None = None,
    ) -> bytes:
        """Exports a MetaGraph per mode in `input_receiver_fn_map`, sharing one set of variables.

        The result is the same layout `tf.estimator` wrote, so it can be loaded again by
        `SavedModelEstimator` (and served, for the `infer` mode).

        Returns:
            The timestamped export directory (bytes, as the original returned it).
        """
        checkpoint_path = checkpoint_path or self.latest_checkpoint()
        for mode, receiver_fn in input_receiver_fn_map.items():
            if receiver_fn is not None:
                self._validate_mode(mode)

        def import_graph(mode: str, features: Any, labels: Any) -> ModeGraph:
            return import_mode_graph(self._reader, mode, features, labels, restore_from=None)

        with readable_restore_errors(checkpoint_path):
            return exporting.export_all(
                export_dir_base,
                input_receiver_fn_map,
                import_graph,
                checkpoint_path,
                assets_extra,
                as_text,
                self._config.effective_session_config,
            )

    def export_trained_saved_model(
        self, export_dir_base: str, checkpoint_path: str | None = None
    ) -> bytes:
        """Exports the original SavedModel unchanged but for its variables, from a checkpoint.

        An extension of the original API. Unlike `experimental_export_all_saved_models`, which
        rebuilds the signatures from receivers (serving becomes a predict signature, as the
        original did), this keeps every MetaGraph, signature, asset and init op exactly as first
        exported, so TF Serving's classify/regress APIs and BulkInferrer keep working.

        Returns:
            The timestamped export directory (bytes).

        Raises:
            ValueError: the checkpoint lacks variables the SavedModel restores.
        """
        checkpoint_path = checkpoint_path or self.latest_checkpoint()
        with readable_restore_errors(checkpoint_path):
            return exporting.export_with_checkpoint(
                self.saved_model_dir, self._reader.variables_path, checkpoint_path, export_dir_base
            )
