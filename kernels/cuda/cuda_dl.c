/* The CUDA backend loaded on first use. In a CUDA build the kernels and the
 * engine (the .cu files of kernels/cuda) are linked into libpeergraph-cuda.so beside
 * the binary, with cudart and cuBLAS; the peergraph binary links this file
 * instead, and opens that library (and with it the CUDA libraries) only when
 * something asks for the CUDA backend: `--device cuda`, `bench gpu`.
 *
 * Why: linked into the binary, libcudart and libcublasLt cost about 150 MiB
 * of resident memory in every process at start (82 MiB of libcublasLt's
 * .bss written by its static initialisers, the rest file pages), CPU
 * serving included: an idle server was 267 MiB instead of 117 (C5 in
 * docs/benchmarks.md).
 *
 * The library's unresolved references (errors, model and adapter accessors,
 * the LoRA plan) bind to the binary's own symbols, which it exports
 * (-rdynamic, whole libpeergraph). Test binaries link the .cu objects
 * directly and never pull this file from the archive. PEERGRAPH_CUDA_LIB
 * names another path for the library. */
#include "kernels/cuda/cuda_backend.h"

#ifdef PEERGRAPH_CUDA
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CUDA_LIB_NAME "libpeergraph-cuda.so"

static struct {
    int (*available)(char *, size_t, pgr_err *);
    int (*engine_new)(const pgr_model *, pgr_cuda_engine **, pgr_err *);
    void (*engine_free)(pgr_cuda_engine *);
    int (*forward)(pgr_cuda_engine *, const pgr_cuda_batch *, const pgr_hooks *, float *,
                   pgr_err *);
    int (*forward_ids)(pgr_cuda_engine *, const pgr_cuda_batch *, const pgr_hooks *, int32_t *,
                       pgr_err *);
    int (*copy_bandwidth)(size_t, int, double *, pgr_err *);
    int (*mem_info)(size_t *, size_t *, pgr_err *);
    int (*kernel_bench)(const pgr_model_cfg *, int, int, int, pgr_cuda_kbench *, int, int *,
                        pgr_err *);
    void (*stats_get)(const pgr_cuda_engine *, pgr_cuda_stats *);
    int (*trainer_new)(const pgr_model *, const struct pgr_adapter *, int, pgr_cuda_trainer **,
                       pgr_err *);
    void (*trainer_free)(pgr_cuda_trainer *);
    int (*trainer_set_adapter)(pgr_cuda_trainer *, const struct pgr_adapter *, pgr_err *);
    int (*trainer_loss)(pgr_cuda_trainer *, const int32_t *, int, int, const uint8_t *, float,
                        double *, pgr_err *);
    int (*trainer_grad)(pgr_cuda_trainer *, struct pgr_adapter *, pgr_err *);
    int (*trainer_zero_grad)(pgr_cuda_trainer *, pgr_err *);
    void (*trainer_bytes)(const pgr_cuda_trainer *, size_t *, size_t *);
} fn;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static char why[PATH_MAX + 512]; /* empty when loaded */

/* PEERGRAPH_CUDA_LIB, or the library beside the running binary; a path
 * too long for out is an error (-1), not a truncated name. */
static int lib_path(char *out, size_t n)
{
    const char *env = getenv("PEERGRAPH_CUDA_LIB");
    char exe[PATH_MAX];
    ssize_t len;
    int w;
    if (env && *env) {
        w = snprintf(out, n, "%s", env);
        return w < 0 || (size_t)w >= n ? -1 : 0;
    }
    len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) /* the loader's search path */
        return snprintf(out, n, "%s", CUDA_LIB_NAME) < 0 ? -1 : 0;
    exe[len] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        slash[1] = '\0';
    w = snprintf(out, n, "%.*s%s", (int)(n - sizeof CUDA_LIB_NAME), slash ? exe : "",
                 CUDA_LIB_NAME);
    return w < 0 || (size_t)w >= n || (slash && strlen(exe) > n - sizeof CUDA_LIB_NAME) ? -1 : 0;
}

static void load(void)
{
    char path[PATH_MAX];
    void *h;
    if (lib_path(path, sizeof path)) {
        snprintf(why, sizeof why, "CUDA backend library: path too long (PEERGRAPH_CUDA_LIB)");
        return;
    }
    /* RTLD_NOW: a missing symbol is an error here, not a crash later */
    h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(why, sizeof why, "CUDA backend library not loaded: %s", e ? e : path);
        return;
    }
#define SYM(field, name)                                                                   \
    do {                                                                                   \
        *(void **)&fn.field = dlsym(h, name);                                              \
        if (!fn.field) {                                                                   \
            snprintf(why, sizeof why, "CUDA backend library %s lacks %s", path, name);      \
            return;                                                                        \
        }                                                                                  \
    } while (0)
    SYM(available, "pgr_cuda_available");
    SYM(engine_new, "pgr_cuda_engine_new");
    SYM(engine_free, "pgr_cuda_engine_free");
    SYM(forward, "pgr_cuda_forward");
    SYM(forward_ids, "pgr_cuda_forward_ids");
    SYM(copy_bandwidth, "pgr_cuda_copy_bandwidth");
    SYM(mem_info, "pgr_cuda_mem_info");
    SYM(kernel_bench, "pgr_cuda_kernel_bench");
    SYM(stats_get, "pgr_cuda_stats_get");
    SYM(trainer_new, "pgr_cuda_trainer_new");
    SYM(trainer_free, "pgr_cuda_trainer_free");
    SYM(trainer_set_adapter, "pgr_cuda_trainer_set_adapter");
    SYM(trainer_loss, "pgr_cuda_trainer_loss");
    SYM(trainer_grad, "pgr_cuda_trainer_grad");
    SYM(trainer_zero_grad, "pgr_cuda_trainer_zero_grad");
    SYM(trainer_bytes, "pgr_cuda_trainer_bytes");
#undef SYM
}

/* 0 when the library is loaded; else -1 with err naming why. */
static int ready(pgr_err *err)
{
    pthread_once(&once, load);
    if (why[0])
        return pgr_errf(err, PGR_EUNSUPPORTED, "%s", why);
    return 0;
}

int pgr_cuda_available(char *name, size_t name_len, pgr_err *err)
{
    if (name && name_len)
        name[0] = '\0';
    return ready(err) ? -1 : fn.available(name, name_len, err);
}

int pgr_cuda_engine_new(const pgr_model *m, pgr_cuda_engine **out, pgr_err *err)
{
    *out = NULL;
    return ready(err) ? -1 : fn.engine_new(m, out, err);
}

void pgr_cuda_engine_free(pgr_cuda_engine *ce)
{
    if (ce) /* only an engine the library made, so it is loaded */
        fn.engine_free(ce);
}

int pgr_cuda_forward(pgr_cuda_engine *ce, const pgr_cuda_batch *b, const pgr_hooks *hooks,
                     float *logits, pgr_err *err)
{
    return ready(err) ? -1 : fn.forward(ce, b, hooks, logits, err);
}

int pgr_cuda_forward_ids(pgr_cuda_engine *ce, const pgr_cuda_batch *b, const pgr_hooks *hooks,
                         int32_t *ids, pgr_err *err)
{
    return ready(err) ? -1 : fn.forward_ids(ce, b, hooks, ids, err);
}

int pgr_cuda_copy_bandwidth(size_t bytes, int reps, double *bytes_per_s, pgr_err *err)
{
    return ready(err) ? -1 : fn.copy_bandwidth(bytes, reps, bytes_per_s, err);
}

int pgr_cuda_mem_info(size_t *free_bytes, size_t *total_bytes, pgr_err *err)
{
    return ready(err) ? -1 : fn.mem_info(free_bytes, total_bytes, err);
}

int pgr_cuda_kernel_bench(const pgr_model_cfg *cfg, int reps, int lora_rank, int n_adapters,
                          pgr_cuda_kbench *out, int max, int *n, pgr_err *err)
{
    *n = 0;
    return ready(err) ? -1 : fn.kernel_bench(cfg, reps, lora_rank, n_adapters, out, max, n, err);
}

void pgr_cuda_stats_get(const pgr_cuda_engine *ce, pgr_cuda_stats *out)
{
    memset(out, 0, sizeof *out);
    if (ce)
        fn.stats_get(ce, out);
}

int pgr_cuda_trainer_new(const pgr_model *m, const struct pgr_adapter *a, int max_tok,
                         pgr_cuda_trainer **out, pgr_err *err)
{
    *out = NULL;
    return ready(err) ? -1 : fn.trainer_new(m, a, max_tok, out, err);
}

void pgr_cuda_trainer_free(pgr_cuda_trainer *ct)
{
    if (ct) /* only a trainer the library made, so it is loaded */
        fn.trainer_free(ct);
}

int pgr_cuda_trainer_set_adapter(pgr_cuda_trainer *ct, const struct pgr_adapter *a, pgr_err *err)
{
    return ready(err) ? -1 : fn.trainer_set_adapter(ct, a, err);
}

int pgr_cuda_trainer_loss(pgr_cuda_trainer *ct, const int32_t *tok, int n, int prompt_len,
                          const uint8_t *mask, float grad_scale, double *loss_sum, pgr_err *err)
{
    *loss_sum = 0;
    return ready(err) ? -1
                      : fn.trainer_loss(ct, tok, n, prompt_len, mask, grad_scale, loss_sum, err);
}

int pgr_cuda_trainer_grad(pgr_cuda_trainer *ct, struct pgr_adapter *g, pgr_err *err)
{
    return ready(err) ? -1 : fn.trainer_grad(ct, g, err);
}

int pgr_cuda_trainer_zero_grad(pgr_cuda_trainer *ct, pgr_err *err)
{
    return ready(err) ? -1 : fn.trainer_zero_grad(ct, err);
}

void pgr_cuda_trainer_bytes(const pgr_cuda_trainer *ct, size_t *act_bytes, size_t *weight_bytes)
{
    *act_bytes = *weight_bytes = 0;
    if (ct)
        fn.trainer_bytes(ct, act_bytes, weight_bytes);
}
#endif
