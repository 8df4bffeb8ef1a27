/* `peergraph bench gpu`'s host side, which runs without a GPU: the option
 * parsing (defaults, lists, ranges, refusals naming the option) and G3's
 * memory plan on Llama-3.1-8B shapes, checked against the sizes worked out
 * by hand from kernels/cuda/engine.cu's layout (fp32 adapters, 256-byte
 * aligned pieces, descriptor tables) and the scheduler's admission rule. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../check.h"
#include "inference/adapter.h"
#include "inference/bench_gpu.h"

static const pgr_model_cfg LLAMA8B = {32, 4096, 32, 8, 128, 14336, 128256, 131072, 500000.0f,
                                      1e-5f};
static const double GiB = 1024.0 * 1024.0 * 1024.0;

static int parse(gpu_bench_args *a, pgr_err *err, ...)
{
    char *argv[32] = {"gpu"};
    int argc = 1;
    va_list ap;
    va_start(ap, err);
    for (char *s; argc < 31 && (s = va_arg(ap, char *));)
        argv[argc++] = s;
    va_end(ap);
    argv[argc] = NULL;
    FILE *null = fopen("/dev/null", "w");
    int rc = gpu_bench_args_parse(argc, argv, a, null, err);
    if (null)
        fclose(null);
    return rc;
}

static void test_args(void)
{
    gpu_bench_args a;
    pgr_err err = {0};
    CHECK_INT(parse(&a, &err, NULL), 0);
    CHECK_INT(a.only, GB_G1 | GB_G2 | GB_G3 | GB_G4);
    CHECK(a.layers == 32 && a.adapters == 512 && a.concurrency == 256 && a.prompt == 512 &&
          a.gen == 128 && a.rank == 16 && a.step_tokens == 4096 && a.g3_reps == 1);
    CHECK_INT(a.targets, (1u << PGR_SITE_Q) | (1u << PGR_SITE_K) | (1u << PGR_SITE_V) |
                             (1u << PGR_SITE_O));
    CHECK_INT(a.g3_modes, (1 << G3_MODES) - 1);
    CHECK_INT(parse(&a, &err, "--only", "g3,g4", "--g3-targets", "all", "--g3-modes",
                    "preft-lora,all-lora", "--layers", "2", "--g3-reps", "3", NULL),
              0);
    CHECK_INT(a.only, GB_G3 | GB_G4);
    CHECK_INT(a.targets, 0x7f);
    CHECK_STR(a.targets_str, "q,k,v,o,gate,up,down");
    CHECK_INT(a.g3_modes, (1 << G3_PREFT_LORA) | (1 << G3_ALL_LORA));
    CHECK_INT(a.reft_layers, 2); /* the default 4 shrinks to a 2-layer quick run */
    CHECK_INT(a.g3_reps, 3);
    CHECK_INT(parse(&a, &err, "--help", NULL), 1);
    /* refusals name the option */
    struct {
        const char *opt, *val, *want;
    } bad[] = {{"--only", "g5", "--only"},
               {"--g3-targets", "q,resid", "--g3-targets"},
               {"--g3-targets", "q,x", "--g3-targets"},
               {"--g3-modes", "preft", "--g3-modes"},
               {"--layers", "33", "--layers"},
               {"--g3-adapters", "0", "--g3-adapters"},
               {"--g3-rank", "16x", "--g3-rank"},
               {"--g3-step-tokens", "100", "--g3-step-tokens"},
               {"--g3-prefill-chunk", "8192", "--g3-prefill-chunk"},
               {"--g3-concurrency", "2000", "--g3-concurrency"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&err, 0, sizeof err);
        CHECK_MSG(parse(&a, &err, bad[i].opt, bad[i].val, NULL) == -1, "%s %s accepted",
                  bad[i].opt, bad[i].val);
        CHECK_MSG(strstr(err.msg, bad[i].want) != NULL, "%s %s: '%s'", bad[i].opt, bad[i].val,
                  err.msg);
    }
    CHECK_INT(parse(&a, &err, "--g3-reft-layers", "8", "--layers", "4", NULL), -1);
    CHECK(strstr(err.msg, "--g3-reft-layers") != NULL);
    CHECK_INT(parse(&a, &err, "stray", NULL), -1);
}

static void test_g3_plan(void)
{
    gpu_bench_args a;
    gpu_g3_plan p;
    pgr_err err = {0};
    const size_t weights = (size_t)15 << 30;
    CHECK_INT(parse(&a, &err, NULL), 0);
    /* an 80 GB H100 with ~79 GiB free, 120 GiB of host memory */
    CHECK_MSG(gpu_g3_plan_make(&LLAMA8B, weights, &a, (size_t)79 << 30, (size_t)120 << 30, &p,
                               &err) == 0,
              "%s", err.msg);
    /* per layer, rank 16, fp32: q and o 16 * (4096 + 4096) * 4, k and v 16 * (4096 + 1024) * 4;
     * tables: 32 * 8 LoRA descriptors of 24 bytes, 32 ReFT ones of 32 */
    const size_t per_layer = 2 * 524288 + 2 * 327680;
    CHECK_INT(p.lora_dev, 6144 + 1024 + 32 * per_layer);
    CHECK_INT(p.lora_host, 32 * per_layer);
    /* LoReFT at 4 layers: R, W (16, 4096) and b (16): 524352 bytes, 256-aligned */
    CHECK_INT(p.reft_host, 4 * 524352);
    CHECK_INT(p.reft_dev, 6144 + 1024 + 4 * 524544);
    /* every running sequence's prompt + gen: 40 blocks each, plus one spare */
    CHECK_INT(p.kv_blocks, 256 * 40 + 256);
    CHECK_INT(p.kv_bytes, (size_t)2 * 32 * 10496 * 16 * 1024 * 2);
    CHECK_INT(p.pool_min, (size_t)256 * p.lora_dev);
    CHECK(p.pool >= p.pool_min && p.pool_holds_all);
    CHECK_INT(p.pool, (size_t)512 * (p.lora_dev + p.reft_dev));
    CHECK(p.act_bytes > (size_t)4096 * 128256 * 4 && p.act_bytes < (size_t)8 << 30);
    CHECK(weights + p.kv_bytes + p.act_bytes + p.pool < (size_t)79 << 30);
    /* all seven sites: 160 MiB each, 256 running ones do not fit an H100 ... */
    CHECK_INT(parse(&a, &err, "--g3-targets", "all", NULL), 0);
    memset(&err, 0, sizeof err);
    CHECK_INT(gpu_g3_plan_make(&LLAMA8B, weights, &a, (size_t)79 << 30, 0, &p, &err), -1);
    CHECK_MSG(strstr(err.msg, "does not fit") && strstr(err.msg, "--g3-targets"), "%s", err.msg);
    /* ... but do on an H200 (~139 GiB free), which holds all 512 (81 GiB) */
    CHECK_MSG(gpu_g3_plan_make(&LLAMA8B, weights, &a, (size_t)139 << 30, 0, &p, &err) == 0, "%s",
              err.msg);
    CHECK((double)p.lora_dev / (1024.0 * 1024.0) > 159 && (double)p.lora_dev / GiB < 0.16);
    CHECK(p.pool >= p.pool_min && p.pool_holds_all);
    /* with 100 GiB free the running ones fit (40 GiB), not all 512: the pool evicts */
    CHECK_MSG(gpu_g3_plan_make(&LLAMA8B, weights, &a, (size_t)100 << 30, 0, &p, &err) == 0, "%s",
              err.msg);
    CHECK(p.pool >= p.pool_min && !p.pool_holds_all);
    CHECK_INT(p.pool, ((size_t)100 << 30) - weights - p.kv_bytes - p.act_bytes - ((size_t)1 << 30));
    /* host memory: 512 adapters of 160 MiB and the model are more than 64 GiB */
    memset(&err, 0, sizeof err);
    CHECK_INT(gpu_g3_plan_make(&LLAMA8B, weights, &a, (size_t)139 << 30, (size_t)64 << 30, &p,
                               &err),
              -1);
    CHECK_MSG(strstr(err.msg, "host memory") != NULL, "%s", err.msg);
    /* fewer layers, fewer blocks: a quick run fits anywhere */
    pgr_model_cfg small = LLAMA8B;
    small.n_layer = 2;
    CHECK_INT(parse(&a, &err, "--layers", "2", "--g3-adapters", "16", "--g3-concurrency", "8",
                    NULL),
              0);
    CHECK_MSG(gpu_g3_plan_make(&small, (size_t)2 << 30, &a, (size_t)20 << 30, 0, &p, &err) == 0,
              "%s", err.msg);
    CHECK_INT(p.kv_blocks, 8 * 40 + 8);
    CHECK_INT(p.reft_host, 2 * 524352);
}

int main(void)
{
    RUN(test_args);
    RUN(test_g3_plan);
    return check_summary("test_bench_gpu");
}
