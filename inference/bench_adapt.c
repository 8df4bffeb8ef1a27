/* `peergraph bench adapt`: seconds per training step and tokens/s of adapter
 * training on CPU, or on the GPU with --device cuda (kernels/cuda/trainer.cu),
 * for the default model (docs/benchmarks.md). One step = the
 * checkpointed forward, the per-layer recompute and backward, and AdamW, over
 * one sequence of --tokens tokens whose first --prompt are the prompt; the
 * tokens are a fixed pseudo-random draw (speed does not depend on them). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "inference/adapt_train.h"
#include "inference/train.h"
#include "kernels/cuda/cuda_backend.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: peergraph bench adapt [--model PATH] [--threads N] [--tokens T] [--prompt P]\n"
            "                             [--steps N] [--method lora|loreft|direft|reft|both]\n"
            "                             [--device cpu|cuda]\n"
            "  prints seconds per step and training tokens/s for LoRA (q,k,v,o,gate,up,down)\n"
            "  and LoReFT (all layers, f7+l7), rank 8, in prefill and all modes; and the\n"
            "  forward-only (evaluation) tokens/s of the base model; --device cuda: on the\n"
            "  GPU (steps/s = 1 / best s/st; a warm-up step first, not counted)\n");
}

/* CPU seconds of the whole process: on a shared machine the wall clock measures
 * the other tenants too; with --threads 1 this is what a quiet machine sees */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int bench_one(const pgr_model *m, int method, int mode, int T, int P, int steps, int threads,
                     const char *device, const int32_t *tok)
{
    pgr_err err = {0};
    pgr_adapter_spec s;
    pgr_adapter *a = NULL;
    pgr_trainer *t = NULL;
    int rc = 1;
    pgr_adapter_spec_default(&s, m);
    s.method = method;
    s.rank = 8;
    s.alpha = 16;
    if (pgr_adapter_parse_targets(method == PGR_AD_LORA ? "q,k,v,o,gate,up,down" : "resid",
                                  &s.targets, &err) != 0 ||
        pgr_adapter_new_trainable(&s, m, 1, &a, &err) != 0 ||
        pgr_trainer_new_on(m, a, mode, T, threads, device, &t, &err) != 0)
        goto cleanup;
    const int warm = !strcmp(pgr_trainer_device(t), "cuda");
    pgr_train_opts o;
    pgr_train_opts_default(&o, method, steps + warm);
    pgr_train_seq seq = {tok, T, P};
    double best = 1e30, total = 0, cpu_best = 1e30, loss;
    int np;
    /* on the GPU the first step pays for cuBLAS's first calls and the
     * kernels' loading: one untimed step */
    if (warm) {
        if (pgr_trainer_loss(t, &seq, 1.0f / (float)(T - P), &loss, &np, &err) != 0)
            goto cleanup;
        pgr_trainer_step(t, &o, 0, NULL);
    }
    for (int i = 0; i < steps; i++) {
        uint64_t t0 = pgr_now_us();
        double c0 = cpu_s();
        if (pgr_trainer_loss(t, &seq, 1.0f / (float)(T - P), &loss, &np, &err) != 0)
            goto cleanup;
        pgr_trainer_step(t, &o, i + warm, NULL);
        double sec = (double)(pgr_now_us() - t0) / 1e6, cpu = cpu_s() - c0;
        total += sec;
        best = sec < best ? sec : best;
        cpu_best = cpu < cpu_best ? cpu : cpu_best;
    }
    printf("%-7s %-8s %6d %5d %10.4f %10.4f %8.2f %10.1f %10.4f %10.1f %9.1f\n",
           pgr_adapter_method_name(method), pgr_adapter_mode_name(mode), T, steps, best,
           total / steps, 1.0 / best, T / best, cpu_best, T / cpu_best,
           (double)pgr_trainer_act_bytes(t) / (1 << 20));
    fflush(stdout);
    rc = 0;
cleanup:
    if (rc)
        fprintf(stderr, "peergraph bench adapt: %s\n", err.msg);
    pgr_trainer_free(t);
    pgr_adapter_free(a);
    return rc;
}

int adapt_bench_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},  {"threads", required_argument, 0, 't'},
        {"tokens", required_argument, 0, 'T'}, {"prompt", required_argument, 0, 'P'},
        {"steps", required_argument, 0, 's'},  {"method", required_argument, 0, 'M'},
        {"device", required_argument, 0, 'D'}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *model_path = PGR_DEFAULT_MODEL, *method = "both", *device = "cpu";
    int threads = 2, T = 128, P = 32, steps = 3, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            model_path = optarg;
            break;
        case 't':
            threads = atoi(optarg);
            break;
        case 'T':
            T = atoi(optarg);
            break;
        case 'P':
            P = atoi(optarg);
            break;
        case 's':
            steps = atoi(optarg);
            break;
        case 'M':
            method = optarg;
            break;
        case 'D':
            /* no device: exit 2 before the model is read */
            if (pgr_device_check("peergraph bench adapt", optarg))
                return 2;
            device = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (threads < 1 || threads > 256 || T < 2 || T > 4096 || P < 1 || P >= T || steps < 1 ||
        steps > 1000 || optind < argc) {
        usage(stderr);
        return 2;
    }
    int methods[2], n_methods = 0;
    if (!strcmp(method, "both"))
        methods[0] = PGR_AD_LORA, methods[1] = PGR_AD_LOREFT, n_methods = 2;
    else {
        pgr_err err = {0};
        if (pgr_adapter_parse_method(strcmp(method, "reft") ? method : "loreft", &methods[0],
                                     &err) != 0) {
            fprintf(stderr, "peergraph bench adapt: %s\n", err.msg);
            return 2;
        }
        n_methods = 1;
    }
    pgr_err err = {0};
    pgr_model *m = NULL;
    int rc = 1;
    int32_t *tok = malloc((size_t)T * sizeof *tok);
    if (!tok || pgr_model_load(model_path, &m, &err) != 0) {
        fprintf(stderr, "peergraph bench adapt: %s\n", err.msg[0] ? err.msg : "out of memory");
        goto cleanup;
    }
    uint32_t x = 12345;
    for (int i = 0; i < T; i++) {
        x = x * 1103515245u + 12345u;
        tok[i] = 200 + (int32_t)((x >> 8) % 20000u);
    }
    if (!strcmp(device, "cuda")) {
        char name[256];
        if (pgr_cuda_available(name, sizeof name, &err) != 0) {
            fprintf(stderr, "peergraph bench adapt: --device cuda: %s\n", err.msg);
            rc = 2;
            goto cleanup;
        }
        printf("# peergraph bench adapt: %s, device cuda: %s, weights %s, sequence %d tokens "
               "(prompt %d)\n",
               model_path, name,
               getenv("PEERGRAPH_CUDA_TRAIN_WEIGHTS") ? getenv("PEERGRAPH_CUDA_TRAIN_WEIGHTS")
                                                      : "bf16",
               T, P);
    } else
        printf("# peergraph bench adapt: %s, %d threads, CPU %s, sequence %d tokens (prompt %d)\n",
               model_path, threads, pgr_kernels_cpu_isa(), T, P);
    /* forward only: the evaluation path, and the floor under a training step */
    {
        pgr_trainer *t = NULL;
        double loss;
        int np;
        if (pgr_trainer_new_on(m, NULL, PGR_AD_ALL, T, threads, device, &t, &err) != 0) {
            fprintf(stderr, "peergraph bench adapt: %s\n", err.msg);
            goto cleanup;
        }
        int ok = 1;
        if (!strcmp(device, "cuda")) /* warm-up, untimed */
            ok = pgr_trainer_loss(t, &(pgr_train_seq){tok, T, P}, 0.0f, &loss, &np, &err) == 0;
        uint64_t t0 = pgr_now_us();
        double c0 = cpu_s();
        ok = ok && pgr_trainer_loss(t, &(pgr_train_seq){tok, T, P}, 0.0f, &loss, &np, &err) == 0;
        double sec = (double)(pgr_now_us() - t0) / 1e6, cpu = cpu_s() - c0;
        pgr_trainer_free(t);
        if (!ok) {
            fprintf(stderr, "peergraph bench adapt: %s\n", err.msg);
            goto cleanup;
        }
        printf("forward only (base, loss over %d tokens): %.4f s, %.1f tokens/s; CPU %.4f s, "
               "%.1f tokens/s\n",
               T - P, sec, T / sec, cpu, T / cpu);
    }
    printf("%-7s %-8s %6s %5s %10s %10s %8s %10s %10s %10s %9s\n", "method", "mode", "tokens",
           "steps", "best s/st", "mean s/st", "steps/s", "tok/s", "cpu s/st", "cpu tok/s",
           "act MiB");
    for (int i = 0; i < n_methods; i++)
        for (int mode = 0; mode < 2; mode++)
            if (bench_one(m, methods[i], mode, T, P, steps, threads, device, tok) != 0)
                goto cleanup;
    rc = 0;
cleanup:
    free(tok);
    pgr_model_free(m);
    return rc;
}
