# syntax=docker/dockerfile:1
# seq2serve image: export the shipped checkpoints to ONNX at build time, serve them without torch.
#
#   docker build -t seq2serve:cpu .
#   docker build --build-arg FLAVOR=gpu --build-arg RUNTIME_BASE=nvidia/cuda:13.0.1-cudnn-runtime-ubuntu22.04 -t seq2serve:gpu .
#   docker run --rm -p 8000:8000 seq2serve:cpu            (GPU: add --gpus all)
#
# Stages: `export` (torch, CPU build) writes /build/models; `runtime` (FROM RUNTIME_BASE) makes a Python
# 3.11 venv at /opt/venv, installs the project's dependencies without extras, the serving code and the
# exported graphs. No stage name is computed from a build arg, so every builder (BuildKit, the classic
# builder, podman/buildah) builds the same two stages (`make image-check` builds it with podman).
# Pins: base images by tag (deploy/README.md: pinning by digest); Python packages through
# deploy/constraints-*.txt, regenerated with `python deploy/requirements.py --lock`.
# Static checks, no Docker needed: scripts/check-deploy.sh.

# cpu: onnxruntime; gpu: onnxruntime-gpu, which needs RUNTIME_BASE to be a CUDA 13 + cuDNN 9 image.
ARG FLAVOR=cpu
# The Python 3.11 image the export stage (and, by default, the runtime) starts from. `make image-check`
# passes a Debian bookworm image it builds locally (debootstrap + Debian's python3 and python3-venv),
# since no registry can be reached there.
ARG PYTHON_BASE=python:3.11.14-slim-bookworm
# The runtime's base. For FLAVOR=gpu: nvidia/cuda:13.0.1-cudnn-runtime-ubuntu22.04 (docker-compose.gpu.yml
# passes it), what the onnxruntime-gpu wheels on PyPI are built against (deploy/README.md).
ARG RUNTIME_BASE=${PYTHON_BASE}

# ---------------------------------------------------------------------------------------------------
# export: checkpoints/*.safetensors -> /build/models/<model>/{encode,decode_step}.onnx + meta.json
# The base is a build arg, which hadolint cannot resolve (DL3006); its default above pins a tag.
# hadolint ignore=DL3006
FROM ${PYTHON_BASE} AS export
# torch comes from the PyTorch CPU wheel index, not pip's default index: PyPI's Linux torch wheel is the
# CUDA build, which drags in gigabytes of nvidia-* wheels the export never uses. Only torch itself
# comes from there (--no-deps); everything else, torch's own dependencies too, comes from PyPI, pinned.
# make image-check passes PyPI's URL: its pipconf secret's find-links then supply a CPU build of torch.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
# Must equal the pin in pyproject's `train` extra (scripts/check-deploy.sh checks).
ARG TORCH_VERSION=2.13.0
ENV PATH=/opt/venv/bin:$PATH \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /src
COPY pyproject.toml ./
COPY deploy/requirements.py deploy/constraints-export.txt deploy/
# A venv, not the base's own interpreter: Debian's python3 refuses system-wide pip installs (PEP 668).
# The optional `pipconf` secret is the builder's pip configuration (mirrors, index URLs), for the pip
# installs only: a secret mount leaves no trace in the image or its history (make image-check uses it).
RUN python3 -m venv /opt/venv
RUN --mount=type=secret,id=pipconf,target=/etc/pip.conf \
    pip install --no-cache-dir --no-deps --index-url "${TORCH_INDEX_URL}" "torch==${TORCH_VERSION}" \
    && python deploy/requirements.py --extra train > /tmp/requirements.txt \
    && pip install --no-cache-dir -c deploy/constraints-export.txt -r /tmp/requirements.txt
# Only what the export reads: model code and cards, the exporters, the task registry (service/tasks.py
# names each model's checkpoints and exporter) and the shipped checkpoints (.dockerignore drops
# checkpoints/*_*.safetensors, which are training-run artefacts).
COPY models/ models/
COPY service/ service/
COPY export/ export/
COPY checkpoints/ checkpoints/
# The runtime has no torch, so the TorchScript copies (*.ts) are of no use there.
RUN python -m export --force --out /build/models \
    && find /build/models -name '*.ts' -delete

# ---------------------------------------------------------------------------------------------------
# runtime: ONNX Runtime and the numpy serving code; no torch, non-root, one process (python -m service).
# hadolint ignore=DL3006
FROM ${RUNTIME_BASE} AS runtime
ARG FLAVOR
ARG DEBIAN_FRONTEND=noninteractive
# A Python 3.11 venv at /opt/venv on either flavor. The Python and Debian bases have python3.11; the CUDA
# image (Ubuntu 22.04) does not, and Ubuntu's own python3.11 package is the 3.11.0 release candidate, so
# there it comes from the deadsnakes PPA, whose helper is removed again in the same layer.
# Not pinning apt versions (DL3008): Ubuntu replaces package versions with each security update, so a
# pinned version stops installing; the base image tag is what pins this stage.
# hadolint ignore=DL3008
RUN if [ "${FLAVOR}" = gpu ] && [ ! -d /usr/local/cuda ]; then \
        echo "FLAVOR=gpu needs a CUDA base: --build-arg RUNTIME_BASE=nvidia/cuda:13.0.1-cudnn-runtime-ubuntu22.04" >&2; \
        exit 1; \
    fi \
    && if ! command -v python3.11 > /dev/null; then \
        apt-get update \
        && apt-get install -y --no-install-recommends software-properties-common \
        && add-apt-repository -y ppa:deadsnakes/ppa \
        && apt-get update \
        && apt-get install -y --no-install-recommends python3.11 python3.11-venv \
        && apt-get purge -y --auto-remove software-properties-common \
        && rm -rf /var/lib/apt/lists/*; \
    fi \
    && python3.11 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# The project's dependencies without extras (FLAVOR=gpu: onnxruntime-gpu in place of onnxruntime),
# read from pyproject.toml and pinned by the constraints file. scripts/check-deploy.sh runs these same
# two commands (FLAVOR=cpu) in a clean venv and imports the app from the files copied below.
COPY pyproject.toml /tmp/seq2serve/
COPY deploy/requirements.py deploy/constraints-runtime.txt /tmp/seq2serve/deploy/
RUN --mount=type=secret,id=pipconf,target=/etc/pip.conf \
    python /tmp/seq2serve/deploy/requirements.py --flavor "${FLAVOR}" > /tmp/seq2serve/requirements.txt \
    && pip install --no-cache-dir -c /tmp/seq2serve/deploy/constraints-runtime.txt -r /tmp/seq2serve/requirements.txt \
    && rm -rf /tmp/seq2serve
WORKDIR /app
# The server's code, and of each task's package under models/ only what serving imports (handler, route,
# schemas, settings, registry entry, numpy search and features); its `training` package and exporter
# (torch) stay out: importing them here would fail, by design. NTM has no serving side yet.
COPY service/ service/
COPY models/__init__.py models/beam.py models/ensemble.py models/stepping.py models/tokens.py models/
COPY models/hull/__init__.py models/hull/geometry.py models/hull/search.py models/hull/handler.py models/hull/route.py models/hull/schemas.py models/hull/settings.py models/hull/task.py models/hull/
COPY models/translate/__init__.py models/translate/search.py models/translate/vocab.py models/translate/subwords.py models/translate/handler.py models/translate/route.py models/translate/schemas.py models/translate/settings.py models/translate/task.py models/translate/
COPY models/speech/__init__.py models/speech/audio.py models/speech/chars.py models/speech/features.py models/speech/search.py models/speech/handler.py models/speech/route.py models/speech/schemas.py models/speech/settings.py models/speech/task.py models/speech/
COPY models/caption/__init__.py models/caption/images.py models/caption/search.py models/caption/handler.py models/caption/route.py models/caption/schemas.py models/caption/settings.py models/caption/task.py models/caption/
COPY models/sentiment/__init__.py models/sentiment/infer.py models/sentiment/render.py models/sentiment/structure.py models/sentiment/trees.py models/sentiment/vocab.py models/sentiment/handler.py models/sentiment/route.py models/sentiment/schemas.py models/sentiment/settings.py models/sentiment/task.py models/sentiment/
COPY models/qa/__init__.py models/qa/text.py models/qa/handler.py models/qa/route.py models/qa/schemas.py models/qa/settings.py models/qa/task.py models/qa/
COPY models/ntm/__init__.py models/ntm/machine.py models/ntm/handler.py models/ntm/route.py models/ntm/schemas.py models/ntm/settings.py models/ntm/task.py models/ntm/
COPY deploy/healthcheck.py deploy/
COPY --from=export /build/models/ artifacts/
# Bytecode compiled once here, so a read-only root filesystem costs nothing at start-up.
RUN python -m compileall -q service models deploy \
    && groupadd --system --gid 10001 seq2serve \
    && useradd --system --no-log-init --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin seq2serve
USER 10001:10001
ENV SEQ2SERVE_HOST=0.0.0.0 \
    SEQ2SERVE_PORT=8000 \
    SEQ2SERVE_ARTIFACTS_DIR=/app/artifacts
EXPOSE 8000
LABEL org.opencontainers.image.title="seq2serve" \
    org.opencontainers.image.description="REST inference for attention seq2seq models on ONNX Runtime"
# Readiness, not liveness: unhealthy while models load, after a failed load, and while draining.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 CMD ["python", "deploy/healthcheck.py"]
# Exec form: python is PID 1 and gets SIGTERM itself, which starts the drain
# (SEQ2SERVE_DRAIN_TIMEOUT_S; give the container longer than that to stop).
CMD ["python", "-m", "service"]
