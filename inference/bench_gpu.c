/* peergraph bench gpu: G1-G4 of docs/benchmarks.md on the CUDA engine
 * (inference/bench_gpu.h).
 *
 *   copy  device bandwidth by a large device-to-device copy (the ceiling)
 *   G1    decode at batch 1 on a random model of Llama-3.1-8B shapes with
 *         bf16 weights: achieved bytes/s (weights + KV read per token) over
 *         the copy bandwidth (target >= 80%)
 *   G2    batched decode, batch 1..256: tokens/s, and the same over the
 *         weight-bandwidth roofline (batch * bandwidth / bytes per step)
 *   G3    512 adapters at 256 concurrent requests, PreFT vs all-token
 *         (inference/bench_gpu_g3.c)
 *   G4    every kernel of kernels/cuda: GB/s or TFLOP/s beside the peaks
 *         (kernels/cuda/bench_kernels.cu)
 * G1/G2 figures are the median of --reps timed runs of --steps decode steps,
 * after one untimed run (graph capture, cuBLAS heuristics). One JSON line
 * per figure, then a table. Never run on a GPU yet: expect to fix it there. */
#include "inference/bench_gpu.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "inference/adapter.h"
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

const char *const gpu_g3_mode_names[G3_MODES] = {"base", "preft-lora", "all-lora", "preft-reft",
                                                  "all-reft"};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: peergraph bench gpu [options]      (needs a CUDA device)\n"
            "  On a random model of Llama-3.1-8B shapes with bf16 weights:\n"
            "  G1 batch-1 decode vs copy bandwidth, G2 batch 1..256 decode curve,\n"
            "  G3 adapters served at once, PreFT vs all-token, G4 every kernel vs the peaks.\n"
            "  --only LIST          g1,g2,g3,g4 (default all)\n"
            "  --layers N           model layers, 1..32 (default 32; fewer for a quick run)\n"
            "  --reps N             G1, G2, G4 repetitions, median (default 5)\n"
            "  --steps N            G1/G2 decode steps per run (default 32)\n"
            "  --max-batch N        G2's largest batch (default 256)\n"
            "  --g3-adapters N      distinct adapters, one request each (default 512)\n"
            "  --g3-concurrency N   sequences batched at once (default 256)\n"
            "  --g3-prompt N        prompt tokens (default 512)\n"
            "  --g3-gen N           new tokens per request (default 128)\n"
            "  --g3-rank R          LoRA and LoReFT rank (default 16)\n"
            "  --g3-targets LIST    LoRA sites: q,k,v,o,gate,up,down | all (default q,k,v,o:\n"
            "                       fp32 rank-16 adapters on all seven sites of an 8B model\n"
            "                       are 160 MiB each; 256 running ones exceed an 80 GB H100)\n"
            "  --g3-reft-layers N   LoReFT at N layers spread evenly, f7+l7 (default 4)\n"
            "  --g3-step-tokens N   scheduler tokens per step (default 4096)\n"
            "  --g3-prefill-chunk N prompt tokens per request per step (default 512)\n"
            "  --g3-modes LIST      base,preft-lora,all-lora,preft-reft,all-reft (default all)\n"
            "  --g3-reps N          G3 repetitions, alternating modes, median (default 1)\n");
}

static int num(const char *opt, const char *s, long lo, long hi, int *out, pgr_err *err)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return pgr_errf(err, PGR_EINVAL, "%s: '%s' is not in %ld..%ld", opt, s, lo, hi);
    *out = (int)v;
    return 0;
}

/* "a,b,c" against names (n of them): bits of the ones named. */
static int name_bits(const char *opt, const char *s, const char *const *names, int n, int *bits,
                     pgr_err *err)
{
    *bits = 0;
    for (const char *p = s; *p;) {
        size_t len = strcspn(p, ",");
        int k = 0;
        while (k < n && !(strlen(names[k]) == len && strncmp(p, names[k], len) == 0))
            k++;
        if (k == n)
            return pgr_errf(err, PGR_EINVAL, "%s: unknown '%.*s'", opt, (int)len, p);
        *bits |= 1 << k;
        p += len + (p[len] == ',');
    }
    if (!*bits)
        return pgr_errf(err, PGR_EINVAL, "%s: empty list", opt);
    return 0;
}

int gpu_bench_args_parse(int argc, char **argv, gpu_bench_args *a, FILE *out, pgr_err *err)
{
    static const struct option opts[] = {{"layers", required_argument, 0, 'l'},
                                         {"reps", required_argument, 0, 'r'},
                                         {"steps", required_argument, 0, 's'},
                                         {"max-batch", required_argument, 0, 'b'},
                                         {"only", required_argument, 0, 'o'},
                                         {"g3-adapters", required_argument, 0, 'A'},
                                         {"g3-concurrency", required_argument, 0, 'C'},
                                         {"g3-prompt", required_argument, 0, 'P'},
                                         {"g3-gen", required_argument, 0, 'G'},
                                         {"g3-rank", required_argument, 0, 'R'},
                                         {"g3-targets", required_argument, 0, 'T'},
                                         {"g3-reft-layers", required_argument, 0, 'Y'},
                                         {"g3-step-tokens", required_argument, 0, 'S'},
                                         {"g3-prefill-chunk", required_argument, 0, 'K'},
                                         {"g3-modes", required_argument, 0, 'M'},
                                         {"g3-reps", required_argument, 0, 'E'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    static const char *const parts[4] = {"g1", "g2", "g3", "g4"};
    const char *targets = "q,k,v,o";
    int c, reft_given = 0;
    *a = (gpu_bench_args){.only = GB_G1 | GB_G2 | GB_G3 | GB_G4,
                          .layers = 32,
                          .reps = 5,
                          .g3_reps = 1,
                          .steps = 32,
                          .max_batch = 256,
                          .adapters = 512,
                          .concurrency = 256,
                          .prompt = 512,
                          .gen = 128,
                          .rank = 16,
                          .reft_layers = 4,
                          .step_tokens = 4096,
                          .prefill_chunk = 512,
                          .g3_modes = (1 << G3_MODES) - 1};
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'l': bad = num("--layers", optarg, 1, 32, &a->layers, err); break;
        case 'r': bad = num("--reps", optarg, 1, MAX_REPS, &a->reps, err); break;
        case 's': bad = num("--steps", optarg, 1, 4096, &a->steps, err); break;
        case 'b': bad = num("--max-batch", optarg, 1, 256, &a->max_batch, err); break;
        case 'o': bad = name_bits("--only", optarg, parts, 4, &a->only, err); break;
        case 'A': bad = num("--g3-adapters", optarg, 1, 4096, &a->adapters, err); break;
        case 'C': bad = num("--g3-concurrency", optarg, 1, 1024, &a->concurrency, err); break;
        case 'P': bad = num("--g3-prompt", optarg, 1, 8192, &a->prompt, err); break;
        case 'G': bad = num("--g3-gen", optarg, 1, 4096, &a->gen, err); break;
        case 'R': bad = num("--g3-rank", optarg, 1, 256, &a->rank, err); break;
        case 'T': targets = optarg; break;
        case 'Y': bad = num("--g3-reft-layers", optarg, 1, PGR_AD_MAX_LAYERS, &a->reft_layers, err);
                  reft_given = 1;
                  break;
        case 'S': bad = num("--g3-step-tokens", optarg, 256, 65536, &a->step_tokens, err); break;
        case 'K': bad = num("--g3-prefill-chunk", optarg, 1, 65536, &a->prefill_chunk, err); break;
        case 'M': bad = name_bits("--g3-modes", optarg, gpu_g3_mode_names, G3_MODES, &a->g3_modes,
                                  err);
                  break;
        case 'E': bad = num("--g3-reps", optarg, 1, 9, &a->g3_reps, err); break;
        case 'h': usage(out); return 1;
        default:
            return pgr_errf(err, PGR_EINVAL, "unknown option or missing value: %s",
                            argv[optind - 1]);
        }
        if (bad)
            return -1;
    }
    if (optind < argc)
        return pgr_errf(err, PGR_EINVAL, "unexpected argument '%s'", argv[optind]);
    if (!strcmp(targets, "all"))
        targets = "q,k,v,o,gate,up,down";
    if (pgr_adapter_parse_targets(targets, &a->targets, err) != 0 ||
        (a->targets & (1u << PGR_SITE_RESID)))
        return pgr_errf(err, PGR_EINVAL, "--g3-targets: '%s' is not a list of LoRA sites "
                        "(q,k,v,o,gate,up,down or all)", targets);
    snprintf(a->targets_str, sizeof a->targets_str, "%s", targets);
    if (a->prefill_chunk > a->step_tokens)
        return pgr_errf(err, PGR_EINVAL,
                        "--g3-prefill-chunk %d is more than --g3-step-tokens %d",
                        a->prefill_chunk, a->step_tokens);
    if (a->concurrency > a->step_tokens)
        return pgr_errf(err, PGR_EINVAL,
                        "--g3-concurrency %d decode tokens do not fit a step of "
                        "--g3-step-tokens %d",
                        a->concurrency, a->step_tokens);
    if (a->reft_layers > a->layers && !reft_given)
        a->reft_layers = a->layers; /* a quick run with fewer layers */
    if (a->reft_layers > a->layers)
        return pgr_errf(err, PGR_EINVAL, "--g3-reft-layers %d > --layers %d",
                        a->reft_layers, a->layers);
    return 0;
}

/* Datasheet peaks of the devices we expect (dense, no sparsity), by name;
 * 0 when unknown. NVIDIA H100 / H200 product briefs. */
static void peaks(const char *dev, double *hbm, double *bf16, double *fp32)
{
    *hbm = *bf16 = *fp32 = 0;
    if (strstr(dev, "H200"))
        *hbm = 4.8e12, *bf16 = 989e12, *fp32 = 67e12;
    else if (strstr(dev, "H100") && strstr(dev, "PCIe"))
        *hbm = 2.0e12, *bf16 = 756e12, *fp32 = 51e12;
    else if (strstr(dev, "H100") && strstr(dev, "NVL"))
        *hbm = 3.9e12, *bf16 = 835e12, *fp32 = 60e12;
    else if (strstr(dev, "H100"))
        *hbm = 3.35e12, *bf16 = 989e12, *fp32 = 67e12;
}

int gpu_bench_g4(const pgr_model_cfg *mc, const gpu_bench_args *a, const char *dev,
                 double copy_bw, pgr_err *err)
{
    pgr_cuda_kbench k[96];
    int n = 0;
    double hbm, bf16, fp32;
    peaks(dev, &hbm, &bf16, &fp32);
    int rc = pgr_cuda_kernel_bench(mc, a->reps, a->rank, a->concurrency, k, 96, &n, err);
    printf("\nG4: every kernel, median of %d launches. Bandwidth against the copy's %.0f GB/s "
           "(datasheet %.0f GB/s); compute against the datasheet's %.0f TFLOP/s bf16 tensor, %.0f "
           "fp32 (0: device not in the table)\n",
           a->reps, copy_bw / 1e9, hbm / 1e9, bf16 / 1e12, fp32 / 1e12);
    printf("%-4s %-20s %-52s %10s %9s %7s %9s %7s\n", "id", "kernel", "shape", "us", "GB/s",
           "%copy", "TFLOP/s", "%peak");
    for (int i = 0; i < n; i++) {
        const double s = k[i].us / 1e6, gbs = k[i].bytes / s / 1e9, tf = k[i].flops / s / 1e12;
        const double peak = k[i].compute == 1 ? bf16 : k[i].compute == 2 ? fp32 : 0;
        char pct[16] = "-";
        if (peak > 0)
            snprintf(pct, sizeof pct, "%.1f", 100.0 * k[i].flops / s / peak);
        printf("%-4s %-20s %-52s %10.2f %9.1f %7.1f %9.2f %7s\n", "G4", k[i].name, k[i].shape,
               k[i].us, gbs, copy_bw > 0 ? 100.0 * k[i].bytes / s / copy_bw : 0.0, tf, pct);
        printf("{\"bench\":\"G4\",\"device\":\"%s\",\"kernel\":\"%s\",\"shape\":\"%s\",\"us\":%.3f,"
               "\"bytes\":%.0f,\"flops\":%.0f,\"gb_s\":%.2f,\"tflop_s\":%.4f,\"copy_gb_s\":%.1f,"
               "\"datasheet_gb_s\":%.0f,\"judged\":\"%s\",\"peak_tflop_s\":%.1f}\n",
               dev, k[i].name, k[i].shape, k[i].us, k[i].bytes, k[i].flops, gbs, tf, copy_bw / 1e9,
               hbm / 1e9, k[i].compute == 1 ? "bf16" : k[i].compute == 2 ? "fp32" : "bandwidth",
               peak / 1e12);
    }
    fflush(stdout);
    return rc;
}

int gpu_bench_main(int argc, char **argv)
{
    gpu_bench_args A;
    pgr_err err = {0};
    int pr = gpu_bench_args_parse(argc, argv, &A, stdout, &err);
    if (pr == 1)
        return 0;
    if (pr < 0) {
        fprintf(stderr, "peergraph bench gpu: %s (see peergraph bench gpu --help)\n", err.msg);
        return 2;
    }
    if (pgr_device_check("peergraph bench gpu", "cuda"))
        return 2;
    const int layers = A.layers, reps = A.reps, steps = A.steps, max_batch = A.max_batch;
    int rc = 1;
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
    if (A.only & GB_G4) { /* first: nothing else holds device memory yet */
        if (gpu_bench_g4(&cfg, &A, dev, bw, &err))
            goto cleanup;
        if (!(A.only & (GB_G1 | GB_G2 | GB_G3))) {
            rc = 0;
            goto cleanup;
        }
    }
    fprintf(stderr, "bench gpu: making a random %d-layer model of Llama-3.1-8B shapes (bf16)...\n",
            layers);
    if (pgr_model_new_random(&cfg, PGR_KT_BF16, 1, &m, &err))
        goto cleanup;
    if (!(A.only & (GB_G1 | GB_G2)))
        goto g3;
    if (pgr_engine_new_on(m, "cuda", 1, &e, &err))
        goto cleanup;
    /* bytes a decode step must read: every weight once (the tied output
     * matrix is the embedding table: read once as the output projection; the
     * embedding lookup reads one row) */
    const double wbytes = (double)pgr_model_weight_bytes(m);
    printf("\n%-4s %6s %14s %14s %10s\n", "id", "batch", "tok/s", "roofline", "ratio");
    for (int B = (A.only & GB_G1) ? 1 : 2; B <= ((A.only & GB_G2) ? max_batch : 1); B *= 2) {
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
    {
        /* which decode projections the engine's start-up timing gave to
         * gemv_bf16 (bit group * 4 + class; PEERGRAPH_CUDA_GEMV) */
        pgr_cuda_stats st;
        pgr_cuda_stats_get(pgr_engine_cuda(e), &st);
        printf("{\"bench\":\"G1-gemv\",\"device\":\"%s\",\"gemv_mask\":\"0x%05x\","
               "\"gemv\":\"%s\"}\n",
               dev, (unsigned)st.gemv_mask,
               getenv("PEERGRAPH_CUDA_GEMV") ? getenv("PEERGRAPH_CUDA_GEMV") : "auto");
    }
    pgr_engine_free(e); /* G3's scheduler makes its own engine: free the device memory */
    e = NULL;
g3:
    if ((A.only & GB_G3) && gpu_bench_g3(m, &A, dev, &err))
        goto cleanup;
    rc = 0;
cleanup:
    if (rc && err.msg[0])
        fprintf(stderr, "peergraph bench gpu: %s\n", err.msg);
    pgr_engine_free(e);
    pgr_model_free(m);
    return rc;
}
