#!/usr/bin/env bash
# The GPU benchmark: request- vs step-level batching for /translate and /caption, served on CUDA.
#
#   bash benchmarks/gpu.sh prepare   # here (with network): the service's Python wheels for the GPU machine, into .whl/
#   bash benchmarks/gpu.sh           # on the GPU machine, from the repo root, .whl/ carried: results in build/gpu/ (and $OUT)
#
# The GPU machine (the device tool's nvidia-h200 image) has Python 3.12 with torch (CUDA), onnx, onnxruntime
# and numpy but no network: the web framework and the other pure-Python dependencies travel as wheels.
# It exports the shipped checkpoints there (its torch), then serves them with the TorchScript runtime on
# CUDA (and with ONNX Runtime too where its providers list CUDA), and runs benchmarks/batching.py for
# each task. About 6 minutes on an H200; every step is bounded by `timeout`.
set -euo pipefail
cd "$(dirname "$0")/.."
WHEELS=(fastapi starlette pydantic pydantic-core pydantic-settings python-dotenv annotated-types typing-inspection
        uvicorn httptools sacremoses python-multipart)

if [[ "${1:-}" == "prepare" ]]; then
    grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
    rm -rf .whl && mkdir -p .whl
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        --platform any -c deploy/constraints-runtime.txt -d .whl "${WHEELS[@]}"
    ls .whl
    exit 0
fi

OUT_DIR=build/gpu
mkdir -p "$OUT_DIR"
exec > >(tee "$OUT_DIR/gpu.log") 2>&1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || { echo "no NVIDIA GPU here"; exit 1; }
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH="/tmp/site:$PWD" PYTHONUNBUFFERED=1
python3 -c "import torch, onnxruntime as ort; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), '| ort', ort.__version__, ort.get_available_providers())"
timeout 240 python3 -m export --force --out "$OUT_DIR/models" hull translate caption_grounded
runtimes=(torchscript)
python3 -c "import onnxruntime as ort, sys; sys.exit('CUDAExecutionProvider' not in ort.get_available_providers())" && runtimes+=(onnx)
for runtime in "${runtimes[@]}"; do
    for task in translate caption; do
        timeout 200 python3 -m benchmarks.batching --task "$task" --runtime "$runtime" --device cuda --duration 12 \
            --closed 8,32,128 --artifacts "$OUT_DIR/models" --out "$OUT_DIR/$runtime" || echo "$task on $runtime: failed ($?)"
    done
done
if [[ -n "${OUT:-}" ]]; then cp -r "$OUT_DIR"/*.log "$OUT_DIR"/*/ "$OUT"/ 2>/dev/null || true; fi
