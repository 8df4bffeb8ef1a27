#ifndef PEERGRAPH_BENCH_GPU_H
#define PEERGRAPH_BENCH_GPU_H
/* `peergraph bench gpu`: G1-G4 of docs/benchmarks.md on the CUDA engine,
 * with a random model of Llama-3.1-8B shapes (bf16 weights):
 *   G1  batch-1 decode against the device's copy bandwidth
 *   G2  batch 1..256 decode curve against the weight-bandwidth roofline
 *   G3  serving 512 rank-16 adapters at 256 concurrent requests (prompt 512,
 *       128 new tokens) through the scheduler on the CUDA engine: base,
 *       preft-lora, all-lora, preft-reft, all-reft; the preft / all ratios
 *   G4  every CUDA kernel's GB/s or TFLOP/s beside the device's peak
 * argv[0] = "gpu". Returns 0, 1 when a run failed, 2 on a usage error or
 * when there is no CUDA device ("no CUDA device" on stderr).
 *
 * The option parsing and G3's memory plan are plain C, unit-tested on
 * machines without a GPU (tests/unit/test_bench_gpu.c). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "graph/util.h"
#include "inference/model.h"

enum { GB_G1 = 1, GB_G2 = 2, GB_G3 = 4, GB_G4 = 8 };

typedef struct gpu_bench_args {
    int only;       /* GB_* bits (default all) */
    int layers;     /* of the random model (default 32, Llama-3.1-8B) */
    int reps;       /* timed repetitions, median (G1, G2, G4 default 5; G3 default 1) */
    int g3_reps;
    int steps;      /* G1/G2 decode steps per run (default 32) */
    int max_batch;  /* G2 (default 256) */
    /* G3 */
    int adapters;     /* distinct adapters, one request each (default 512) */
    int concurrency;  /* sequences batched at once (default 256) */
    int prompt, gen;  /* tokens (default 512, 128) */
    int rank;         /* LoRA and LoReFT rank (default 16) */
    uint32_t targets; /* LoRA sites, bits (1u << PGR_SITE_*) (default q,k,v,o: see the plan) */
    char targets_str[64];
    int reft_layers;  /* LoReFT at this many layers, spread evenly (default 4) */
    int step_tokens;  /* scheduler token budget per step (default 4096) */
    int prefill_chunk; /* prompt tokens per request per step (default 512) */
    int g3_modes;     /* bits of G3_BASE.. (default all five) */
} gpu_bench_args;

enum { G3_BASE, G3_PREFT_LORA, G3_ALL_LORA, G3_PREFT_REFT, G3_ALL_REFT, G3_MODES };
extern const char *const gpu_g3_mode_names[G3_MODES];

/* Defaults above; then argv (getopt_long from argv[1]). Returns 0, 1 for
 * --help (usage printed to out), or -1 with err naming the option. */
int gpu_bench_args_parse(int argc, char **argv, gpu_bench_args *a, FILE *out, pgr_err *err);

/* G3's memory plan: what the run needs on the device and the host, and the
 * device adapter pool to ask for (PEERGRAPH_CUDA_ADAPTER_MIB). Byte counts
 * follow kernels/cuda/engine.cu (fp32 adapters, 256-byte aligned pieces). */
typedef struct gpu_g3_plan {
    size_t lora_dev, reft_dev;   /* one adapter in the device pool */
    size_t lora_host, reft_host; /* one adapter's tensors in host memory */
    int kv_blocks;               /* 16-position blocks: every running sequence's whole length */
    size_t kv_bytes, act_bytes;  /* device KV cache; activations + logits estimate */
    size_t pool_min;             /* every running request's LoRA resident (all-token steps) */
    size_t pool;                 /* what the pool gets: all adapters if they fit, else less */
    size_t host_need;            /* all adapters (LoRA and ReFT) in host memory */
    int pool_holds_all;          /* 1: no upload after the warm-up */
} gpu_g3_plan;
/* dev_free: device bytes free before the engine exists; weight_bytes: what
 * the engine uploads; host_avail: host bytes available (0 = unknown: not
 * checked). Returns 0, or -1 with err saying what does not fit and what to
 * change (PGR_EINVAL). */
int gpu_g3_plan_make(const pgr_model_cfg *mc, size_t weight_bytes, const gpu_bench_args *a,
                     size_t dev_free, size_t host_avail, gpu_g3_plan *p, pgr_err *err);

/* G3 (inference/bench_gpu_g3.c): m the random model; dev names the device. */
int gpu_bench_g3(const pgr_model *m, const gpu_bench_args *a, const char *dev, pgr_err *err);
/* G4 (inference/bench_gpu.c, kernels in kernels/cuda/bench_kernels.cu). */
int gpu_bench_g4(const pgr_model_cfg *mc, const gpu_bench_args *a, const char *dev,
                 double copy_bw, pgr_err *err);

int gpu_bench_main(int argc, char **argv);
#endif
