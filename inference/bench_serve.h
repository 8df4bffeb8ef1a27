#ifndef PEERGRAPH_BENCH_SERVE_H
#define PEERGRAPH_BENCH_SERVE_H
/* `peergraph bench serve`: C3 (serving tok/s per mode: base, preft-lora,
 * all-lora, preft-reft, all-reft), C4 (the preft modes over 1..512 adapters)
 * and C5 (peak RSS) of docs/benchmarks.md. argv[0] = "serve". Returns 0, 1
 * when a run failed, 2 on a usage error. */
int serve_bench_main(int argc, char **argv);
#endif
