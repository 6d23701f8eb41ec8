"""The native kfp pipeline: its compiled spec against the golden copy of the installed kfp, and a
run of it, each task's outputs checked.

Where kfp.local runs pipelines (kfp >= 2.7: the latest lane's kfp 2.16), kfp's own local runner
runs the compiled pipeline end to end (`kfp_local_host`), with `SubprocessRunner` in this venv.
Three things it still cannot do here, each lifted there and each with a canary below:

- run a container component without a Docker engine: `SubprocessRunner` refuses them
  (kfp/local/subprocess_task_handler.py, `validate_not_container_component`), and `DockerRunner`
  needs an engine, which these machines lack. The four `sme` stages run on this host instead,
  with this venv's `sme` in the image's place.
- pass on a container component's output artifacts: it reads a task's outputs only from the
  ExecutorOutput file the task writes (kfp/local/executor_output_utils.py,
  `get_outputs_from_executor_output`), and `sme` writes none; kfp's launcher on a cluster takes
  them from the ExecutorInput. Recorded here as the launcher records them.
- evaluate a `dsl.If`: it `eval`s the compiled condition as Python
  (kfp/local/orchestrator/enhanced_dag_orchestrator.py, `ConditionEvaluator`), which fails, and
  skips the branch. Both conditions are taken out; the test checks the run satisfies them.

Where it does not (the legacy lane's kfp 2.5 runs single lightweight Python components only, and
none with an input artifact), `kfp_launcher.Launcher` runs each compiled task's command by hand
as kfp's launcher would, in the order of the pipeline.
"""

# No `from __future__ import annotations`: kfp reads the annotations of the components defined in
# the tests below at run time, and string annotations name nothing it can resolve.
import json
import os
import pathlib
import re
import subprocess
import sys

import kfp
import pytest
import yaml

from savedmodel_estimator_tfx.pipelines.kfp_native import pipeline
from savedmodel_estimator_tfx.pipelines.kfp_native.components import DEFAULT_IMAGE, SME_IMAGE
from savedmodel_estimator_tfx.pipelines.kfp_native.metrics import (
    log_confusion_matrix,
    log_evaluation_metrics,
)
from tests.integration.golden_artifacts import make_examples
from tests.integration.kfp_launcher import Launcher
from tests.integration.kfp_local_host import (
    RUNS_PIPELINES,
    on_this_host,
    run_compiled,
    run_component,
)
from tests.integration.kfp_local_host import without_conditions as conditionless
from tests.integration.kfp_task_run import TaskRun
from tests.support.paths import REPO, SEED

TRAIN_STEPS = 5
PYTHON_COMPONENTS = {c.name: c for c in (log_evaluation_metrics, log_confusion_matrix)}
# The pipeline's arguments in the end-to-end run (and `examples_uri`: examples made from SEED's).
ARGUMENTS = {
    'saved_model_uri': str(SEED / 'saved_model'),
    'train_steps': TRAIN_STEPS,
    'batch_size': 32,
    'threshold': 'loss<=100',
    'predict_split': 'eval',
    'label_feature': 'label',
    'classifier': True,
}
# The pipeline's two dsl.If, by task, and the value each requires to be true: the metrics task's
# `blessed` output, the `classifier` argument.
BRANCHES = {'condition-1': 'log-evaluation-metrics-blessed', 'condition-2': 'classifier'}
local_pipelines = pytest.mark.skipif(
    not RUNS_PIPELINES, reason=f'kfp {kfp.__version__}: kfp.local runs no pipelines (kfp >= 2.7)'
)


def _normalized(text: str) -> str:
    return re.sub(r'^sdkVersion: kfp-.*$', 'sdkVersion: kfp-X', text, flags=re.MULTILINE)


def _compile(out: pathlib.Path) -> pathlib.Path:
    """The pipeline compiled by its command line, with the default image."""
    env = {k: v for k, v in os.environ.items() if k != 'SME_IMAGE'}
    command = [
        sys.executable,
        '-m',
        'savedmodel_estimator_tfx.pipelines.kfp_native.pipeline',
        '--out',
        str(out),
    ]
    subprocess.run(command, cwd=REPO, env=env, check=True, capture_output=True)
    return out


@pytest.fixture(scope='module')
def compiled(tmp_path_factory) -> pathlib.Path:
    return _compile(tmp_path_factory.mktemp('compiled') / 'pipeline.yaml')


def _regeneration_command() -> str:
    python = pathlib.Path(os.path.relpath(sys.executable, REPO))  # e.g. .venv-latest/bin/python
    lane = re.fullmatch(r'\.venv-(legacy|latest)', python.parts[0])
    on_lane = f'tools/lane {lane.group(1)} ' if lane else ''
    return f'env -u SME_IMAGE {on_lane}{python} -m savedmodel_estimator_tfx.pipelines.kfp_native.pipeline --golden'


def test_compiled_pipeline_matches_the_golden_copy(compiled):
    golden = pipeline.golden_path()
    others = sorted(p.name for p in golden.parent.glob('pipeline.kfp-*.yaml'))
    missing = f'No golden copy for kfp {kfp.__version__} ({golden.name}; found: {others}).'
    changed = f'The pipeline kfp {kfp.__version__} compiles differs from {golden.name}.'
    what_next = f'Review the difference, then write it with `{_regeneration_command()}`.'
    assert golden.is_file(), f'{missing} {what_next}'
    assert _normalized(compiled.read_text()) == _normalized(golden.read_text()), (
        f'{changed} {what_next}'
    )


@pytest.mark.parametrize('suffix', ['.yaml', '.json'])
def test_compiled_pipeline_is_a_pipeline_spec_over_the_sme_stages(compiled, tmp_path, suffix):
    from google.protobuf import json_format
    from kfp.pipeline_spec import pipeline_spec_pb2

    path = compiled if suffix == '.yaml' else _compile(tmp_path / f'pipeline{suffix}')
    spec = json_format.ParseDict(yaml.safe_load(path.read_text()), pipeline_spec_pb2.PipelineSpec())
    containers = [
        executor['container']
        for executor in spec.deployment_spec['executors'].values()
        if 'container' in executor
    ]
    assert {c['image'] for c in containers} == {DEFAULT_IMAGE}
    stages = {tuple(c['command'])[:2] for c in containers if c['command'][0] == 'sme'}
    assert stages == {('sme', s) for s in ('import', 'train', 'evaluate', 'predict')}


# Canaries: what kfp.local cannot do, each of which the runs below work around.


def test_kfp_local_runs_no_component_with_an_input_artifact_on_its_own(tmp_path):
    """Hence one-task pipelines with importers (kfp >= 2.7), or `Launcher` (kfp 2.5)."""
    from kfp import dsl, local

    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path))
    try:
        with pytest.raises(ValueError, match='Input artifacts are not supported'):
            log_evaluation_metrics(
                evaluation=dsl.Artifact(uri=str(tmp_path)), blessing=dsl.Artifact(uri=str(tmp_path))
            )
    finally:
        local.config.LocalExecutionConfig.instance = None


def _directory_makers():
    """Two container components: one makes a directory artifact, one lists it."""
    from kfp import dsl

    @dsl.container_component
    def make_directory(out: dsl.Output[dsl.Artifact]):
        return dsl.ContainerSpec(image=SME_IMAGE, command=['mkdir', '-p', out.path])

    @dsl.container_component
    def list_directory(directory: dsl.Input[dsl.Artifact]):
        return dsl.ContainerSpec(image=SME_IMAGE, command=['ls', directory.path])

    return make_directory, list_directory


@local_pipelines
def test_kfp_local_refuses_container_components_without_docker(tmp_path):
    """When this fails, SubprocessRunner runs container components: drop `run_containers`."""
    make_directory, _ = _directory_makers()
    refused = 'only supports running Lightweight Python Components'
    with pytest.raises(RuntimeError, match=refused), on_this_host(tmp_path, run_containers=False):
        make_directory()


@local_pipelines
def test_kfp_local_passes_on_no_output_artifact_of_a_container_component(tmp_path):
    """When this fails, kfp.local records outputs as the launcher does: drop `record_outputs`."""
    from kfp import dsl

    make_directory, list_directory = _directory_makers()

    @dsl.pipeline(name='make-then-list')
    def make_then_list():
        list_directory(directory=make_directory().output)

    missing = "Tried to get output 'out' from task 'make-directory'"
    with pytest.raises(ValueError, match=missing), on_this_host(tmp_path, record_outputs=False):
        make_then_list()
    with on_this_host(tmp_path) as run:
        make_then_list()
    assert run.tasks['list-directory'].returncode == 0, run.log


@local_pipelines
def test_kfp_local_skips_a_dsl_if_branch_whose_condition_holds(tmp_path):
    """When this fails, kfp.local evaluates dsl.If: run the pipeline with its conditions."""
    from kfp import dsl

    @dsl.component(base_image=SME_IMAGE, install_kfp_package=False)
    def echo(text: str) -> str:
        return text

    @dsl.pipeline(name='branch')
    def branch(answer: str):
        with dsl.If(answer == 'yes', name='yes'):
            echo(text=answer)

    with on_this_host(tmp_path) as run:
        branch(answer='yes')
    assert "Pipeline 'branch' finished with status SUCCESS" in run.log
    assert 'echo' not in run.tasks


# The Python components on hand-made artifacts in the stages' layouts: quick, and the paths the
# golden data does not take.


@pytest.fixture
def run_task(compiled, tmp_path_factory):
    """Runs one task's component on `inputs` (artifacts as `pathlib.Path`s): with kfp.local in a
    one-task pipeline where kfp.local runs pipelines, else with `Launcher`."""
    root = tmp_path_factory.mktemp('pipeline_root')
    if RUNS_PIPELINES:
        return lambda task, inputs: run_component(PYTHON_COMPONENTS[task], inputs, root)
    return Launcher(yaml.safe_load(compiled.read_text()), root).run


def test_log_evaluation_metrics_when_not_blessed(run_task, tmp_path):
    evaluation, blessing = tmp_path / 'evaluation', tmp_path / 'blessing'
    evaluation.mkdir()
    blessing.mkdir()
    report = {'metrics': {'loss': 2.5, 'global_step': 7}, 'reason': 'NOT_BLESSED: loss > 1'}
    (evaluation / 'metrics.json').write_text(json.dumps(report))
    (blessing / 'NOT_BLESSED').touch()

    run = run_task('log-evaluation-metrics', {'evaluation': evaluation, 'blessing': blessing})
    assert run.returncode == 0, run.log
    assert run.parameters == {'blessed': False, 'reason': 'NOT_BLESSED: loss > 1'}
    assert run.metadata['metrics'] == {'loss': 2.5, 'global_step': 7}


def test_log_evaluation_metrics_names_what_is_missing(run_task, tmp_path):
    run = run_task('log-evaluation-metrics', {'evaluation': tmp_path, 'blessing': tmp_path})
    assert run.returncode != 0
    assert f"Evaluation '{tmp_path}' has no metrics.json (found: [])" in run.log


def test_log_confusion_matrix_counts_labels_against_the_top_class(run_task, tmp_path):
    rows = [(1.0, [0.2, 0.8]), (0.0, [0.9, 0.1]), (0.0, [0.3, 0.7]), (1.0, [0.4, 0.6])]
    split = tmp_path / 'rows' / 'Split-eval'
    split.mkdir(parents=True)
    (split / 'rows-00000-of-00001.jsonl').write_text(
        ''.join(
            json.dumps({'id': i, 'label': y, 'classes': ['0', '1'], 'scores': s}) + '\n'
            for i, (y, s) in enumerate(rows)
        )
    )
    run = run_task('log-confusion-matrix', {'predictions': tmp_path, 'label_feature': 'label'})
    assert run.returncode == 0, run.log
    matrix = run.metadata['metrics']['confusionMatrix']
    assert [a['displayName'] for a in matrix['annotationSpecs']] == ['0', '1']
    assert [r['row'] for r in matrix['rows']] == [[1, 1], [0, 2]]


def test_log_confusion_matrix_without_the_label_says_to_pass_it_through(run_task, tmp_path):
    split = tmp_path / 'rows' / 'Split-eval'
    split.mkdir(parents=True)
    (split / 'rows.jsonl').write_text('{"classes": ["0", "1"], "scores": [0.5, 0.5]}\n')
    run = run_task('log-confusion-matrix', {'predictions': tmp_path, 'label_feature': 'y'})
    assert run.returncode != 0
    assert "has no ['y']" in run.log
    assert "run batch_predict with passthrough='y'" in run.log


# The whole pipeline on the golden seed export: saved-model and examples importers -> import ->
# train -> evaluate -> metrics -> (blessed) predict -> (classifier) confusion matrix.


def _launch_by_hand(launcher: Launcher, examples: pathlib.Path) -> dict[str, TaskRun]:
    """Each task's compiled command, wired as the pipeline wires them, both branches taken."""
    args, runs = ARGUMENTS, {}
    runs['import-model'] = launcher.run_ok('import-model', {'saved_model': args['saved_model_uri']})
    model = runs['import-model'].outputs['model']
    inputs = {'base_model': model, 'examples': examples, 'train_steps': args['train_steps']}
    inputs['batch_size'] = args['batch_size']
    runs['continue-training'] = launcher.run_ok('continue-training', inputs)
    trained = runs['continue-training'].outputs['model']
    inputs = {'model': trained, 'baseline_model': model, 'examples': examples}
    inputs['threshold'] = args['threshold']
    runs['evaluate-model'] = evaluated = launcher.run_ok('evaluate-model', inputs)
    inputs = {name: evaluated.outputs[name] for name in ('evaluation', 'blessing')}
    runs['log-evaluation-metrics'] = launcher.run_ok('log-evaluation-metrics', inputs)
    inputs = {'model': trained, 'examples': examples, 'blessing': evaluated.outputs['blessing']}
    inputs |= {'split': args['predict_split'], 'passthrough': args['label_feature']}
    runs['batch-predict'] = launcher.run_ok('batch-predict', inputs)
    inputs = {'predictions': runs['batch-predict'].outputs['predictions']}
    inputs['label_feature'] = args['label_feature']
    runs['log-confusion-matrix'] = launcher.run_ok('log-confusion-matrix', inputs)
    return runs


@pytest.fixture(scope='module')
def pipeline_run(compiled, tmp_path_factory) -> dict[str, TaskRun]:
    """Every task's run: by kfp.local where it runs pipelines, else by `Launcher`."""
    examples = tmp_path_factory.mktemp('examples')
    make_examples(examples, 'dnn_classifier_seed')
    root = tmp_path_factory.mktemp('pipeline_root')
    spec = yaml.safe_load(compiled.read_text())
    if not RUNS_PIPELINES:
        return _launch_by_hand(Launcher(spec, root), examples)
    run = run_compiled(conditionless(spec)[0], ARGUMENTS | {'examples_uri': str(examples)}, root)
    assert "Pipeline 'savedmodel-estimator' finished with status SUCCESS" in run.log, run.log
    return run.tasks


@pytest.mark.slow
@local_pipelines
def test_kfp_local_ran_the_branches_a_cluster_would(compiled, pipeline_run):
    """The run went without the pipeline's dsl.If conditions (kfp.local skips their branches): the
    conditions taken out are the two expected, and the run's own values satisfy both."""
    removed = conditionless(yaml.safe_load(compiled.read_text()))[1]
    assert removed == {
        task: f"inputs.parameter_values['pipelinechannel--{value}'] == true"
        for task, value in BRANCHES.items()
    }
    values = {
        'log-evaluation-metrics-blessed': pipeline_run['log-evaluation-metrics'].parameters[
            'blessed'
        ],
        'classifier': ARGUMENTS['classifier'],
    }
    assert [values[value] for value in BRANCHES.values()] == [True, True]
    ran = {task for task, run in pipeline_run.items() if run.returncode == 0}
    assert {'batch-predict', 'log-confusion-matrix'} <= ran


@pytest.mark.slow
def test_import_model(pipeline_run):
    imported = pipeline_run['import-model']
    assert (pathlib.Path(imported.outputs['model']) / 'Format-Serving' / 'saved_model.pb').is_file()
    assert imported.properties()['model']['global_step'] == 10


@pytest.mark.slow
def test_continue_training_advances_the_global_step(pipeline_run):
    trained = pipeline_run['continue-training']
    assert trained.properties()['model']['global_step'] == 10 + TRAIN_STEPS
    assert (pathlib.Path(trained.outputs['model']) / 'Format-Serving' / 'saved_model.pb').is_file()
    assert (pathlib.Path(trained.outputs['model_run']) / 'checkpoint').is_file()


@pytest.mark.slow
def test_evaluate_model_blesses_against_the_baseline(pipeline_run):
    evaluated = pipeline_run['evaluate-model']
    assert (pathlib.Path(evaluated.outputs['blessing']) / 'BLESSED').is_file()
    report = json.loads(
        (pathlib.Path(evaluated.outputs['evaluation']) / 'metrics.json').read_text()
    )
    assert report['metrics']['global_step'] == 10 + TRAIN_STEPS
    assert report['baseline_metrics']['global_step'] == 10


@pytest.mark.slow
def test_log_evaluation_metrics_on_the_evaluators_output(pipeline_run):
    run = pipeline_run['log-evaluation-metrics']
    evaluation = pipeline_run['evaluate-model'].outputs['evaluation']
    report = json.loads((pathlib.Path(evaluation) / 'metrics.json').read_text())
    # What kfp records for the Metrics artifact (and shows in its UI).
    logged = run.metadata['metrics']
    assert logged['loss'] == pytest.approx(report['metrics']['loss'])
    assert logged['global_step'] == 10 + TRAIN_STEPS
    assert logged['baseline/global_step'] == 10
    assert run.parameters['blessed'] is True
    assert run.parameters['reason'].startswith('BLESSED')


@pytest.mark.slow
def test_batch_predict_writes_a_row_per_eval_example(pipeline_run):
    predicted = pipeline_run['batch-predict']
    paths = sorted((pathlib.Path(predicted.outputs['predictions']) / 'rows').rglob('*.jsonl'))
    rows = [json.loads(line) for path in paths for line in path.read_text().splitlines()]
    assert len(rows) == predicted.properties()['inference_result']['num_examples'] == 300
    assert {'label', 'classes', 'scores'} <= set(rows[0])


@pytest.mark.slow
def test_log_confusion_matrix_on_the_predictions(pipeline_run):
    matrix = pipeline_run['log-confusion-matrix'].metadata['metrics']['confusionMatrix']
    predictions = pipeline_run['batch-predict'].outputs['predictions']
    paths = (pathlib.Path(predictions) / 'rows').rglob('*.jsonl')
    labels = [json.loads(line)['label'] for path in paths for line in path.read_text().splitlines()]
    assert [sum(r['row']) for r in matrix['rows']] == [labels.count(0.0), labels.count(1.0)]
