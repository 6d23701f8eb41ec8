"""SavedModelImporter: its executor on the golden exports and bad inputs, and a local pipeline."""

from __future__ import annotations

import json
import pathlib
import shutil
from typing import Any

import pytest
import tensorflow as tf
from google.protobuf import text_format
from tensorflow.core.framework import node_def_pb2
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx import version as tfx_version
from tfx.types import standard_artifacts

from savedmodel_estimator import SavedModelFormatError
from savedmodel_estimator.inspection import (
    MetaGraphSummary,
    SavedModelSummary,
    SignatureSummary,
    TensorSummary,
    content_hash,
    inspect_saved_model,
)
from savedmodel_estimator.saved_model_reader import SavedModelReader
from savedmodel_estimator_tfx.components.common import artifacts
from savedmodel_estimator_tfx.components.saved_model_importer import (
    SavedModelImporter,
    executor,
    spec,
)
from savedmodel_estimator_tfx.components.saved_model_importer.schema_inference import (
    SchemaInferenceError,
    infer_schema,
)
from tests.support.paths import DATA, EXPORTS, SEED

PREDICT_ONLY = EXPORTS / 'dnn_classifier_predict_only'
INT_FEATURES = DATA / 'upstream_suite' / 'load_all_modes' / 'saved_model'


def _outputs(tmp_path: pathlib.Path, schema: bool = False):
    model = standard_artifacts.Model()
    model.uri = str(tmp_path / 'model')
    outputs: dict[str, list[Any]] = {spec.MODEL_KEY: [model]}
    if schema:
        schema_artifact = standard_artifacts.Schema()
        schema_artifact.uri = str(tmp_path / 'schema')
        pathlib.Path(schema_artifact.uri).mkdir()
        outputs[spec.SCHEMA_KEY] = [schema_artifact]
    return model, outputs


def _do(tmp_path, source, schema=False, **properties):
    model, outputs = _outputs(tmp_path, schema)
    exec_properties = {spec.SOURCE_URI_KEY: str(source), **properties}
    executor.Executor().Do({}, outputs, exec_properties)
    return model, outputs


def _mkdir(path: pathlib.Path) -> pathlib.Path:
    path.mkdir()
    return path


def _assert_nothing_published(tmp_path: pathlib.Path) -> None:
    model_dir = tmp_path / 'model'
    assert not (model_dir / artifacts.SERVING_MODEL_DIR).exists()
    assert not model_dir.exists() or not list(model_dir.iterdir())  # no temporary copy left
    assert not (tmp_path / 'schema' / spec.SCHEMA_FILE).exists()


def _with_injected_write_file(tmp_path: pathlib.Path) -> pathlib.Path:
    """The predict-only export with a WriteFile node added to its serving graph."""
    copy = tmp_path / 'tampered'
    shutil.copytree(PREDICT_ONLY / 'saved_model', copy)
    saved_model = saved_model_pb2.SavedModel()
    saved_model.ParseFromString((copy / 'saved_model.pb').read_bytes())
    graph = saved_model.meta_graphs[0].graph_def
    for name, value in (('leak/path', b'/tmp/leak'), ('leak/contents', b'x')):
        const = graph.node.add(name=name, op='Const')
        const.attr['dtype'].type = tf.string.as_datatype_enum
        const.attr['value'].tensor.CopyFrom(tf.make_tensor_proto(value))
    graph.node.append(
        node_def_pb2.NodeDef(name='leak', op='WriteFile', input=['leak/path', 'leak/contents'])
    )
    (copy / 'saved_model.pb').write_bytes(saved_model.SerializeToString())
    return copy


# Importing the golden exports


def test_import_copies_the_export_into_format_serving_and_records_its_facts(tmp_path):
    source = SEED / 'saved_model'
    reference = json.loads((SEED / 'reference.json').read_text())
    model, _ = _do(tmp_path, source, required_modes='["train", "eval"]')

    imported = tmp_path / 'model' / artifacts.SERVING_MODEL_DIR
    assert sorted(p.name for p in (tmp_path / 'model').iterdir()) == [artifacts.SERVING_MODEL_DIR]
    assert (imported / 'saved_model.pb').read_bytes() == (source / 'saved_model.pb').read_bytes()
    assert content_hash(imported) == content_hash(source)
    assert SavedModelReader(imported).available_modes == ['train', 'eval', 'infer']
    assert artifacts.model_path(model) == str(imported)

    # The installed TFX's, as stock components record it (1.16.0 or 1.21.0 by lane).
    assert (
        model.get_string_custom_property(artifacts.TFX_VERSION_PROPERTY) == tfx_version.__version__
    )
    assert tfx_version.__version__ in ('1.16.0', '1.21.0')
    assert json.loads(model.get_string_custom_property(artifacts.MODES_PROPERTY)) == [
        'train',
        'eval',
        'infer',
    ]
    assert (
        model.get_int_custom_property(artifacts.GLOBAL_STEP_PROPERTY)
        == reference['saved_model_estimator']['global_step_before_train']
    )
    assert json.loads(model.get_string_custom_property(artifacts.SERVING_INPUTS_PROPERTY)) == {
        'inputs': {'dtype': 'string', 'shape': [None]}
    }
    assert model.get_string_custom_property(artifacts.SOURCE_URI_PROPERTY) == str(source)
    assert model.get_string_custom_property(artifacts.CONTENT_HASH_PROPERTY) == content_hash(source)


@pytest.mark.parametrize('name', ['custom_model_fn', 'linear_regressor', 'dnn_classifier_wide'])
def test_every_all_modes_fixture_imports(tmp_path, name):
    model, _ = _do(tmp_path, EXPORTS / name / 'saved_model', required_modes='train,eval,infer')
    imported = tmp_path / 'model' / artifacts.SERVING_MODEL_DIR
    assert content_hash(imported) == content_hash(EXPORTS / name / 'saved_model')
    reference = json.loads((EXPORTS / name / 'reference.json').read_text())
    # The step the real SavedModelEstimator read from the export (80, 100 and 32).
    assert (
        model.get_int_custom_property(artifacts.GLOBAL_STEP_PROPERTY)
        == reference['saved_model_estimator']['global_step_before_train']
    )


def test_predict_only_export_imports_without_required_modes(tmp_path):
    model, _ = _do(tmp_path, PREDICT_ONLY / 'saved_model')
    assert json.loads(model.get_string_custom_property(artifacts.MODES_PROPERTY)) == ['infer']


def test_serving_inputs_agree_with_the_inspection_summary(tmp_path):
    model, _ = _do(tmp_path, INT_FEATURES)
    recorded = json.loads(model.get_string_custom_property(artifacts.SERVING_INPUTS_PROPERTY))
    assert recorded == {'x': {'dtype': 'int32', 'shape': [None, 1]}}
    serving = inspect_saved_model(INT_FEATURES).signature('infer')
    assert serving is not None
    assert recorded == {k: v.to_json() for k, v in serving.inputs.items()}


def test_schema_from_the_train_and_eval_signatures(tmp_path):
    _do(tmp_path, SEED / 'saved_model', schema=True, emit_schema=1)
    schema = schema_pb2.Schema()
    text_format.Parse((tmp_path / 'schema' / spec.SCHEMA_FILE).read_text(), schema)
    assert {f.name: f.type for f in schema.feature} == {
        'feature1': schema_pb2.BYTES,
        'feature2': schema_pb2.FLOAT,
        'label': schema_pb2.FLOAT,
    }
    assert all(f.HasField('shape') and not f.shape.dim for f in schema.feature)  # one value each


def test_schema_keeps_the_per_example_shape(tmp_path):
    _do(tmp_path, INT_FEATURES, schema=True, emit_schema=1)
    schema = schema_pb2.Schema()
    text_format.Parse((tmp_path / 'schema' / spec.SCHEMA_FILE).read_text(), schema)
    assert [(f.name, f.type, [d.size for d in f.shape.dim]) for f in schema.feature] == [
        ('label', schema_pb2.INT, [1]),
        ('x', schema_pb2.INT, [1]),
    ]


# Bad inputs: a clear error, and nothing under Format-Serving.


def test_a_directory_that_is_not_a_saved_model(tmp_path):
    source = tmp_path / 'not_a_model'
    source.mkdir()
    (source / 'README').write_text('x')
    with pytest.raises(SavedModelFormatError, match=r"not_a_model'.*no saved_model.pb.*README"):
        _do(tmp_path, source)
    _assert_nothing_published(tmp_path)


def test_a_missing_source(tmp_path):
    with pytest.raises(SavedModelFormatError, match=r"'.*nowhere'.*does not exist"):
        _do(tmp_path, tmp_path / 'nowhere')
    _assert_nothing_published(tmp_path)


def test_unreadable_variables(tmp_path):
    source = tmp_path / 'no_variables'
    shutil.copytree(SEED / 'saved_model', source)
    shutil.rmtree(source / 'variables')
    with pytest.raises(SavedModelFormatError, match=r'no variables/variables.index'):
        _do(tmp_path, source)
    _assert_nothing_published(tmp_path)


def test_required_mode_missing_from_the_predict_only_export(tmp_path):
    with pytest.raises(
        executor.MissingModeError,
        match=r"dnn_classifier_predict_only/saved_model' lacks required mode\(s\) 'train', 'eval' "
        r'\(modes found: infer\).*experimental_export_all_saved_models',
    ):
        _do(tmp_path, PREDICT_ONLY / 'saved_model', required_modes='["train", "eval"]')
    _assert_nothing_published(tmp_path)


def test_schema_from_a_predict_only_export(tmp_path):
    with pytest.raises(SchemaInferenceError, match=r'no train or eval signature \(modes: infer\)'):
        _do(tmp_path, PREDICT_ONLY / 'saved_model', schema=True, emit_schema=1)
    _assert_nothing_published(tmp_path)


def _summary(**signatures: dict[str, TensorSummary]) -> SavedModelSummary:
    keys = {'train': 'train', 'eval': 'eval'}
    meta_graphs = tuple(
        MetaGraphSummary((mode,), mode, {keys[mode]: SignatureSummary(mode, '', inputs, {})}, {})
        for mode, inputs in signatures.items()
    )
    return SavedModelSummary('/m', tuple(signatures), meta_graphs, (), None)


def test_schema_when_train_and_eval_disagree():
    summary = _summary(
        train={'x': TensorSummary('x', 'x:0', 'float32', (None,))},
        eval={'x': TensorSummary('x', 'x:0', 'int64', (None,))},
    )
    with pytest.raises(
        SchemaInferenceError,
        match=r"input 'x' is float32 \[None\] in the 'train' signature but int64 \[None\] in the "
        r"'eval' signature",
    ):
        infer_schema(summary)


def test_schema_of_an_input_no_example_holds():
    summary = _summary(train={'z': TensorSummary('z', 'z:0', 'complex64', (None,))})
    with pytest.raises(SchemaInferenceError, match=r"input 'z' is complex64, which no tf.Example"):
        infer_schema(summary)


def test_schema_without_a_schema_output(tmp_path):
    with pytest.raises(
        executor.ImporterParameterError, match=r"emit_schema needs a 'schema' output"
    ):
        _do(tmp_path, SEED / 'saved_model', emit_schema=1)
    _assert_nothing_published(tmp_path)


def test_missing_source_uri(tmp_path):
    _, outputs = _outputs(tmp_path)
    with pytest.raises(executor.ImporterParameterError, match=r'source_uri=None is invalid'):
        executor.Executor().Do({}, outputs, {})


@pytest.mark.parametrize(
    ('properties', 'match'),
    [
        (
            {spec.REQUIRED_MODES_KEY: '["training"]'},
            r"required_modes=\['training'\].*found 'training'",
        ),
        ({spec.REQUIRED_MODES_KEY: '["train"'}, r'required_modes=.*expected a JSON list'),
        ({spec.REQUIRED_MODES_KEY: '[1]'}, r'expected a list of strings'),
        (
            {spec.ALLOW_UNSAFE_OPS_KEY: 'pyfunc'},
            r"'pyfunc' is not an op type TensorFlow .* registers .*did you mean 'PyFunc'\?",
        ),
    ],
)
def test_bad_parameters(tmp_path, properties, match):
    with pytest.raises(executor.ImporterParameterError, match=match):
        _do(tmp_path, SEED / 'saved_model', **properties)
    _assert_nothing_published(tmp_path)


def test_a_failed_copy_leaves_nothing(tmp_path, monkeypatch):
    real_copy = tf.io.gfile.copy

    def copy_failing_on_variables(src, dst, overwrite=False):
        if 'variables.data' in src:
            raise tf.errors.UnavailableError(None, None, 'disk full')
        real_copy(src, dst, overwrite)

    monkeypatch.setattr(tf.io.gfile, 'copy', copy_failing_on_variables)
    with pytest.raises(tf.errors.UnavailableError, match='disk full'):
        _do(tmp_path, SEED / 'saved_model')
    _assert_nothing_published(tmp_path)


# The component's declaration


def test_component_declares_json_parameters_and_the_schema_only_when_asked():
    importer = SavedModelImporter(
        source_uri='gs://bucket/export/1', required_modes=['train', 'eval'], emit_schema=True
    )
    assert importer.exec_properties == {
        spec.SOURCE_URI_KEY: 'gs://bucket/export/1',
        spec.REQUIRED_MODES_KEY: '["train", "eval"]',
        spec.ALLOW_UNSAFE_OPS_KEY: '[]',
        spec.EMIT_SCHEMA_KEY: 1,
    }
    assert set(importer.outputs) == {spec.MODEL_KEY, spec.SCHEMA_KEY}
    assert set(SavedModelImporter(source_uri='/m').outputs) == {spec.MODEL_KEY}


def test_component_rejects_unknown_modes_when_declared():
    with pytest.raises(ValueError, match=r"required_modes=\['serve'\] is invalid: modes are"):
        SavedModelImporter(source_uri='/m', required_modes='serve')


# A local pipeline: the importer twice (cached the second time), and stock Pusher downstream.


@pytest.mark.slow
def test_local_pipeline_caches_the_import_and_pusher_pushes_it(tmp_path):
    from ml_metadata.metadata_store import metadata_store
    from ml_metadata.proto import metadata_store_pb2
    from tfx import v1 as tfx

    metadata_path = tmp_path / 'metadata.sqlite'
    push_dir = tmp_path / 'serving'

    def make_pipeline():
        importer = SavedModelImporter(
            source_uri=str(SEED / 'saved_model'), required_modes=['train', 'eval']
        )
        pusher = tfx.components.Pusher(
            model=importer.outputs['model'],
            push_destination=tfx.proto.PushDestination(
                filesystem=tfx.proto.PushDestination.Filesystem(base_directory=str(push_dir))
            ),
        )
        return tfx.dsl.Pipeline(
            pipeline_name='importer-test',
            pipeline_root=str(tmp_path / 'root'),
            components=[importer, pusher],
            enable_cache=True,
            metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
                str(metadata_path)
            ),
        )

    tfx.orchestration.LocalDagRunner().run(make_pipeline())
    tfx.orchestration.LocalDagRunner().run(make_pipeline())

    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = str(metadata_path)
    store = metadata_store.MetadataStore(config)
    type_names = {t.id: t.name for t in store.get_execution_types()}
    runs: dict[str, list[int]] = {}
    for execution in sorted(store.get_executions(), key=lambda e: e.id):
        runs.setdefault(type_names[execution.type_id].rsplit('.', 1)[-1], []).append(
            execution.last_known_state
        )
    complete_then_cached = [
        metadata_store_pb2.Execution.COMPLETE,
        metadata_store_pb2.Execution.CACHED,
    ]
    assert runs == {'SavedModelImporter': complete_then_cached, 'Pusher': complete_then_cached}

    models = store.get_artifacts_by_type('Model')
    assert len(models) == 1  # the cached run reused the first run's artifact
    (model,) = models
    assert model.custom_properties[artifacts.CONTENT_HASH_PROPERTY].string_value == content_hash(
        SEED / 'saved_model'
    )

    (pushed_version,) = push_dir.iterdir()  # the second Pusher run was cached too
    assert (pushed_version / 'saved_model.pb').exists()
    assert SavedModelReader(pushed_version).available_modes == ['train', 'eval', 'infer']
