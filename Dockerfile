# The image Kubeflow Pipelines and Vertex AI Pipelines run the components in: the same pinned
# lock the tests run on (requirements/main.lock: TFX 1.16, TensorFlow 2.16, Beam, kfp 2.5) plus
# this package. Nothing is fetched at run time, and nothing beyond the lock at build time.
#
# linux/amd64 on Debian 12 (bookworm, glibc 2.36): the lock is resolved for x86_64
# manylinux_2_36 and Python 3.10, and Vertex AI runs amd64 images.
#
#   docker build --platform linux/amd64 -t REGION-docker.pkg.dev/PROJECT/REPO/sme:TAG .
#   docker push REGION-docker.pkg.dev/PROJECT/REPO/sme:TAG
#   sme compile --target vertex --image REGION-docker.pkg.dev/PROJECT/REPO/sme:TAG ...
FROM --platform=linux/amd64 python:3.10.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /opt/sme

# The uv version the Makefile pins, installing the lock the tests use; bytecode compiled here, so
# no container start compiles TensorFlow again (PYTHONDONTWRITEBYTECODE stops writing, not reading).
COPY requirements/main.lock requirements/main.lock
RUN python -m pip install --no-cache-dir "uv==0.13.9" \
    && uv pip install --system --no-cache --compile-bytecode -r requirements/main.lock

# This package, built with the lock's setuptools (no build isolation, no dependency resolution).
COPY pyproject.toml README.md ./
COPY savedmodel_estimator savedmodel_estimator
COPY components components
COPY pipelines pipelines
COPY schemas schemas
RUN uv pip install --system --no-cache --no-deps --no-build-isolation . \
    && cd / \
    && python -m pipelines.kubeflow_v2 --check-imports /opt/sme/pipelines/golden/vertex_pipeline.json

# The compiled pipeline spec gives each task its command, TFX's Kubeflow V2 entry point:
#   python -m tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor \
#     --executor_class_path components.<name>.executor.Executor --json_serialized_invocation_args ...
CMD ["sme", "--help"]
