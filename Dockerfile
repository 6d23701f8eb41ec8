# The image Kubeflow Pipelines and Vertex AI Pipelines run the components in: the pinned lock of
# one of the project's two lanes (the one the tests of that lane run on) plus this package. Nothing
# is fetched at run time, and nothing beyond the lock at build time (but a C++ compiler for the
# lock's one source-only package, pyfarmhash, removed again in the same step).
#
# The lane is two build args that go together, the base image and its lock:
#   latest (the default)  python:3.11.14-slim-trixie  + requirements/latest.lock
#                         TFX 1.21, TensorFlow 2.21, kfp 2.16; Debian 13, glibc 2.41 (wheels: 2.39)
#   legacy                python:3.10.13-slim-bookworm + requirements/legacy.lock
#                         TFX 1.16, TensorFlow 2.16, kfp 2.5; Debian 12, glibc 2.36
# linux/amd64 either way: the locks are resolved for x86_64 manylinux, and Vertex AI runs amd64.
#
#   docker build --platform linux/amd64 -t REGION-docker.pkg.dev/PROJECT/REPO/sme:TAG .
#   docker build --platform linux/amd64 -t REGION-docker.pkg.dev/PROJECT/REPO/sme:TAG-legacy \
#       --build-arg BASE_IMAGE=python:3.10.13-slim-bookworm \
#       --build-arg LOCK=requirements/legacy.lock .
#   docker push REGION-docker.pkg.dev/PROJECT/REPO/sme:TAG
#   sme compile --target vertex --image REGION-docker.pkg.dev/PROJECT/REPO/sme:TAG ...
#
# tools/test-image (make test-image) builds it without a Docker engine, on a local stand-in for
# the base image, and runs a component through TFX's container entry point inside it.
ARG BASE_IMAGE=python:3.11.14-slim-trixie
ARG LOCK=requirements/latest.lock
FROM --platform=linux/amd64 ${BASE_IMAGE}
ARG BASE_IMAGE
ARG LOCK

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /opt/sme

# A lock missing from the context, or resolved for another Python than the base image's, fails
# here, saying so, rather than halfway through the install with a wheel-tag error.
COPY requirements/ requirements/
RUN python=$(python -c 'import sys; print("python%d.%d" % sys.version_info[:2])'); \
    if [ ! -f "$LOCK" ]; then \
        echo "$LOCK is not in the build context (see .dockerignore)" >&2; exit 1; \
    fi; \
    if ! grep -q "uv pip compile .*$python" "$LOCK"; then \
        echo "$LOCK was not resolved for the $python of $BASE_IMAGE: pass the BASE_IMAGE and" \
             "LOCK of one lane (see the Dockerfile's header)" >&2; exit 1; \
    fi

# The uv version tools/make-venv pins, installing the lock the tests use; bytecode compiled here,
# so no container start compiles TensorFlow again (PYTHONDONTWRITEBYTECODE stops writing, not
# reading). pyfarmhash (for TFDV) has no wheel: g++ builds it, then goes, in this one layer.
RUN apt-get update \
    && apt-get install -y --no-install-recommends g++ \
    && python -m pip install --no-cache-dir "uv==0.13.9" \
    && uv pip install --system --no-cache --compile-bytecode -r "$LOCK" \
    && apt-get purge -y --auto-remove g++ \
    && rm -rf /var/lib/apt/lists/*

# This package, built with the lock's setuptools (no build isolation, no dependency resolution).
COPY pyproject.toml setup.py README.md ./
COPY savedmodel_estimator savedmodel_estimator
COPY components components
COPY pipelines pipelines
COPY schemas schemas
RUN uv pip install --system --no-cache --no-deps --no-build-isolation . \
    && cd / \
    && python -m savedmodel_estimator_tfx.pipelines.kubeflow_v2 --check-imports /opt/sme/pipelines/golden/vertex_pipeline.json

# The compiled pipeline spec gives each task its command, TFX's Kubeflow V2 entry point:
#   python -m tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor \
#     --executor_class_path components.<name>.executor.Executor --json_serialized_invocation_args ...
CMD ["sme", "--help"]
