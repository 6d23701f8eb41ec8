"""The native kfp pipeline: the compiled spec against its golden copy, and every compiled
component's command run here as kfp's launcher runs it in the container.

kfp 2.5's `kfp.local` cannot run these components: its SubprocessRunner refuses container
components, DockerRunner needs a Docker engine (none here), and it takes no input artifacts at all
(every component here has some). So `Launcher` does the launcher's part: it builds the
ExecutorInput from the compiled component's interface, puts local directories where the launcher
puts the artifacts' local paths (`/gcs/...` on a cluster), resolves the placeholders, and runs the
command, with `.venv/bin/sme` for the image's `sme` and `.venv/bin/python` for its `python3`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import re
import subprocess
import sys
from typing import Any

import pytest
import yaml
from golden_artifacts import EXPORTS, make_examples

from pipelines.kfp_native.pipeline import GOLDEN

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
SEED = EXPORTS / 'dnn_classifier_seed'
TRAIN_STEPS = 5
_PLACEHOLDER = re.compile(
    r"\{\{\$\.(inputs|outputs)\.(artifacts|parameters)\['([^']+)'\](\.path)?\}\}"
)


@dataclasses.dataclass
class Launched:
    """One executor run: its output artifacts' paths, what it told kfp, and what it printed."""

    outputs: dict[str, str]
    executor_output: dict
    returncode: int
    stdout: str
    stderr: str

    @property
    def log(self) -> str:
        return f'{self.stdout}\n{self.stderr}'

    @property
    def parameters(self) -> dict[str, Any]:
        return self.executor_output.get('parameterValues', {})

    def metadata(self, artifact: str) -> dict[str, Any]:
        """The metadata kfp records for an output artifact (for Metrics: the logged values)."""
        return self.executor_output['artifacts'][artifact]['artifacts'][0]['metadata']


class Launcher:
    """Runs one executor of a compiled pipeline on local directories, as kfp's launcher would."""

    def __init__(self, spec: dict, root: pathlib.Path) -> None:
        self.spec = spec
        self.root = root
        self._runs = 0

    def run(self, task: str, inputs: dict[str, Any]) -> Launched:
        """Runs the executor of task `task` (e.g. 'import-model') on `inputs` (paths, values)."""
        component = self.spec['components'][f'comp-{task}']
        executor = self.spec['deploymentSpec']['executors'][component['executorLabel']]
        container = executor['container']
        self._runs += 1
        executor_input = self._executor_input(task, component, inputs)
        command = []
        for part in container['command'] + container.get('args', []):
            command += self._resolve(part, executor_input)
        if command[0] == 'sme':
            command[0] = str(BIN / 'sme')
        command = [part.replace('python3 -m', f'{BIN / "python"} -m') for part in command]
        env = {**os.environ, 'TF_CPP_MIN_LOG_LEVEL': '2'}
        done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=self.root)
        output_file = pathlib.Path(executor_input['outputs']['outputFile'])
        return Launched(
            outputs={
                name: spec['artifacts'][0]['uri']
                for name, spec in executor_input['outputs']['artifacts'].items()
            },
            executor_output=json.loads(output_file.read_text()) if output_file.exists() else {},
            returncode=done.returncode,
            stdout=done.stdout,
            stderr=done.stderr,
        )

    def run_ok(self, task: str, inputs: dict[str, Any]) -> Launched:
        launched = self.run(task, inputs)
        assert launched.returncode == 0, f'{task} failed:\n{launched.log}'
        return launched

    def _executor_input(self, task: str, component: dict, inputs: dict) -> dict:
        task_root = self.root / f'{self._runs}-{task}'
        definitions = component.get('inputDefinitions', {})
        parameters, artifacts = {}, {}
        for name, definition in definitions.get('parameters', {}).items():
            if name in inputs or 'defaultValue' in definition:
                value = inputs.get(name, definition.get('defaultValue'))
                # Protobuf numbers are floats: the launcher gives integer parameters as integers.
                integer = definition['parameterType'] == 'NUMBER_INTEGER'
                parameters[name] = int(value) if integer else value
            elif not definition.get('isOptional'):
                raise TypeError(f'{task}() missing 1 required argument: {name!r}.')
        for name, definition in definitions.get('artifacts', {}).items():
            if name in inputs:
                artifacts[name] = {'artifacts': [_artifact(name, definition, str(inputs[name]))]}
            elif not definition.get('isOptional'):
                raise TypeError(f'{task}() missing 1 required argument: {name!r}.')
        outputs = component.get('outputDefinitions', {})
        output_artifacts = {}
        for name, definition in outputs.get('artifacts', {}).items():
            # The launcher makes an output's parent directory; the component makes the output.
            (task_root / name).parent.mkdir(parents=True, exist_ok=True)
            output_artifacts[name] = {'artifacts': [_artifact(name, definition, task_root / name)]}
        return {
            'inputs': {'parameterValues': parameters, 'artifacts': artifacts},
            'outputs': {
                'artifacts': output_artifacts,
                'parameters': {
                    name: {'outputFile': str(task_root / 'parameters' / name)}
                    for name in outputs.get('parameters', {})
                },
                'outputFile': str(task_root / 'executor_output.json'),
            },
        }

    def _resolve(self, part: Any, executor_input: dict) -> list[str]:
        """One command element: a placeholder string, or kfp's IfPresent / Concat structure."""
        if isinstance(part, str) and part.startswith(('{"IfPresent"', '{"Concat"')):
            part = json.loads(part)
        if isinstance(part, dict) and 'IfPresent' in part:
            condition = part['IfPresent']
            inputs = executor_input['inputs']
            present = condition['InputName'] in {**inputs['parameterValues'], **inputs['artifacts']}
            branch = condition.get('Then' if present else 'Else', [])
            branch = branch if isinstance(branch, list) else [branch]
            return [text for item in branch for text in self._resolve(item, executor_input)]
        if isinstance(part, dict) and 'Concat' in part:
            return [
                ''.join(t for item in part['Concat'] for t in self._resolve(item, executor_input))
            ]
        return [
            _PLACEHOLDER.sub(
                lambda m: _value(m, executor_input),
                part.replace('{{$}}', json.dumps(executor_input)),
            )
        ]


def _artifact(name: str, definition: dict, uri: Any) -> dict:
    return {'name': name, 'type': definition['artifactType'], 'uri': str(uri), 'metadata': {}}


def _value(match: re.Match, executor_input: dict) -> str:
    side, kind, name, _ = match.groups()
    if kind == 'artifacts':
        # A local URI is its own path (on a cluster: gs://b/x -> /gcs/b/x).
        return executor_input[side]['artifacts'][name]['artifacts'][0]['uri']
    value = executor_input['inputs']['parameterValues'][name]
    return value if isinstance(value, str) else json.dumps(value)


def _properties(stdout: str) -> dict:
    """The JSON `sme` prints after its progress lines (TensorFlow may log after it)."""
    match = re.search(r'^\{$', stdout, re.MULTILINE)
    assert match, f'No JSON in the output:\n{stdout}'
    return json.JSONDecoder().raw_decode(stdout, match.start())[0]


def _normalized(text: str) -> str:
    return re.sub(r'^sdkVersion: .*$', 'sdkVersion: kfp-X', text, flags=re.MULTILINE)


@pytest.fixture(scope='module')
def compiled(tmp_path_factory) -> pathlib.Path:
    """The pipeline compiled by its regeneration entry point, with the default image."""
    out = tmp_path_factory.mktemp('compiled') / 'pipeline.yaml'
    env = {k: v for k, v in os.environ.items() if k != 'SME_IMAGE'}
    command = [sys.executable, '-m', 'pipelines.kfp_native.pipeline', '--out', str(out)]
    subprocess.run(command, cwd=REPO, env=env, check=True, capture_output=True)
    return out


@pytest.fixture(scope='module')
def launcher(compiled, tmp_path_factory) -> Launcher:
    return Launcher(yaml.safe_load(compiled.read_text()), tmp_path_factory.mktemp('pipeline_root'))


def test_compiled_pipeline_matches_the_golden_copy(compiled):
    assert _normalized(compiled.read_text()) == _normalized(GOLDEN.read_text()), (
        'The compiled pipeline changed: review the difference, then regenerate the golden copy '
        'with `env -u SME_IMAGE .venv/bin/python -m pipelines.kfp_native.pipeline '
        '--out pipelines/kfp_native/golden/pipeline.yaml`.'
    )


def test_compiled_pipeline_is_a_pipeline_spec_over_the_sme_stages(compiled):
    from google.protobuf import json_format
    from kfp.pipeline_spec import pipeline_spec_pb2

    spec = json_format.ParseDict(
        yaml.safe_load(compiled.read_text()), pipeline_spec_pb2.PipelineSpec()
    )
    containers = [
        executor['container']
        for executor in spec.deployment_spec['executors'].values()
        if 'container' in executor
    ]
    assert {c['image'] for c in containers} == {'savedmodel-estimator:0.1.0'}
    stages = {tuple(c['command'])[:2] for c in containers if c['command'][0] == 'sme'}
    assert stages == {('sme', s) for s in ('import', 'train', 'evaluate', 'predict')}


def test_kfp_local_in_kfp_2_5_takes_no_input_artifacts(tmp_path):
    """Every component here has input artifacts, hence `Launcher`. When this fails (a later kfp),
    run the Python components through kfp.local instead."""
    from kfp import dsl, local

    from pipelines.kfp_native.metrics import log_evaluation_metrics

    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path))
    try:
        with pytest.raises(ValueError, match='Input artifacts are not supported'):
            log_evaluation_metrics(
                evaluation=dsl.Artifact(uri=str(tmp_path)), blessing=dsl.Artifact(uri=str(tmp_path))
            )
    finally:
        local.config.LocalExecutionConfig.instance = None


# The Python components on hand-made artifacts in the stages' layouts: quick, and the paths the
# golden data does not take.


def test_log_evaluation_metrics_when_not_blessed(launcher, tmp_path):
    evaluation, blessing = tmp_path / 'evaluation', tmp_path / 'blessing'
    evaluation.mkdir()
    blessing.mkdir()
    report = {'metrics': {'loss': 2.5, 'global_step': 7}, 'reason': 'NOT_BLESSED: loss > 1'}
    (evaluation / 'metrics.json').write_text(json.dumps(report))
    (blessing / 'NOT_BLESSED').touch()

    run = launcher.run('log-evaluation-metrics', {'evaluation': evaluation, 'blessing': blessing})
    assert run.returncode == 0, run.log
    assert run.parameters == {'blessed': False, 'reason': 'NOT_BLESSED: loss > 1'}
    assert run.metadata('metrics') == {'loss': 2.5, 'global_step': 7}


def test_log_evaluation_metrics_names_what_is_missing(launcher, tmp_path):
    run = launcher.run('log-evaluation-metrics', {'evaluation': tmp_path, 'blessing': tmp_path})
    assert run.returncode != 0
    assert f"Evaluation '{tmp_path}' has no metrics.json (found: [])" in run.log


def test_log_confusion_matrix_counts_labels_against_the_top_class(launcher, tmp_path):
    rows = [(1.0, [0.2, 0.8]), (0.0, [0.9, 0.1]), (0.0, [0.3, 0.7]), (1.0, [0.4, 0.6])]
    split = tmp_path / 'rows' / 'Split-eval'
    split.mkdir(parents=True)
    (split / 'rows-00000-of-00001.jsonl').write_text(
        ''.join(
            json.dumps({'id': i, 'label': y, 'classes': ['0', '1'], 'scores': s}) + '\n'
            for i, (y, s) in enumerate(rows)
        )
    )
    run = launcher.run('log-confusion-matrix', {'predictions': tmp_path, 'label_feature': 'label'})
    assert run.returncode == 0, run.log
    matrix = run.metadata('metrics')['confusionMatrix']
    assert [a['displayName'] for a in matrix['annotationSpecs']] == ['0', '1']
    assert [r['row'] for r in matrix['rows']] == [[1, 1], [0, 2]]


def test_log_confusion_matrix_without_the_label_says_to_pass_it_through(launcher, tmp_path):
    split = tmp_path / 'rows' / 'Split-eval'
    split.mkdir(parents=True)
    (split / 'rows.jsonl').write_text('{"classes": ["0", "1"], "scores": [0.5, 0.5]}\n')
    run = launcher.run('log-confusion-matrix', {'predictions': tmp_path, 'label_feature': 'y'})
    assert run.returncode != 0
    assert "has no ['y']" in run.log
    assert "run batch_predict with passthrough='y'" in run.log


# import -> train -> evaluate -> metrics -> predict -> confusion matrix on the golden seed export,
# each step the compiled command of its component.


@pytest.fixture(scope='module')
def examples(tmp_path_factory) -> pathlib.Path:
    root = tmp_path_factory.mktemp('examples')
    make_examples(root, 'dnn_classifier_seed')
    return root


@pytest.fixture(scope='module')
def imported(launcher) -> Launched:
    return launcher.run_ok('import-model', {'saved_model': SEED / 'saved_model'})


@pytest.fixture(scope='module')
def trained(launcher, imported, examples) -> Launched:
    inputs = {
        'base_model': imported.outputs['model'],
        'examples': examples,
        'train_steps': TRAIN_STEPS,
        'batch_size': 32,
    }
    return launcher.run_ok('continue-training', inputs)


@pytest.fixture(scope='module')
def evaluated(launcher, imported, trained, examples) -> Launched:
    inputs = {
        'model': trained.outputs['model'],
        'baseline_model': imported.outputs['model'],
        'examples': examples,
        'threshold': 'loss<=100',
    }
    return launcher.run_ok('evaluate-model', inputs)


@pytest.fixture(scope='module')
def predicted(launcher, trained, evaluated, examples) -> Launched:
    inputs = {
        'model': trained.outputs['model'],
        'examples': examples,
        'blessing': evaluated.outputs['blessing'],
        'split': 'eval',
        'passthrough': 'label',
    }
    return launcher.run_ok('batch-predict', inputs)


@pytest.mark.slow
def test_import_model(imported):
    assert (pathlib.Path(imported.outputs['model']) / 'Format-Serving' / 'saved_model.pb').is_file()
    assert _properties(imported.stdout)['model']['global_step'] == 10


@pytest.mark.slow
def test_continue_training_advances_the_global_step(trained):
    assert _properties(trained.stdout)['model']['global_step'] == 10 + TRAIN_STEPS
    assert (pathlib.Path(trained.outputs['model']) / 'Format-Serving' / 'saved_model.pb').is_file()
    assert (pathlib.Path(trained.outputs['model_run']) / 'checkpoint').is_file()


@pytest.mark.slow
def test_evaluate_model_blesses_against_the_baseline(evaluated):
    assert (pathlib.Path(evaluated.outputs['blessing']) / 'BLESSED').is_file()
    report = json.loads(
        (pathlib.Path(evaluated.outputs['evaluation']) / 'metrics.json').read_text()
    )
    assert report['metrics']['global_step'] == 10 + TRAIN_STEPS
    assert report['baseline_metrics']['global_step'] == 10


@pytest.mark.slow
def test_log_evaluation_metrics_on_the_evaluators_output(launcher, evaluated):
    inputs = {k: evaluated.outputs[k] for k in ('evaluation', 'blessing')}
    run = launcher.run_ok('log-evaluation-metrics', inputs)
    report = json.loads((pathlib.Path(inputs['evaluation']) / 'metrics.json').read_text())
    # What kfp records for the Metrics artifact (and shows in its UI).
    logged = run.metadata('metrics')
    assert logged['loss'] == pytest.approx(report['metrics']['loss'])
    assert logged['global_step'] == 10 + TRAIN_STEPS
    assert logged['baseline/global_step'] == 10
    assert run.parameters['blessed'] is True
    assert run.parameters['reason'].startswith('BLESSED')


@pytest.mark.slow
def test_batch_predict_writes_a_row_per_eval_example(predicted):
    paths = sorted((pathlib.Path(predicted.outputs['predictions']) / 'rows').rglob('*.jsonl'))
    rows = [json.loads(line) for path in paths for line in path.read_text().splitlines()]
    assert len(rows) == _properties(predicted.stdout)['inference_result']['num_examples'] == 300
    assert {'label', 'classes', 'scores'} <= set(rows[0])


@pytest.mark.slow
def test_log_confusion_matrix_on_the_predictions(launcher, predicted):
    run = launcher.run_ok(
        'log-confusion-matrix',
        {'predictions': predicted.outputs['predictions'], 'label_feature': 'label'},
    )
    matrix = run.metadata('metrics')['confusionMatrix']
    paths = (pathlib.Path(predicted.outputs['predictions']) / 'rows').rglob('*.jsonl')
    labels = [json.loads(line)['label'] for path in paths for line in path.read_text().splitlines()]
    assert [sum(r['row']) for r in matrix['rows']] == [labels.count(0.0), labels.count(1.0)]
