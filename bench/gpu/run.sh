#!/usr/bin/env bash
# The GPU benchmark of issue 13, for one H100/H200 box with PyTorch for CUDA
# 13 and the nvidia-* CUDA 13 wheels, and no network; about 5-8 minutes.
# Prepare the checkout first where the network is (bench/gpu/prepare.sh).
#
#   bench/gpu/run.sh                   on the GPU box
#   bench/gpu/run.sh --tiny --cpu      a dry run of every step on a CPU machine
#
# Steps (each time-limited; results in $OUT, default bench/gpu/out/<time>/):
#   1. `radraft model runtime`: ONNX Runtime's version, providers, devices, CUDA status.
#   2. The demo model: radraft's Run loop on CPU against the IoBinding loop on
#      CUDA, 64 tokens past EOS, tokens must be identical (loopbench exits 1
#      otherwise); and `radraft draft` of the testdata CR image on both, the
#      findings text must be identical.
#   3. A LLaVA-Rad-shaped decoder with random weights (Vicuna-7B dimensions,
#      float16) built and exported to ONNX here with PyTorch (shaped_llama.py).
#   4. radraft on it (CUDA, IoBinding loop): prefill of 1 500 positions and
#      256 decode steps, median of 3.
#   5. PyTorch on the same weights: the same prefill and 256 greedy steps
#      (and transformers' generate, when installed).
#   6. summary.py: ms per step against the memory-bandwidth floor (weights
#      bytes / HBM bandwidth) and PyTorch; a 256-token draft against ~0.45 s.
set -euo pipefail
cd "$(dirname "$0")/../.."
tiny=() dev=cuda demo_configs=cpu/run,cuda steps=256
while [ $# -gt 0 ]; do
  case $1 in
    --tiny) tiny=(--tiny); steps=32 ;;
    --cpu) dev=cpu; demo_configs=cpu/run,cpu/binding ;;
    *) echo "usage: $0 [--tiny] [--cpu]" >&2; exit 2 ;;
  esac
  shift
done
OUT=${OUT:-bench/gpu/out/$(date -u +%Y%m%dT%H%M%SZ)}  # results (small JSON files)
WORK=${WORK:-$OUT/work}                                  # the shaped bundle (13.5 GB at full size)
mkdir -p "$OUT" "$WORK"
PY=${PYTHON:-python3}
BIN=bench/gpu/out/bin
if [ ! -x "$BIN/radraft" ] || [ ! -x "$BIN/loopbench" ]; then
  command -v go >/dev/null || { echo "no $BIN/radraft and no Go: run bench/gpu/prepare.sh first" >&2; exit 1; }
  mkdir -p "$BIN"
  go build -o "$BIN/radraft" ./cmd/radraft
  go build -o "$BIN/loopbench" ./bench/inference/loopbench
fi
if [ $dev = cuda ]; then
  export RADRAFT_ORT_LIB=${RADRAFT_ORT_LIB:-$PWD/bench/gpu/out/ort/libonnxruntime.so}  # prepare.sh put it there
  # The CUDA 13 libraries of the nvidia-* wheels (every nvidia/**/lib folder
  # beside torch), ahead of whatever the loader finds otherwise.
  wheel_libs=$($PY - <<'PYEOF'
import glob, os
try:
    import nvidia
    roots = list(nvidia.__path__)
except ImportError:
    roots = []
dirs = sorted({os.path.dirname(p) for r in roots for p in glob.glob(os.path.join(r, "**", "lib", "lib*.so*"), recursive=True)})
print(":".join(dirs))
PYEOF
)
  export LD_LIBRARY_PATH=${wheel_libs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
else
  export RADRAFT_ORT_LIB=${RADRAFT_ORT_LIB:-$(scripts/fetch-onnxruntime.sh)}
fi
echo "out: $OUT; device: $dev; ORT: $RADRAFT_ORT_LIB" | tee "$OUT/run.log"

# step NAME SECONDS CMD...: run with a time limit, log its time, stdout to $OUT/NAME.json
step() {
  local name=$1 limit=$2; shift 2
  local t0=$SECONDS
  echo "== $name (limit ${limit}s): $*" | tee -a "$OUT/run.log"
  if timeout "$limit" "$@" >"$OUT/$name.json" 2> >(tee -a "$OUT/run.log" >&2); then
    echo "   $name: ok in $((SECONDS - t0)) s" | tee -a "$OUT/run.log"
  else
    local rc=$?
    echo "   $name: FAILED (exit $rc) after $((SECONDS - t0)) s" | tee -a "$OUT/run.log"
    return $rc
  fi
}

fail=0
step runtime 30 "$BIN/radraft" model runtime -v || fail=1
step demo_parity 120 "$BIN/loopbench" -model models/demo -configs "$demo_configs" -tokens 64 -reps 3 || fail=1
for d in cpu $dev; do
  step "draft_$d" 60 "$BIN/radraft" draft --model models/demo --device "$d" --image dicom/pixels/testdata/cr_display.png || fail=1
done
if [ -s "$OUT/draft_cpu.json" ] && [ -s "$OUT/draft_$dev.json" ]; then
  $PY -c 'import json,sys; a,b=(json.load(open(p)) for p in sys.argv[1:]); sys.exit(0 if a["findings"]==b["findings"] and a["tokens"]==b["tokens"] else 1)' \
    "$OUT/draft_cpu.json" "$OUT/draft_$dev.json" && echo "   draft text identical on cpu and $dev" | tee -a "$OUT/run.log" \
    || { echo "   draft text DIFFERS between cpu and $dev" | tee -a "$OUT/run.log"; fail=1; }
fi
step shaped_build 240 "$PY" bench/gpu/shaped_llama.py build "${tiny[@]}" --device $dev --out "$WORK" || fail=1
if [ -f "$WORK/bundle/model.json" ]; then
  step radraft_shaped 180 "$BIN/loopbench" -model "$WORK/bundle" -configs "$dev" -tokens $steps -prompt 1500 -reps 3 || fail=1
fi
step torch_shaped 150 "$PY" bench/gpu/shaped_llama.py torch "${tiny[@]}" --device $dev --out "$WORK" --steps $steps --reps 3 || fail=1
$PY bench/gpu/summary.py "$OUT" >>"$OUT/run.log" || fail=1
cat "$OUT/summary.json"; echo
echo "total $SECONDS s; results in $OUT" | tee -a "$OUT/run.log"
exit $fail
