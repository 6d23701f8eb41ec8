"""The pipeline compiled for Vertex AI and Kubeflow Pipelines v2, against the golden specs."""

from __future__ import annotations

import difflib
import json
import os
import pathlib
import stat

import pytest
import yaml
from click.testing import CliRunner
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

from savedmodel_estimator_tfx.pipelines import compiled_spec, kubeflow_v2
from savedmodel_estimator_tfx.pipelines.cli.compile_command import compile_command
from savedmodel_estimator_tfx.pipelines.config import PipelineConfig
from savedmodel_estimator_tfx.pipelines.kubeflow_v2 import CompileError, compile_pipeline

TARGETS = ('vertex', 'kubeflow')
OUR_TASKS = ('SavedModelImporter', 'ContinueTrainer', 'EstimatorEvaluator', 'BatchPredictor')


@pytest.fixture(scope='module')
def compiled() -> dict[str, dict]:
    """The golden configuration compiled for each target, as compile_pipeline returns it."""
    config = kubeflow_v2.golden_config()
    return {
        target: compile_pipeline(
            config,
            target,
            kubeflow_v2.GOLDEN_IMAGE,
            None,
            pipeline_root=kubeflow_v2.GOLDEN_PIPELINE_ROOT,
            beam_pipeline_args=kubeflow_v2.GOLDEN_BEAM_ARGS,
        )
        for target in TARGETS
    }


def _text(job: dict) -> list[str]:
    return json.dumps(job, indent=2, sort_keys=True).splitlines()


@pytest.mark.parametrize('target', TARGETS)
def test_compiled_spec_matches_the_golden_file(compiled, target):
    golden = json.loads(kubeflow_v2.golden_path(target).read_text())
    actual = compiled_spec.normalize(compiled[target])
    if actual != golden:
        diff = difflib.unified_diff(_text(golden), _text(actual), 'golden', 'compiled', lineterm='')
        pytest.fail(
            f'The compiled {target} spec differs from {kubeflow_v2.golden_path(target).name}. '
            'If the change is intended, run `python -m savedmodel_estimator_tfx.pipelines.kubeflow_v2 --regenerate-golden` '
            'and commit the diff.\n' + '\n'.join(list(diff)[:80])
        )


@pytest.mark.parametrize('target', TARGETS)
def test_compiled_spec_is_a_pipeline_job(compiled, target):
    job = json_format.ParseDict(compiled[target], pipeline_spec_pb2.PipelineJob())
    spec = json_format.ParseDict(compiled[target]['pipelineSpec'], pipeline_spec_pb2.PipelineSpec())
    assert spec.pipeline_info.name == 'sme-golden'
    assert spec.schema_version == {'vertex': '2.0.0', 'kubeflow': '2.1.0'}[target]
    assert job.runtime_config.gcs_output_directory == kubeflow_v2.GOLDEN_PIPELINE_ROOT
    assert set(spec.root.dag.tasks) == {'ExampleGen', *OUR_TASKS}
    assert set(spec.root.dag.tasks['BatchPredictor'].dependent_tasks) == {
        'ContinueTrainer',
        'EstimatorEvaluator',
        'ExampleGen',
    }
    for executor in compiled[target]['pipelineSpec']['deploymentSpec']['executors'].values():
        container = executor['container']
        assert container['image'] == kubeflow_v2.GOLDEN_IMAGE
        assert container['command'][-1] == compiled_spec.RUN_EXECUTOR_MODULE
        assert container['args'][-len(kubeflow_v2.GOLDEN_BEAM_ARGS) :] == list(
            kubeflow_v2.GOLDEN_BEAM_ARGS
        )


@pytest.mark.parametrize('target', TARGETS)
def test_every_executor_class_path_imports(compiled, target):
    paths = compiled_spec.executor_class_paths(compiled[target])
    assert {label: path for label, path in paths.items() if not label.startswith('Ex')} == {
        'SavedModelImporter_executor': 'savedmodel_estimator_tfx.components.saved_model_importer.executor.Executor',
        'ContinueTrainer_executor': 'savedmodel_estimator_tfx.components.continue_trainer.executor.Executor',
        'EstimatorEvaluator_executor': 'savedmodel_estimator_tfx.components.estimator_evaluator.executor.Executor',
        'BatchPredictor_executor': 'savedmodel_estimator_tfx.components.batch_predictor.executor.Executor',
    }
    assert paths['ExampleGen_executor'] == (
        'tfx.components.example_gen.import_example_gen.executor.Executor'
    )
    assert compiled_spec.entry_point_modules(compiled[target]) == {
        compiled_spec.RUN_EXECUTOR_MODULE,
        'tfx.orchestration.kubeflow.v2.file_based_example_gen.driver',
    }
    assert compiled_spec.check_imports(compiled[target]) == []


def test_check_imports_names_what_a_container_could_not_import(compiled):
    job = json.loads(json.dumps(compiled['vertex']))
    args = job['pipelineSpec']['deploymentSpec']['executors']['ContinueTrainer_executor'][
        'container'
    ]['args']
    args[args.index('--executor_class_path') + 1] = '__main__.Executor'
    assert compiled_spec.check_imports(job) == [
        "ContinueTrainer_executor: executor class '__main__.Executor' does not import "
        "(module '__main__' has no attribute 'Executor')"
    ]


def test_the_trainer_checkpoints_under_the_pipeline_root(compiled):
    task = compiled['kubeflow']['pipelineSpec']['root']['dag']['tasks']['ContinueTrainer']
    checkpoint_dir = task['inputs']['parameters']['checkpoint_dir']['runtimeValue']['constant']
    assert checkpoint_dir == kubeflow_v2.GOLDEN_PIPELINE_ROOT + '/checkpoints'


def test_out_is_written_as_a_pipeline_job_or_a_pipeline_spec(tmp_path):
    config = PipelineConfig(saved_model='s3://models/export/1', data='/mnt/data', data_format='csv')
    job = compile_pipeline(config, 'kubeflow', 'sme:test', tmp_path / 'p.json', 'minio://root')
    assert json.loads((tmp_path / 'p.json').read_text()) == job
    mode = stat.S_IMODE(os.stat(tmp_path / 'p.json').st_mode)
    assert mode == 0o666 & ~_umask()
    kubeflow_v2.write_spec(job, tmp_path / 'p.yaml')
    spec = json_format.ParseDict(
        yaml.safe_load((tmp_path / 'p.yaml').read_text()), pipeline_spec_pb2.PipelineSpec()
    )
    assert spec.pipeline_info.name == 'sme-continue-training'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['p.json', 'p.yaml']  # no temp files


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _config(**changes) -> PipelineConfig:
    return kubeflow_v2.golden_config().replace(**changes)


@pytest.mark.parametrize(
    ('target', 'changes', 'root', 'match'),
    [
        ('vertex', {}, 's3://bucket/root', r"pipeline root 's3://bucket/root' cannot be used on vertex.*Expected gs://BUCKET/PATH; pass one with --pipeline-root"),
        ('vertex', {}, '/mnt/root', r"pipeline root '/mnt/root' cannot be used on vertex"),
        ('vertex', {'saved_model': 'export/1'}, None, r"saved_model 'export/1' cannot be used on vertex.*gsutil cp"),
        ('kubeflow', {}, 'root', r"pipeline root 'root' is a relative path"),
        ('kubeflow', {'data': 'data'}, None, r"data 'data' is a relative path"),
        ('kubeflow', {'pipeline_name': 'My_Pipeline'}, None, r"pipeline name 'My_Pipeline' is not valid.*\[a-z0-9\]\[a-z0-9-\]\{0,127\}.*Try 'my-pipeline'"),
        ('kubeflow', {'pipeline_name': 'a' * 129}, None, r'at most 128 characters'),
        ('kubeflow', {'data_format': 'auto'}, None, r"data_format 'auto' cannot be resolved at compile time: data 'gs://example-bucket/sme/data'"),
        ('argo', {}, None, r"target 'argo' is not one of \['kubeflow', 'vertex'\]"),
    ],
)  # fmt: skip
def test_settings_the_target_cannot_run_with_are_refused(target, changes, root, match):
    with pytest.raises(CompileError, match=match) as raised:
        compile_pipeline(
            _config(**changes), target, 'sme:1', None, root or kubeflow_v2.GOLDEN_PIPELINE_ROOT
        )
    assert isinstance(raised.value, ValueError)
    assert raised.value.found in (root, *changes.values(), target)


def test_kubeflow_takes_any_uri_or_absolute_path():
    config = _config(saved_model='/mnt/models/1', data='s3://data')
    for root in ('minio://mlpipeline/v2', 's3://b/r', '/mnt/pipeline-root', 'gs://b/r'):
        target, _ = kubeflow_v2.validate(config, 'kubeflow', 'sme:1', root)
        assert target.schema_2_1


def test_bad_image_and_out_are_refused(tmp_path):
    with pytest.raises(CompileError, match=r"image 'sme 1' is not a container image reference"):
        kubeflow_v2.validate(_config(), 'vertex', 'sme 1', kubeflow_v2.GOLDEN_PIPELINE_ROOT)
    with pytest.raises(CompileError, match=r"out '.*p.txt' must end with .json .* or .yaml"):
        compile_pipeline(_config(), 'vertex', 'sme:1', tmp_path / 'p.txt', 'gs://b/r')


def test_sme_compile_writes_the_spec(tmp_path):
    out = tmp_path / 'vertex.json'
    result = CliRunner().invoke(
        compile_command,
        [
            '--target=vertex',
            '--image=sme:1',
            f'--out={out}',
            '--saved-model=gs://b/export/1',
            '--data=gs://b/data',
            '--data-format=csv',
            '--pipeline-root=gs://b/root',
            '--beam-arg=--runner=DataflowRunner',
            '--beam-arg=--region=us-central1',
        ],
    )
    assert result.exit_code == 0, result.output
    assert "pipeline 'sme-continue-training', 5 tasks, schema 2.0.0" in result.output
    job = json.loads(out.read_text())
    args = job['pipelineSpec']['deploymentSpec']['executors']['BatchPredictor_executor']
    assert args['container']['args'][-2:] == ['--runner=DataflowRunner', '--region=us-central1']


def test_sme_compile_reports_a_bad_pipeline_root(tmp_path):
    result = CliRunner().invoke(
        compile_command,
        [
            '--target=vertex',
            '--image=sme:1',
            f'--out={tmp_path / "p.json"}',
            '--saved-model=gs://b/export/1',
            '--data=gs://b/data',
            '--data-format=csv',
        ],
    )
    assert result.exit_code == 2
    assert "error: pipeline root 'sme-output/pipeline_root' cannot be used on vertex" in (
        result.output
    )
    assert not (tmp_path / 'p.json').exists()


@pytest.mark.slow
def test_vertex_sdk_builds_a_pipeline_job_request_from_the_file(compiled, tmp_path):
    """A dry run: the request aiplatform.PipelineJob would submit, built offline."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import aiplatform

    path = tmp_path / 'pipeline.json'
    kubeflow_v2.write_spec(compiled['vertex'], path)
    job = aiplatform.PipelineJob(
        display_name='sme-golden',
        template_path=str(path),
        project='example-project',
        location='us-central1',
        credentials=AnonymousCredentials(),
    )
    request = job.to_dict()  # the PipelineJob proto submit() would send, as JSON
    assert request['runtimeConfig']['gcsOutputDirectory'] == kubeflow_v2.GOLDEN_PIPELINE_ROOT
    assert set(request['pipelineSpec']['root']['dag']['tasks']) == {'ExampleGen', *OUR_TASKS}


def test_golden_files_are_what_regeneration_writes():
    for target in TARGETS:
        path: pathlib.Path = kubeflow_v2.golden_path(target)
        text = path.read_text()
        assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + '\n'
        assert '<version>' in text  # normalized: no installed version leaks into the file
