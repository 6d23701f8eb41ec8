"""What this environment's protobuf costs on the messages the cases pass around; one result line.

    .venv-legacy/bin/python -m benchmarks.cases.protobuf_costs

The lanes differ in protobuf as much as in TensorFlow: 3.20 (its C++ extension, which serializes
TensorFlow's messages by reflection) on the legacy lane, 6 (upb) on the latest, 4.25 (upb) beside
the original. Timed here, each the median of several repetitions after a warm-up:

* `saved_model.pb` of the seed and wide exports parsed (every estimator parses it once);
* the `train` MetaGraph's GraphDef serialized and parsed: session start, the events file and
  every checkpoint's `.meta` pass GraphDefs through protobuf several times per train call;
* a PredictionLog per example built with the message API and serialized, as tfx-bsl's
  RunInference does for stock BulkInferrer (the tf.Example parsed, copied into a `classify_log`
  request, two scored classes in the response), over the wide fixture's eval records; only where
  `tensorflow_serving` is installed (not beside the original). BatchPredictor's own encoding
  (bytes, not messages) is timed by `batch_stages`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

from benchmarks.common import EXPORTS, MODELS, emit, environment_facts, saved_model_dir

GRAPH_REPEATS = 15
LOG_REPEATS = 5


def _median_s(fn: Callable[[], Any], repeats: int) -> float:
    fn()  # warm-up: first-use caches (descriptor pools, upb's arenas)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def graph_costs(model: str) -> dict[str, float]:
    from tensorflow.core.framework import graph_pb2
    from tensorflow.core.protobuf import saved_model_pb2

    raw = (saved_model_dir(model) / 'saved_model.pb').read_bytes()
    saved_model = saved_model_pb2.SavedModel.FromString(raw)
    train = next(g for g in saved_model.meta_graphs if 'train' in g.meta_info_def.tags)
    graph_def = train.graph_def
    graph_bytes = graph_def.SerializeToString()
    return {
        'saved_model_kb': round(len(raw) / 1024, 1),
        'graph_def_kb': round(len(graph_bytes) / 1024, 1),
        'parse_saved_model_ms': _ms(lambda: saved_model_pb2.SavedModel.FromString(raw)),
        'serialize_graph_def_ms': _ms(graph_def.SerializeToString),
        'parse_graph_def_ms': _ms(lambda: graph_pb2.GraphDef.FromString(graph_bytes)),
    }


def _ms(fn: Callable[[], Any]) -> float:
    return round(_median_s(fn, GRAPH_REPEATS) * 1e3, 3)


def prediction_log_us() -> float | None:
    """µs per example to build and serialize a classify PredictionLog with the message API."""
    try:
        from tensorflow_serving.apis import prediction_log_pb2
    except ImportError:
        return None
    import tensorflow as tf

    path = EXPORTS / MODELS['wide'] / 'data' / 'eval.tfrecord'
    records = list(tf.data.TFRecordDataset(str(path)).as_numpy_iterator())

    def encode_all() -> int:
        size = 0
        for record in records:
            log = prediction_log_pb2.PredictionLog()
            classify = log.classify_log
            example = tf.train.Example.FromString(record)
            classify.request.input.example_list.examples.add().CopyFrom(example)
            classes = classify.response.result.classifications.add()
            for label, score in ((b'0', 0.25), (b'1', 0.75)):
                entry = classes.classes.add()
                entry.label, entry.score = label, score
            size += len(log.SerializeToString())
        return size

    return round(_median_s(encode_all, LOG_REPEATS) / len(records) * 1e6, 2)


def run() -> dict[str, Any]:
    import tensorflow  # noqa: F401 (its protobuf modules, and the environment facts)

    return {
        'case': 'protobuf_costs',
        'impl': 'protobuf',
        'graphs': {model: graph_costs(model) for model in MODELS},
        'prediction_log_us': prediction_log_us(),
        'environment': environment_facts(),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    emit(run())


if __name__ == '__main__':
    main()
