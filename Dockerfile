# The image Kubeflow Pipelines and Vertex AI Pipelines run the components in: the same pinned
# lock the tests run on (requirements/main.lock: TFX 1.16, TensorFlow 2.16, Beam, kfp 2.5) plus
# this package. Nothing is fetched at run time.
#
#   docker build -t REGION-docker.pkg.dev/PROJECT/REPO/sme:TAG .
#   docker push REGION-docker.pkg.dev/PROJECT/REPO/sme:TAG
FROM python:3.10-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /opt/sme

COPY requirements/main.lock requirements/main.lock
RUN python -m pip install --no-cache-dir "uv==0.13.9" \
    && uv pip install --system --no-cache -r requirements/main.lock

COPY pyproject.toml README.md ./
COPY savedmodel_estimator savedmodel_estimator
COPY components components
COPY pipelines pipelines
COPY schemas schemas
RUN uv pip install --system --no-cache --no-deps . \
    && python -c "import savedmodel_estimator, components, pipelines, schemas"

# TFX's Kubeflow V2 launcher is given as the command by the compiled pipeline spec:
#   python -m tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor ...
CMD ["sme", "--help"]
