#!/usr/bin/env bash
# The GPU benchmarks, on a bare CUDA machine that has PyTorch, Triton, sentence-transformers, CMake and
# pybind11 but none of our other dependencies and no network (the device machine):
#   bench/gpu_device.sh [STEP...]   (default: serving kernels indexing; a step that fails is reported
#                                    and the next one runs)
#   serving   10M-pool scoring end to end under load: launches shared by concurrent requests against one
#             launch per request (bench/gpu_serving.py; ~3 min)
#   kernels   the fused similarity + top-k kernel at 10M, 1 to 64 queries, both paths (bench/gpu_bench.py)
#   indexing  indexing throughput (bench/bench_indexing.py --device cuda; needs .devdata/)
# What it needs travels beside the checkout, in ignored folders:
#   .whl/      wheels for that machine's Python of faiss-cpu, SQLAlchemy, msgspec, pyahocorasick, Babel and
#              fairlearn (pip download --only-binary=:all: --python-version 3.12 ...)
#   .devdata/  resumes.csv.gz (the livecareer-dev resumes) and all-MiniLM-L6-v2/, the bundled model's
#              directory without its weights: the weights are drawn at random there (throughput does not
#              depend on them, and they exceed what travels)
# Results: $OUT/*.json and the benches' output on stdout (and in $OUT/log.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
exec > >(tee "$OUT/log.txt") 2>&1

python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site

# The native re-ranker and top-k, built for this Python.
cmake -S . -B /tmp/native -G Ninja -DCMAKE_BUILD_TYPE=Release -DPython_EXECUTABLE="$(command -v python3)" \
  -Dpybind11_DIR="$(python3 -m pybind11 --cmakedir)" >/dev/null
cmake --build /tmp/native >/dev/null
cp /tmp/native/_native*.so cerebro_serve/

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
nproc | tee -a "$OUT/gpu.txt"
python3 -c "import sys, torch, triton; print(sys.version.split()[0], torch.__version__, triton.__version__)"

indexing() {
  mkdir -p ../shared/data/resumes/livecareer-dev
  gunzip -c .devdata/resumes.csv.gz >../shared/data/resumes/livecareer-dev/resumes.csv
  mkdir -p /tmp/model && cp -r .devdata/all-MiniLM-L6-v2 /tmp/model/
  python3 -c '
import torch
from transformers import BertConfig, BertModel

torch.manual_seed(0)
directory = "/tmp/model/all-MiniLM-L6-v2"
BertModel(BertConfig.from_pretrained(directory)).save_pretrained(directory)
'
  run() {  # name, count, then the bench's options; a count of 0 skips the run
    local name=$1 count=$2
    shift 2
    [ "$count" -gt 0 ] || return 0
    PYTHONUNBUFFERED=1 python3 -m bench.bench_indexing --device cuda --model /tmp/model/all-MiniLM-L6-v2 \
      --count "$count" --out "$OUT/indexing_$name.json" "$@" 2>&1 | grep -v -E "Loading weights|it/s]"
  }
  run import_workers "${GPU_IMPORT_COUNT:-40000}" --paths import --import-workers -1 || echo "FAILED: import_workers"
  run import_alone "${GPU_ALONE_COUNT:-3000}" --paths import --import-workers 0 || echo "FAILED: import_alone"
  run api "${GPU_API_COUNT:-2000}" --paths callers,batches || echo "FAILED: api"
}
serving() {
  # shellcheck disable=SC2086 # options split on purpose
  PYTHONUNBUFFERED=1 python3 -m bench.gpu_serving --out "$OUT/gpu_serving.json" ${GPU_SERVING_ARGS:-}
}
kernels() {
  # shellcheck disable=SC2086 # options split on purpose
  PYTHONUNBUFFERED=1 python3 -m bench.gpu_bench --skip-faiss --out "$OUT/gpu_bench.json" ${GPU_BENCH_ARGS:-}
}

for step in "${@:-serving kernels indexing}"; do
  for name in $step; do
    "$name" || echo "FAILED: $name"
  done
done
