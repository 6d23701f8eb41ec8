"""Re-export: write the imported graphs back as a new SavedModel, from any checkpoint."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import tensorflow as tf

from savedmodel_estimator import _tf_internal as internal
from savedmodel_estimator import files
from savedmodel_estimator.mode_keys import ALL_MODES, EXPORT_TAGS, ModeKeys
from savedmodel_estimator.model_safety import assets

# Given the mode and a receiver's features and labels, import that mode's graph (a ModeGraph).
ImportFn = Callable[[str, Any, Any], Any]


def _export_outputs(mode: str, spec: Any) -> dict[str, Any]:
    if mode == ModeKeys.PREDICT:
        serving = {internal.SIGNATURE_KEY_MAP[mode]: internal.predict_output(spec.predictions)}
        return internal.get_export_outputs(serving, spec.predictions)
    return internal.export_outputs_for_mode(
        mode=mode,
        predictions=spec.predictions or None,
        loss=spec.loss,
        metrics=spec.metrics or None,
    )


def _add_meta_graph(
    builder: Any,
    mode: str,
    receiver_fn: Callable[[], Any],
    import_graph: ImportFn,
    checkpoint_path: str,
    save_variables: bool,
    session_config: Any,
) -> None:
    with tf.Graph().as_default():
        receiver = receiver_fn()
        spec = import_graph(mode, receiver.features, getattr(receiver, 'labels', None))
        signature_defs = internal.build_all_signature_defs(
            receiver.receiver_tensors,
            _export_outputs(mode, spec),
            getattr(receiver, 'receiver_tensors_alternatives', None),
            serving_only=(mode == ModeKeys.PREDICT),
        )
        local_init_op = (
            spec.scaffold.local_init_op or tf.compat.v1.train.Scaffold.default_local_init_op()
        )
        saver = spec.scaffold.saver
        with tf.compat.v1.Session(config=session_config) as session:
            try:
                saver.restore(session, checkpoint_path)
            except tf.errors.NotFoundError as err:
                raise ValueError(
                    'Could not load all requested variables from checkpoint. Please make sure '
                    'your model_fn does not expect variables that were not saved in the '
                    f'checkpoint.\n\nEncountered error with mode `{mode}` while restoring '
                    f'checkpoint from: `{checkpoint_path}`. Full Traceback:\n\n{err}'
                ) from err
            internal.add_train_op(builder, spec.train_op)
            kwargs = dict(
                tags=list(EXPORT_TAGS[mode]),
                signature_def_map=signature_defs,
                assets_collection=spec.asset_tensors or None,
                main_op=local_init_op,
                saver=saver,
                strip_default_attrs=True,
            )
            if save_variables:
                builder.add_meta_graph_and_variables(session, **kwargs)
            else:
                builder.add_meta_graph(**kwargs)


def export_all(
    export_dir_base: str,
    receiver_fn_map: Mapping[str, Callable[[], Any]],
    import_graph: ImportFn,
    checkpoint_path: str,
    assets_extra: Mapping[str, str] | None,
    as_text: bool,
    session_config: Any,
) -> bytes:
    """Writes a timestamped SavedModel under `export_dir_base` with a MetaGraph per given mode.

    The SavedModel is written to a temporary directory and renamed into place when complete, so
    a failed export leaves nothing behind. Variables come from `checkpoint_path`, read by the
    first mode exported (train, then eval, then infer).

    Returns:
        The export directory, as bytes (as the original returned it).
    """
    unknown = sorted(set(receiver_fn_map) - set(ALL_MODES))
    if unknown:
        raise ValueError(
            f'Unknown modes {unknown} in input_receiver_fn_map; expected keys '
            f'among {list(ALL_MODES)}.'
        )
    export_dir = internal.get_timestamped_export_dir(export_dir_base)
    temp_dir = internal.get_temp_export_dir(export_dir)
    with files.removed_on_failure(os.fsdecode(temp_dir)):
        builder = tf.compat.v1.saved_model.Builder(temp_dir)
        save_variables = True
        for mode in ALL_MODES:
            receiver_fn = receiver_fn_map.get(mode)
            if receiver_fn:
                _add_meta_graph(
                    builder,
                    mode,
                    receiver_fn,
                    import_graph,
                    checkpoint_path,
                    save_variables,
                    session_config,
                )
                save_variables = False
        if save_variables:
            raise ValueError(
                f'No valid modes for exporting found. Got {list(receiver_fn_map.keys())}.'
            )
        builder.save(as_text)
        for dest_relative, source in (assets_extra or {}).items():
            dest = assets.asset_path(
                os.fsdecode(temp_dir),
                os.fsdecode(dest_relative),
                f'assets_extra key {dest_relative!r}',
                assets.ASSETS_EXTRA_DIR,
            )
            tf.io.gfile.makedirs(os.path.dirname(dest))
            tf.io.gfile.copy(source, dest)
        tf.io.gfile.rename(temp_dir, export_dir)
    return export_dir


def _checkpoint_files(checkpoint_path: str) -> list[str]:
    files = [*tf.io.gfile.glob(checkpoint_path + '.data-*'), checkpoint_path + '.index']
    missing = [f for f in files if not tf.io.gfile.exists(f)]
    if missing or len(files) < 2:
        raise ValueError(f'Checkpoint {checkpoint_path!r} is incomplete: no index or data files.')
    return files


def _check_variables_cover(saved_model_variables: str, checkpoint_path: str) -> None:
    have = dict(tf.train.list_variables(checkpoint_path))
    need = dict(tf.train.list_variables(saved_model_variables))
    missing = sorted(set(need) - set(have))
    if missing:
        raise ValueError(
            f'Checkpoint {checkpoint_path!r} lacks variables the SavedModel restores: '
            f'{missing[:5]}{" ..." if len(missing) > 5 else ""}. It was not written by training '
            'this SavedModel.'
        )
    reshaped = sorted(n for n in need if list(need[n]) != list(have[n]))
    if reshaped:
        name = reshaped[0]
        raise ValueError(
            f'Variable {name!r} has shape {list(have[name])} in checkpoint {checkpoint_path!r}, '
            f'but {list(need[name])} in the SavedModel.'
        )


def export_with_checkpoint(
    source_dir: str, saved_model_variables: str, checkpoint_path: str, export_dir_base: str
) -> bytes:
    """Writes the SavedModel at `source_dir` again, unchanged but for its variables' values.

    Training changes variable values only, so the trained model is the original export with the
    checkpoint as its variables: every MetaGraph, signature (classify, regress, predict...),
    asset and init op stays exactly as exported. Written to a temporary directory and renamed
    into a new timestamped directory under `export_dir_base` when complete.

    Returns:
        The export directory, as bytes.
    """
    _check_variables_cover(saved_model_variables, checkpoint_path)
    export_dir = internal.get_timestamped_export_dir(export_dir_base)
    temp_dir = os.fsdecode(internal.get_temp_export_dir(export_dir))
    with files.removed_on_failure(temp_dir):
        files.copy_tree(
            source_dir, temp_dir, skip=lambda relative: relative.split('/')[0] == 'variables'
        )
        variables_dir = os.path.join(temp_dir, 'variables')
        tf.io.gfile.makedirs(variables_dir)
        prefix = os.path.basename(checkpoint_path)
        for path in _checkpoint_files(checkpoint_path):
            suffix = os.path.basename(path)[len(prefix) :]  # .index or .data-00000-of-00001
            tf.io.gfile.copy(path, os.path.join(variables_dir, 'variables' + suffix))
        tf.io.gfile.rename(temp_dir, os.fsdecode(export_dir))
    return export_dir
