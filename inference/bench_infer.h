#ifndef PEERGRAPH_BENCH_INFER_H
#define PEERGRAPH_BENCH_INFER_H
/* `peergraph bench infer`: C1 (decode tok/s), C2 (prefill tok/s) and C5 (peak
 * RSS) of docs/benchmarks.md, against llama.cpp (llama-cpp-python) in the same
 * run, alternating, median of --reps. argv[0] = "infer". Returns 0, or 1 when
 * a run failed, 2 on a usage error. */
int infer_bench_main(int argc, char **argv);
#endif
