#!/bin/sh
# Packs what a GPU session's device calls need into .gpu/ (ignored by git,
# named in the device tool's `carry`). The GPU machine has the CUDA toolkit
# but none of our libraries (libmicrohttpd, jansson, sqlite3, libpq,
# libxml2, ...) and no network, and one call carries at most 64 MiB, so:
#   .gpu/bins.tar.xz   the release binaries built here (nvcc 13, sm_90 + PTX)
#                      and the CUDA backend library the binary opens
#   .gpu/libs.tar.xz   their shared libraries except glibc's and CUDA's
#   .gpu/model.gguf    SmolLM2 cut to 8 blocks with a Q4_1 embedding
#                      (tests/gpu_model.py; 37 MB instead of 98)
# Then, on the device: sh tests/gpu_session.sh check|train|quick|bench|g3.
# Seen working 2026-11-23 (Debian 12 here, the H100 machine's image there).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
mkdir -p .gpu
X=$(git rev-parse --git-common-dir)/info/exclude # worktrees share it
mkdir -p "$(dirname "$X")"
grep -qx '/.gpu/' "$X" 2>/dev/null ||
    echo '/.gpu/' >>"$X"
make -j"$(nproc)" all
B=build/release
BINS="$B/peergraph $B/libpeergraph-cuda.so $B/tests/test_cuda_kernels $B/tests/test_cuda_engine $B/tests/test_lora_plan $B/tests/test_bench_gpu $B/tests/test_cuda_train"
tar cJf .gpu/bins.tar.xz $BINS
rm -rf .gpu/gl && mkdir -p .gpu/gl
for b in $BINS; do ldd "$b"; done | awk '/=> \//{print $3}' | sort -u |
    grep -v -e '/cuda' -e '/libc\.so' -e '/libm\.so' -e '/libpthread' -e '/libdl\.so' \
        -e '/librt\.so' -e '/libresolv' -e '/ld-linux' |
    while read -r l; do cp -L "$l" .gpu/gl/; done
tar cJf .gpu/libs.tar.xz -C .gpu gl && rm -rf .gpu/gl
if [ ! -f .gpu/model.gguf ]; then
    PY=build/gpu-py
    [ -d "$PY" ] || python3 -m pip install -q --target "$PY" gguf numpy
    PYTHONPATH=$PY python3 tests/gpu_model.py models/smollm2-135m-instruct-q4_1.gguf \
        .gpu/model.gguf --layers 8 --embd-q4_1
fi
ls -l .gpu
du -sb .gpu | awk '{printf "carry: %.1f MiB (the tree adds its own; 64 MiB in all)\n", $1 / 1048576}'
