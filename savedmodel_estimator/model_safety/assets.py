"""Asset file names, kept inside the SavedModel: the one place an asset name becomes a path.

A MetaGraph lists its assets as file names relative to the SavedModel's `assets/` directory,
and the loader feeds `<export>/assets/<name>` to the graph (a vocabulary table reads it at
load). A name such as `../../etc/passwd` or `/etc/passwd` would feed a file of the host while
every scan sees "an asset"; a symbolic link in the directory does the same. So every place that
turns an asset name into a path goes through `asset_path`, which refuses names that leave
`assets/` (or `assets.extra/`, where exports copy extra files), and the importer refuses links
that resolve outside the SavedModel (`links_outside`).
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterator

import tensorflow as tf
from tensorflow.core.protobuf import meta_graph_pb2

from savedmodel_estimator.errors import SavedModelFormatError
from savedmodel_estimator.model_safety.findings import describe_tags

ASSETS_DIR = 'assets'
ASSETS_EXTRA_DIR = 'assets.extra'
_DRIVE = re.compile(r'^[A-Za-z]:')


class AssetPathError(SavedModelFormatError):
    """An asset's file name resolves outside the SavedModel's assets directory."""

    def __init__(self, export_dir: str, filename: str, where: str, directory: str) -> None:
        self.filename, self.where, self.directory = filename, where, directory
        super().__init__(
            export_dir,
            f'asset {filename!r} ({where}) resolves outside its {directory}/ directory; '
            f'expected a relative file name inside {directory}/, such as {"vocab.txt"!r}.',
            'Loading it would feed a file of the host to the graph instead of the '
            "model's own: re-export the model with its assets, or do not use it.",
        )


def normalized(filename: str) -> str | None:
    """The asset's path relative to its directory, normalized; None when it leaves it.

    Refused: empty names, absolute paths (`/x`, `C:x`), URLs (`gs://...`), backslashes (a
    separator on Windows) and any name whose normalized form climbs out (`../x`, `a/../../x`).
    """
    if not filename or '\0' in filename or '\\' in filename or '://' in filename:
        return None
    if filename.startswith('/') or _DRIVE.match(filename):
        return None
    name = posixpath.normpath(filename)
    if name in ('.', '..') or name.startswith('../'):
        return None
    return name


def asset_path(export_dir: str, filename: str, where: str, directory: str = ASSETS_DIR) -> str:
    """`<export_dir>/<directory>/<filename>`, once `filename` is known to stay inside.

    Args:
        export_dir: The SavedModel directory (any file system TensorFlow reads).
        filename: The asset's name as the MetaGraph (or the caller) gives it.
        where: Where the name comes from, for the error ("asset tensor 'x:0' of MetaGraph ...").
        directory: `assets` or `assets.extra`.

    Raises:
        AssetPathError: the name leaves the directory.
    """
    name = normalized(filename)
    if name is None:
        raise AssetPathError(export_dir, filename, where, directory)
    return os.path.join(export_dir, directory, name)


def asset_file_defs(
    meta_graph: meta_graph_pb2.MetaGraphDef,
) -> list[meta_graph_pb2.AssetFileDef]:
    """The MetaGraph's assets: `asset_file_def`, or the TF 1 builder's `saved_model_assets`."""
    assets = list(meta_graph.asset_file_def)
    legacy = meta_graph.collection_def.get(tf.compat.v1.saved_model.ASSETS_KEY)
    if not assets and legacy is not None:
        for packed in legacy.any_list.value:
            asset = meta_graph_pb2.AssetFileDef()
            packed.Unpack(asset)
            assets.append(asset)
    return assets


def describe_asset(
    meta_graph: meta_graph_pb2.MetaGraphDef, asset: meta_graph_pb2.AssetFileDef
) -> str:
    """`asset tensor 'x:0' of MetaGraph ['serve']`, for messages."""
    tags = describe_tags(list(meta_graph.meta_info_def.tags))
    return f'asset tensor {asset.tensor_info.name!r} of {tags}'


def check_asset_names(export_dir: str, meta_graphs: list[meta_graph_pb2.MetaGraphDef]) -> None:
    """Raises `AssetPathError` for the first asset of any MetaGraph whose name leaves assets/."""
    for meta_graph in meta_graphs:
        for asset in asset_file_defs(meta_graph):
            asset_path(export_dir, asset.filename, describe_asset(meta_graph, asset))


def links_outside(export_dir: str) -> Iterator[tuple[str, str]]:
    """`(relative path, target)` of every symbolic link under a local SavedModel directory that
    resolves outside it. Object stores (`gs://`, `s3://`) have no links: nothing to check.
    """
    if '://' in export_dir:
        return
    top = os.path.realpath(export_dir)
    for dirpath, dirnames, filenames in os.walk(export_dir):
        for name in sorted(dirnames + filenames):
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                continue
            target = os.path.realpath(path)
            if os.path.commonpath([top, target]) != top:
                yield os.path.relpath(path, export_dir).replace(os.sep, '/'), target
