#ifndef PEERGRAPH_BENCH_GPU_H
#define PEERGRAPH_BENCH_GPU_H
/* `peergraph bench gpu`: G1 (batch-1 decode against the copy bandwidth) and
 * G2 (batch 1..256 decode curve) of docs/benchmarks.md on the CUDA engine.
 * argv[0] = "gpu". Returns 0, 1 when a run failed, 2 on a usage error or
 * when there is no CUDA device. */
int gpu_bench_main(int argc, char **argv);
#endif
