/* peergraph bench gpu: G1 and G2 of docs/benchmarks.md on the CUDA engine.
 *
 *   copy  device bandwidth by a large device-to-device copy (the ceiling)
 *   G1    decode at batch 1 on a random model of Llama-3.1-8B shapes with
 *         bf16 weights: achieved bytes/s (weights + KV read per token) over
 *         the copy bandwidth (target >= 80%)
 *   G2    batched decode, batch 1..256: tokens/s, and the same over the
 *         weight-bandwidth roofline (batch * bandwidth / bytes per step)
 * G3 (512 adapters) and G4 (per-kernel figures) are not here yet (docs/cuda.md).
 * Each figure is the median of --reps timed runs of --steps decode steps,
 * after one untimed run (graph capture, cuBLAS heuristics). One JSON line per
 * figure, then a table. Never run on a GPU yet: expect to fix it there. */
#include "inference/bench_gpu.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "inference/model.h"
#include "kernels/cuda/cuda_backend.h"

#define MAX_REPS 15

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* B sequences of a prompt_len-token prompt, then `steps` decode steps of B
 * tokens (the argmax is not needed for speed: token ids cycle). Returns
 * decode tokens/s. */
static int run_batch(pgr_engine *e, const pgr_model *m, int B, int prompt_len, int steps,
                     double *tps, pgr_err *err)
{
    const int V = pgr_model_config(m)->vocab, bs = 16;
    const int per_seq = (prompt_len + steps + 1) / bs + 2;
    int rc = -1, n = B * prompt_len;
    pgr_kv *kv = NULL;
    int32_t *tok = malloc(sizeof(int32_t) * (size_t)n), *seq = malloc(sizeof(int32_t) * (size_t)n);
    int32_t *pos = malloc(sizeof(int32_t) * (size_t)n), *ids = malloc(sizeof(int32_t) * (size_t)B);
    uint8_t *want = calloc((size_t)n, 1);
    float *lg = malloc(sizeof(float) * (size_t)V * (size_t)B);
    if (!tok || !seq || !pos || !ids || !want || !lg) {
        pgr_errf(err, PGR_ENOMEM, "bench gpu: out of memory");
        goto cleanup;
    }
    if (pgr_kv_new(m, per_seq * B, bs, B, &kv, err))
        goto cleanup;
    for (int s = 0; s < B; s++) {
        ids[s] = pgr_kv_seq_open(kv, err);
        if (ids[s] < 0)
            goto cleanup;
        for (int i = 0; i < prompt_len; i++) {
            int t = s * prompt_len + i;
            tok[t] = (int32_t)((1000 + 7 * t) % V), seq[t] = ids[s], pos[t] = i;
            want[t] = i == prompt_len - 1;
        }
    }
    pgr_batch b = {n, tok, seq, pos, want};
    if (pgr_forward(e, kv, &b, lg, err))
        goto cleanup;
    /* step 0 is untimed: a fresh cache means fresh device KV memory, so the
     * graphs are captured again there */
    uint64_t t0 = 0;
    for (int k = 0; k <= steps; k++) {
        if (k == 1)
            t0 = pgr_now_us();
        for (int s = 0; s < B; s++)
            tok[s] = (int32_t)((2000 + 13 * (s + k)) % V), seq[s] = ids[s],
            pos[s] = prompt_len + k, want[s] = 1;
        pgr_batch b1 = {B, tok, seq, pos, want};
        if (pgr_forward(e, kv, &b1, lg, err))
            goto cleanup;
    }
    *tps = (double)B * steps * 1e6 / (double)(pgr_now_us() - t0 + 1);
    rc = 0;
cleanup:
    pgr_kv_free(kv);
    free(tok), free(seq), free(pos), free(ids), free(want), free(lg);
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: peergraph bench gpu [--layers N] [--reps N] [--steps N] [--max-batch N]\n"
               "  G1: batch-1 decode vs copy bandwidth, G2: batch 1..256 decode curve, on a random\n"
               "  model of Llama-3.1-8B shapes with bf16 weights (--layers: fewer layers, for a\n"
               "  quick run). Needs a CUDA device.\n");
}

int gpu_bench_main(int argc, char **argv)
{
    static const struct option opts[] = {{"layers", required_argument, 0, 'l'},
                                         {"reps", required_argument, 0, 'r'},
                                         {"steps", required_argument, 0, 's'},
                                         {"max-batch", required_argument, 0, 'b'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int layers = 32, reps = 5, steps = 32, max_batch = 256, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'l': layers = atoi(optarg); break;
        case 'r': reps = atoi(optarg); break;
        case 's': steps = atoi(optarg); break;
        case 'b': max_batch = atoi(optarg); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (layers < 1 || layers > 32 || reps < 1 || reps > MAX_REPS || steps < 1 || steps > 4096 ||
        max_batch < 1 || max_batch > 256) {
        fprintf(stderr, "peergraph bench gpu: --layers 1..32, --reps 1..%d, --steps 1..4096, "
                        "--max-batch 1..256\n", MAX_REPS);
        return 2;
    }
    if (pgr_device_check("peergraph bench gpu", "cuda"))
        return 2;
    int rc = 1;
    pgr_err err = {0};
    pgr_model *m = NULL;
    pgr_engine *e = NULL;
    char dev[256] = "";
    double bw = 0, t[MAX_REPS];
    /* Llama-3.1-8B */
    pgr_model_cfg cfg = {layers, 4096, 32, 8, 128, 14336, 128256, 131072, 500000.0f, 1e-5f};
    pgr_device_usable("cuda", dev, sizeof dev, NULL);
    if (pgr_cuda_copy_bandwidth((size_t)1 << 30, 9, &bw, &err))
        goto cleanup;
    printf("{\"bench\":\"copy\",\"device\":\"%s\",\"bytes_per_s\":%.4g}\n", dev, bw);
    fprintf(stderr, "bench gpu: making a random %d-layer model of Llama-3.1-8B shapes (bf16)...\n",
            layers);
    if (pgr_model_new_random(&cfg, PGR_KT_BF16, 1, &m, &err) ||
        pgr_engine_new_on(m, "cuda", 1, &e, &err))
        goto cleanup;
    /* bytes a decode step must read: every weight once (the tied output
     * matrix is the embedding table: read once as the output projection; the
     * embedding lookup reads one row) */
    const double wbytes = (double)pgr_model_weight_bytes(m);
    printf("\n%-4s %6s %14s %14s %10s\n", "id", "batch", "tok/s", "roofline", "ratio");
    for (int B = 1; B <= max_batch; B *= 2) {
        double tps;
        if (run_batch(e, m, B, 16, steps, &tps, &err)) /* warm-up: captures, heuristics */
            goto cleanup;
        for (int i = 0; i < reps; i++)
            if (run_batch(e, m, B, 16, steps, &t[i], &err))
                goto cleanup;
        qsort(t, (size_t)reps, sizeof *t, cmp_d);
        tps = t[reps / 2];
        /* weight-bandwidth roofline: one pass over the weights per step of B tokens */
        const double roof = (double)B * bw / wbytes;
        printf("{\"bench\":\"%s\",\"device\":\"%s\",\"layers\":%d,\"batch\":%d,\"tok_s\":%.2f,"
               "\"roofline_tok_s\":%.2f,\"ratio\":%.3f,\"achieved_bytes_per_s\":%.4g,"
               "\"copy_bytes_per_s\":%.4g}\n",
               B == 1 ? "G1" : "G2", dev, layers, B, tps, roof, tps / roof, tps / B * wbytes, bw);
        printf("%-4s %6d %14.1f %14.1f %10.3f\n", B == 1 ? "G1" : "G2", B, tps, roof, tps / roof);
        fflush(stdout);
    }
    printf("device %s; copy bandwidth %.1f GB/s; weights %.2f GB; median of %d runs of %d steps\n",
           dev, bw / 1e9, wbytes / 1e9, reps, steps);
    rc = 0;
cleanup:
    if (rc && err.msg[0])
        fprintf(stderr, "peergraph bench gpu: %s\n", err.msg);
    pgr_engine_free(e);
    pgr_model_free(m);
    return rc;
}
