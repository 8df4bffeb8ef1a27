#!/bin/sh
# Runs every test suite and ends with one line "N passed, N failed, N skipped".
#   SUITES="unit san fuzz emu py" (default: all)   ONLY=pattern (test file name filter)
#   emu: the CUDA tests on the CPU emulator (build/emu, `make emu`; docs/cuda.md),
#   once per thread order in EMU_ORDERS (default "forward reverse shuffle:1")
# Expects `make all`, `make SANITIZER=address,undefined all` and `make fuzz` done
# (make test does that). Starts a private PostgreSQL server for the run.
set -u
cd "$(dirname "$0")/.."
# The venv made by `make venv` (Debian's packages + pyalex) when present.
if [ -z "${PYTHON:-}" ] && [ -x build/venv/bin/python ]; then PYTHON=build/venv/bin/python; fi
PYTHON=${PYTHON:-/usr/bin/python3}
SUITES=${SUITES:-unit san fuzz emu py}
# The CUDA tests wired to the emulator so far (docs/cuda.md lists why not the others):
# the kernel tests (test_cuda_train's without its trainer cases) run under every
# order of EMU_ORDERS, the model-level ones (trainer, engine) under EMU_FULL_ORDER.
EMU_TESTS=${EMU_TESTS:-test_cuda_kernels test_cuda_train}
EMU_ORDERS=${EMU_ORDERS:-forward reverse shuffle:1}
EMU_FULL_ORDER=${EMU_FULL_ORDER:-shuffle:1}
ONLY=${ONLY:-}
passed=0 failed=0 skipped=0
failures=""

tmp=$(mktemp -d /tmp/peergraph-test.XXXXXX)
chmod 755 "$tmp"
cleanup() { sh tests/pg.sh stop "$tmp/pg" >/dev/null 2>&1; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM

if PEERGRAPH_TEST_PG=$(sh tests/pg.sh start "$tmp/pg"); then
  export PEERGRAPH_TEST_PG
  echo "== PostgreSQL test server at $PEERGRAPH_TEST_PG"
else
  echo "== could not start PostgreSQL; PostgreSQL tests will fail" >&2
  export PEERGRAPH_TEST_PG=""
fi
export PEERGRAPH_TEST_TMP="$tmp"

# add_counts LINE NAME: adds "N passed, N failed, N skipped" found in LINE.
add_counts() {
  p=$(echo "$1" | sed -n 's/.*[^0-9]\([0-9][0-9]*\) passed.*/\1/p; s/^\([0-9][0-9]*\) passed.*/\1/p' | head -n 1)
  f=$(echo "$1" | sed -n 's/.*[^0-9]\([0-9][0-9]*\) failed.*/\1/p; s/^\([0-9][0-9]*\) failed.*/\1/p' | head -n 1)
  # pytest's "N errors" (a fixture or setup that broke) are failures too
  e=$(echo "$1" | sed -n 's/.*[^0-9]\([0-9][0-9]*\) errors\{0,1\}.*/\1/p; s/^\([0-9][0-9]*\) errors\{0,1\}.*/\1/p' | head -n 1)
  f=$(( ${f:-0} + ${e:-0} ))
  s=$(echo "$1" | sed -n 's/.*[^0-9]\([0-9][0-9]*\) skipped.*/\1/p' | head -n 1)
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${s:-0}))
  if [ "${f:-0}" != 0 ]; then failures="$failures $2"; fi
}

run_c_suite() { # $1 = build dir, $2 = label[, $3 = the test names to run (default: all)]
  for t in "$1"/tests/test_*; do
    [ -x "$t" ] || continue
    case "$t" in *.d|*.o) continue;; esac
    name=$(basename "$t")
    [ -n "$ONLY" ] && case "$name" in *$ONLY*) ;; *) continue;; esac
    [ -n "${3:-}" ] && case " $3 " in *" $name "*) ;; *) continue;; esac
    out=$(timeout 600 "$t" 2>"$tmp/stderr"); rc=$?
    last=$(echo "$out" | grep -E '[0-9]+ passed, [0-9]+ failed' | tail -n 1)
    if [ -z "$last" ] || { [ $rc != 0 ] && ! echo "$last" | grep -q '[1-9][0-9]* failed'; }; then
      echo "FAIL $2/$name: exit $rc without a summary"; tail -n 30 "$tmp/stderr"
      failed=$((failed + 1)); failures="$failures $2/$name"; continue
    fi
    # emulated runs say so: "emu[reverse]/test_cuda_kernels (emulated): ..."
    case $2 in emu*) last=$(echo "$last" | sed 's/^\([A-Za-z0-9_]*\):/\1 (emulated):/');; esac
    echo "$2/$last"
    if echo "$last" | grep -q '[1-9][0-9]* failed'; then grep -v '^ok ' "$tmp/stderr" | tail -n 40; fi
    add_counts "$last" "$2/$name"
  done
}

for suite in $SUITES; do
  case $suite in
  unit) echo "== unit tests (build/release)"; run_c_suite build/release unit ;;
  san)  echo "== unit tests under AddressSanitizer+UBSan (build/san)"
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 run_c_suite build/san san ;;
  fuzz) echo "== fuzz corpora and crash reproducers (build/fuzz)"
        for f in build/fuzz/fuzz_*; do
          [ -x "$f" ] || continue
          case "$f" in *.d|*.o) continue;; esac
          name=$(basename "$f"); corpus=tests/fuzz/corpus/${name#fuzz_}
          [ -n "$ONLY" ] && case "$name" in *$ONLY*) ;; *) continue;; esac
          if [ ! -d "$corpus" ] || [ -z "$(ls -A "$corpus")" ]; then
            echo "FAIL fuzz/$name: no corpus in $corpus"; failed=$((failed + 1)); failures="$failures fuzz/$name"; continue
          fi
          n=$(ls "$corpus" | wc -l)
          if timeout 600 "$f" -runs=0 "$corpus" >"$tmp/fuzz.log" 2>&1; then
            echo "fuzz/$name: $n inputs replayed"; passed=$((passed + 1))
          else
            echo "FAIL fuzz/$name"; tail -n 40 "$tmp/fuzz.log"; failed=$((failed + 1)); failures="$failures fuzz/$name"
          fi
        done ;;
  emu)  echo "== CUDA tests on the CPU emulator (build/emu; docs/cuda.md)"
        for order in $EMU_ORDERS; do
          if [ "$order" = "$EMU_FULL_ORDER" ]; then
            PEERGRAPH_TEST_EMULATED=1 PEERGRAPH_CUDA_EMU_ORDER=$order \
              run_c_suite build/emu "emu[$order]" "$EMU_TESTS"
          else
            PEERGRAPH_TEST_EMULATED=1 PEERGRAPH_CUDA_EMU_ORDER=$order PEERGRAPH_CUDA_TRAIN_KERNELS_ONLY=1 \
              run_c_suite build/emu "emu[$order]" "test_cuda_kernels test_cuda_train"
          fi
        done ;;
  py)   echo "== integration tests (pytest: HTTP, PostgreSQL, browser, model)"
        if ls tests/py/test_*.py >/dev/null 2>&1; then
          k=""; [ -n "$ONLY" ] && k="-k $ONLY"
          PEERGRAPH_BIN=$PWD/build/release/peergraph PEERGRAPH_SAN_BIN=$PWD/build/san/peergraph \
            $PYTHON -m pytest -q -p no:cacheprovider $k tests/py >"$tmp/py.log" 2>&1
          grep -vE '^\s*$' "$tmp/py.log" | tail -n 60
          last=$(grep -E '[0-9]+ (passed|failed)' "$tmp/py.log" | tail -n 1)
          if [ -z "$last" ]; then echo "FAIL pytest produced no summary"; failed=$((failed + 1)); failures="$failures pytest"
          else add_counts "$last" pytest; fi
        fi ;;
  esac
done

[ -n "$failures" ] && echo "failed:$failures"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
