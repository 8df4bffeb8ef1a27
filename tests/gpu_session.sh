#!/bin/sh
# Everything a session lent a GPU should run, in order (docs/cuda.md, "First
# run on a GPU"). Each stage fits in one 10-minute device call; logs and the
# benchmarks' JSON lines go to $OUT (the device tool's output folder) or
# build/gpu-session/.
#
#   sh tests/gpu_session.sh check    build, device, make test-cuda, CLI test,
#                                    compute-sanitizer on the kernel tests  (~5 min)
#   sh tests/gpu_session.sh quick    every benchmark on a 4-layer model:
#                                    does G1-G4 run at all                  (~3 min)
#   sh tests/gpu_session.sh bench    C1/C2 on CUDA, G4, G1, G2 (32 layers)   (~6 min)
#   sh tests/gpu_session.sh g3       G3 at full size (512 adapters, 256
#                                    concurrent, 32 layers)                 (~6 min)
#   sh tests/gpu_session.sh all      the four in a row (no 10-minute limit)
#
# A stage stops at its first failure (exit status of that step); later
# stages need the earlier ones to pass. The figures to record are the lines
# starting with {"bench": in $OUT/*.jsonl; docs/benchmarks.md, section
# "Inference, GPU", says where each goes.
set -u
OUT=${OUT:-build/gpu-session}
mkdir -p "$OUT"
JOBS=${JOBS:-16}
BIN=build/release/peergraph

step() { # name, command...: runs it, log in $OUT/name.log, JSON lines in $OUT/name.jsonl
  name=$1; shift
  echo "== $name: $*"
  start=$(date +%s)
  "$@" >"$OUT/$name.log" 2>&1
  rc=$?
  grep '^{"bench"' "$OUT/$name.log" >"$OUT/$name.jsonl" 2>/dev/null
  echo "   rc=$rc, $(( $(date +%s) - start )) s; last lines:"
  tail -n 25 "$OUT/$name.log" | sed 's/^/   | /'
  [ $rc -eq 0 ] || { echo "FAILED: $name (log: $OUT/$name.log)"; exit $rc; }
}

check() {
  step build make -j"$JOBS" all
  step device nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.memory --format=csv
  step git git log -1 --format='%H %cd'
  step test-cuda make test-cuda
  step cuda-cli env SUITES=py ONLY=cuda_cli sh tests/run.sh
  if command -v compute-sanitizer >/dev/null 2>&1; then
    step memcheck compute-sanitizer --tool memcheck --error-exitcode 1 build/release/tests/test_cuda_kernels
  else
    echo "== memcheck: compute-sanitizer not found, skipped"
  fi
}

quick() {
  step quick-g4 $BIN bench gpu --only g4 --reps 3
  step quick-g1g2 $BIN bench gpu --only g1,g2 --layers 4 --reps 3 --max-batch 16
  step quick-g3 $BIN bench gpu --only g3 --layers 4 --g3-adapters 64 --g3-concurrency 32 \
    --g3-prompt 128 --g3-gen 16
}

bench() {
  step c1c2 $BIN bench infer --device cuda --no-peer --reps 5
  step g4 $BIN bench gpu --only g4
  step g1g2 $BIN bench gpu --only g1,g2
}

g3() {
  step g3 $BIN bench gpu --only g3
}

case "${1:-}" in
  check) check ;;
  quick) quick ;;
  bench) bench ;;
  g3) g3 ;;
  all) check; quick; bench; g3 ;;
  *) echo "usage: sh tests/gpu_session.sh check|quick|bench|g3|all" >&2; exit 2 ;;
esac
echo "== done: $OUT"
