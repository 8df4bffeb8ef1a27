#!/bin/sh
# What a session lent a GPU runs on the device machine (docs/cuda.md, "On a
# GPU"). That machine has nvcc but none of our libraries and no network: run
# tests/gpu_pack.sh here first and name .gpu in the device tool's `carry`;
# this script then unpacks the binaries and libraries built here and runs
# them. Without .gpu/ it builds with make (a machine that has the libraries).
#
#   sh tests/gpu_session.sh check   kernel, engine and training tests against
#                                   the CPU (PEERGRAPH_REQUIRE_CUDA: a skip
#                                   fails), compute-sanitizer on the kernels
#                                   (~20 s before the training tests; those
#                                   have not run on a GPU yet: budget 5 min)
#   sh tests/gpu_session.sh check-train   the training tests alone
#   sh tests/gpu_session.sh train   bench adapt --device cuda (8-block model)
#   sh tests/gpu_session.sh quick   G1-G4 on a 4-layer model            (~30 s)
#   sh tests/gpu_session.sh bench   G4, then G1/G2 (32 layers)          (~2 min)
#   sh tests/gpu_session.sh g3      G3 at full size (512 adapters)      (~3 min)
#   sh tests/gpu_session.sh all     the four in a row
#
# Times as seen on an H100 on 2026-11-23 (a fresh machine starts in about
# 30 s). One log per stage in $OUT (the device tool brings back 8 files):
# $OUT/STAGE.log, and the benchmarks' JSON lines in $OUT/STAGE.jsonl;
# docs/benchmarks.md, section "Inference, GPU", says where each goes.
set -u
OUT=${OUT:-build/gpu-session}
mkdir -p "$OUT"
B=build/release
BIN=$B/peergraph
if [ -f .gpu/bins.tar.xz ]; then
  [ -d /tmp/pgr-gl/gl ] || { mkdir -p /tmp/pgr-gl && tar xJf .gpu/libs.tar.xz -C /tmp/pgr-gl; }
  tar xJf .gpu/bins.tar.xz
  cub=$(find / -name 'libcublas.so.13' -not -path '/proc/*' 2>/dev/null | head -1)
  export LD_LIBRARY_PATH=/tmp/pgr-gl/gl:/usr/local/cuda/lib64${cub:+:$(dirname "$cub")}
  export PEERGRAPH_TEST_MODEL=.gpu/model.gguf
  PREBUILT=1
else
  PREBUILT=0
fi

stage=${1:-}
LOG=$OUT/$stage.log
: >"$LOG"
step() { # name, timeout, command...: appends to the stage's log
  name=$1; to=$2; shift 2
  start=$(date +%s)
  echo "== $name: $*" >>"$LOG"
  timeout "$to" "$@" >>"$LOG.part" 2>&1
  rc=$?
  cat "$LOG.part" >>"$LOG"
  echo "== $name: rc=$rc, $(( $(date +%s) - start )) s"
  grep -v '^{' "$LOG.part" | tail -n "${TAILN:-15}" | cut -c1-200 | sed 's/^/   | /'
  rm -f "$LOG.part"
  [ $rc -eq 0 ] || FAILED="${FAILED:-} $name"
}

check() {
  [ "$PREBUILT" = 1 ] || step build 600 make -j16 all
  step device 20 nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,clocks.max.memory --format=csv
  export PEERGRAPH_REQUIRE_CUDA=1
  step lora_plan 30 $B/tests/test_lora_plan
  step kernels 120 $B/tests/test_cuda_kernels
  step engine 200 $B/tests/test_cuda_engine
  step bench_gpu 30 $B/tests/test_bench_gpu
  if command -v compute-sanitizer >/dev/null 2>&1; then
    TAILN=3 step memcheck 200 compute-sanitizer --tool memcheck --error-exitcode 1 $B/tests/test_cuda_kernels
  fi
  check_train
}

# The GPU adapter training tests alone (also the end of check; never run on
# a GPU before: if check runs past a device call's 10 minutes, run this).
check_train() {
  [ "$PREBUILT" = 1 ] || [ -x $B/tests/test_cuda_train ] || step build 600 make -j16 all
  export PEERGRAPH_REQUIRE_CUDA=1
  TAILN=40 step train 240 $B/tests/test_cuda_train
  if command -v compute-sanitizer >/dev/null 2>&1; then
    PEERGRAPH_CUDA_TRAIN_KERNELS_ONLY=1 TAILN=3 step memcheck_train 150 \
      compute-sanitizer --tool memcheck --error-exitcode 1 $B/tests/test_cuda_train
  fi
}

# GPU adapter training speed (docs/training.md): steps/s and tokens/s of
# LoRA and LoReFT, prefill and all, at 128 and 256 tokens; the 8-block model
# when prebuilt (the full one does not fit a device call).
train() {
  M=${PEERGRAPH_TEST_MODEL:-models/smollm2-135m-instruct-q4_1.gguf}
  TAILN=12 step train-128 200 $BIN bench adapt --device cuda --model "$M" --tokens 128 --prompt 32 --steps 10
  TAILN=12 step train-256 200 $BIN bench adapt --device cuda --model "$M" --tokens 256 --prompt 64 --steps 10
  TAILN=12 step train-cpu 200 $BIN bench adapt --model "$M" --threads 16 --tokens 128 --prompt 32 --steps 3
}

quick() {
  step quick-g4 100 $BIN bench gpu --only g4 --reps 3
  step quick-g1g2 100 $BIN bench gpu --only g1,g2 --layers 4 --reps 3 --max-batch 16
  step quick-g3 150 $BIN bench gpu --only g3 --layers 4 --g3-adapters 64 --g3-concurrency 32 \
    --g3-prompt 128 --g3-gen 16
}

bench() {
  TAILN=40 step g4 100 $BIN bench gpu --only g4
  step g1g2 200 $BIN bench gpu --only g1,g2 --reps 3
  # the same G1 with cuBLAS alone: what gemv_bf16 and the fused residual
  # adds bring, measured in the same session
  step g1-cublas 100 env PEERGRAPH_CUDA_GEMV=off $BIN bench gpu --only g1 --reps 3
}

g3() {
  TAILN=20 step g3 450 $BIN bench gpu --only g3
}

case "$stage" in
  check) check ;;
  check-train) check_train ;;
  train) train ;;
  quick) quick ;;
  bench) bench ;;
  g3) g3 ;;
  all) check; train; quick; bench; g3 ;;
  *) echo "usage: sh tests/gpu_session.sh check|check-train|train|quick|bench|g3|all" >&2; exit 2 ;;
esac
grep '^{"bench"' "$LOG" >"$OUT/$stage.jsonl" 2>/dev/null
if [ -n "${FAILED:-}" ]; then
  echo "FAILED:$FAILED (log: $LOG)"
  exit 1
fi
echo "== done: $LOG"
