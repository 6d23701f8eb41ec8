"""Reading an Estimator export: its MetaGraphs, signatures and variables, with clear errors."""

from __future__ import annotations

import os

import tensorflow as tf
from google.protobuf import message as proto_message
from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2

from savedmodel_estimator import _tf_internal as internal
from savedmodel_estimator.errors import SavedModelFormatError
from savedmodel_estimator.mode_keys import ALL_MODES, EXPORT_TAGS, SIGNATURE_KEYS
from savedmodel_estimator.model_safety import assets as asset_names

_PB = 'saved_model.pb'
_PBTXT = 'saved_model.pbtxt'


def _read_saved_model_proto(path: str) -> saved_model_pb2.SavedModel:
    gfile = tf.io.gfile
    if not gfile.exists(path):
        raise SavedModelFormatError(path, 'the path does not exist.')
    if not gfile.isdir(path):
        raise SavedModelFormatError(
            path,
            'the path is a file, but a SavedModel is a directory.',
            f'Pass the directory that holds {_PB}.',
        )
    saved_model = saved_model_pb2.SavedModel()
    pb_path, pbtxt_path = os.path.join(path, _PB), os.path.join(path, _PBTXT)
    if gfile.exists(pb_path):
        try:
            with gfile.GFile(pb_path, 'rb') as f:
                saved_model.ParseFromString(f.read())
        except (proto_message.DecodeError, RuntimeError, ValueError) as err:
            raise SavedModelFormatError(
                path,
                f'{_PB} is corrupt and cannot be parsed ({err}).',
                'Re-export the model or restore the file from a backup.',
            ) from err
    elif gfile.exists(pbtxt_path):
        from google.protobuf import text_format

        try:
            with gfile.GFile(pbtxt_path, 'r') as f:
                text_format.Merge(f.read(), saved_model)
        except text_format.ParseError as err:
            raise SavedModelFormatError(
                path, f'{_PBTXT} is corrupt and cannot be parsed ({err}).'
            ) from err
    else:
        found = sorted(gfile.listdir(path))[:10]
        raise SavedModelFormatError(
            path,
            f'it has no {_PB} or {_PBTXT} (found: {", ".join(found) or "nothing"}).',
            'Pass the timestamped directory an Estimator export wrote.',
        )
    if not saved_model.meta_graphs:
        raise SavedModelFormatError(path, f'{_PB} holds no MetaGraph.')
    return saved_model


class SavedModelReader:
    """One Estimator export on disk: which modes it has, their graphs and its variables.

    Args:
        export_dir: The SavedModel directory (any filesystem TensorFlow reads).
        check_assets: Refuse the SavedModel if an asset of any MetaGraph names a file outside
            its assets/ directory (TensorFlow's loader would feed that host file to the graph).
            Only the safety scan turns it off, to report such assets with everything else.

    Raises:
        SavedModelFormatError: the directory is missing, holds no SavedModel, or the SavedModel
            file is corrupt.
        AssetPathError (a SavedModelFormatError): an asset's file name leaves assets/.
    """

    def __init__(
        self, export_dir: str | bytes | os.PathLike[str], *, check_assets: bool = True
    ) -> None:
        self.export_dir = os.fsdecode(export_dir)
        self.saved_model = _read_saved_model_proto(self.export_dir)
        if check_assets:
            asset_names.check_asset_names(self.export_dir, list(self.saved_model.meta_graphs))

    @property
    def tag_sets(self) -> list[list[str]]:
        return [list(mg.meta_info_def.tags) for mg in self.saved_model.meta_graphs]

    def meta_graph(self, mode: str) -> meta_graph_pb2.MetaGraphDef | None:
        """The MetaGraph whose tags are exactly the mode's export tags, or None."""
        wanted = set(EXPORT_TAGS[mode])
        for meta_graph in self.saved_model.meta_graphs:
            if set(meta_graph.meta_info_def.tags) == wanted:
                return meta_graph
        return None

    def signature(self, mode: str) -> meta_graph_pb2.SignatureDef | None:
        """The mode's SignatureDef (`train`, `eval` or `serving_default`), or None."""
        meta_graph = self.meta_graph(mode)
        if meta_graph is None:
            return None
        key = SIGNATURE_KEYS[mode]
        if key not in meta_graph.signature_def:
            tf.compat.v1.logging.warn(
                f'Metagraph for mode {mode} was found, but SignatureDef with key "{key}" is '
                'missing.'
            )
            return None
        return meta_graph.signature_def[key]

    @property
    def available_modes(self) -> list[str]:
        """The modes that have both a MetaGraph and a signature, in train, eval, infer order."""
        return [mode for mode in ALL_MODES if self.signature(mode) is not None]

    @property
    def variables_path(self) -> str:
        """The prefix of the SavedModel's variables checkpoint (`<dir>/variables/variables`).

        Raises:
            SavedModelFormatError (a ValueError, as in the original): there is no variables index.
        """
        index = os.path.join(internal.variables_dir(self.export_dir), 'variables.index')
        if not tf.io.gfile.exists(index):
            raise SavedModelFormatError(
                self.export_dir,
                'Directory provided has an invalid SavedModel format: '
                'it has no variables/variables.index.',
                'An Estimator export always saves its variables; copy the whole directory.',
            )
        return internal.variables_path(self.export_dir)

    def asset_paths(self, mode: str) -> dict[str, str]:
        """Maps each asset tensor name of the mode's graph to the asset's path in this export.

        Assets are listed in the MetaGraph's `asset_file_def`, or, in exports written by the
        TF 1 builder (as Estimators did), in the `saved_model_assets` collection.

        Raises:
            AssetPathError (a SavedModelFormatError): an asset's file name leaves assets/.
        """
        meta_graph = self.meta_graph(mode)
        if meta_graph is None:
            return {}
        return {
            asset.tensor_info.name: asset_names.asset_path(
                self.export_dir, asset.filename, asset_names.describe_asset(meta_graph, asset)
            )
            for asset in asset_names.asset_file_defs(meta_graph)
        }


def tensor_names(tensor_info: meta_graph_pb2.TensorInfo) -> list[str] | None:
    """The graph tensors of a signature entry: one, or three for a SparseTensor (indices, values,
    dense shape); None for an encoding Estimator exports never use (composite tensors)."""
    encoding = tensor_info.WhichOneof('encoding')
    if encoding == 'name':
        return [tensor_info.name]
    if encoding == 'coo_sparse':
        sparse = tensor_info.coo_sparse
        return [
            sparse.indices_tensor_name,
            sparse.values_tensor_name,
            sparse.dense_shape_tensor_name,
        ]
    return None
