/* The CUDA backend's stand-in when it is not compiled in (no nvcc, sanitizer
 * and fuzz builds): every entry point fails with a clear PGR_EUNSUPPORTED, so
 * `--device cuda` is an error message and exit 2, never a crash. */
#include "kernels/cuda/cuda_backend.h"

#ifndef PEERGRAPH_CUDA
#include <string.h>

static int not_compiled(pgr_err *err)
{
    return pgr_errf(err, PGR_EUNSUPPORTED,
                    "CUDA backend not compiled in (this build had no nvcc, or is a sanitizer "
                    "or fuzz build)");
}

int pgr_cuda_available(char *name, size_t name_len, pgr_err *err)
{
    if (name && name_len)
        name[0] = '\0';
    return not_compiled(err);
}

int pgr_cuda_engine_new(const pgr_model *m, pgr_cuda_engine **out, pgr_err *err)
{
    (void)m;
    *out = NULL;
    return not_compiled(err);
}

void pgr_cuda_engine_free(pgr_cuda_engine *ce) { (void)ce; }

int pgr_cuda_forward(pgr_cuda_engine *ce, const pgr_cuda_batch *b, const pgr_hooks *hooks,
                     float *logits, pgr_err *err)
{
    (void)ce, (void)b, (void)hooks, (void)logits;
    return not_compiled(err);
}

int pgr_cuda_forward_ids(pgr_cuda_engine *ce, const pgr_cuda_batch *b, const pgr_hooks *hooks,
                         int32_t *ids, pgr_err *err)
{
    (void)ce, (void)b, (void)hooks, (void)ids;
    return not_compiled(err);
}

int pgr_cuda_copy_bandwidth(size_t bytes, int reps, double *bytes_per_s, pgr_err *err)
{
    (void)bytes, (void)reps;
    *bytes_per_s = 0;
    return not_compiled(err);
}

int pgr_cuda_mem_info(size_t *free_bytes, size_t *total_bytes, pgr_err *err)
{
    *free_bytes = *total_bytes = 0;
    return not_compiled(err);
}

int pgr_cuda_kernel_bench(const pgr_model_cfg *cfg, int reps, int lora_rank, int n_adapters,
                          pgr_cuda_kbench *out, int max, int *n, pgr_err *err)
{
    (void)cfg, (void)reps, (void)lora_rank, (void)n_adapters, (void)out, (void)max;
    *n = 0;
    return not_compiled(err);
}

void pgr_cuda_stats_get(const pgr_cuda_engine *ce, pgr_cuda_stats *out)
{
    (void)ce;
    memset(out, 0, sizeof *out);
}

int pgr_cuda_trainer_new(const pgr_model *m, const struct pgr_adapter *a, int max_tok,
                         pgr_cuda_trainer **out, pgr_err *err)
{
    (void)m, (void)a, (void)max_tok;
    *out = NULL;
    return not_compiled(err);
}

void pgr_cuda_trainer_free(pgr_cuda_trainer *ct) { (void)ct; }

int pgr_cuda_trainer_set_adapter(pgr_cuda_trainer *ct, const struct pgr_adapter *a, pgr_err *err)
{
    (void)ct, (void)a;
    return not_compiled(err);
}

int pgr_cuda_trainer_loss(pgr_cuda_trainer *ct, const int32_t *tok, int n, int prompt_len,
                          const uint8_t *mask, float grad_scale, double *loss_sum, pgr_err *err)
{
    (void)ct, (void)tok, (void)n, (void)prompt_len, (void)mask, (void)grad_scale;
    *loss_sum = 0;
    return not_compiled(err);
}

int pgr_cuda_trainer_grad(pgr_cuda_trainer *ct, struct pgr_adapter *g, pgr_err *err)
{
    (void)ct, (void)g;
    return not_compiled(err);
}

int pgr_cuda_trainer_zero_grad(pgr_cuda_trainer *ct, pgr_err *err)
{
    (void)ct;
    return not_compiled(err);
}

void pgr_cuda_trainer_bytes(const pgr_cuda_trainer *ct, size_t *act_bytes, size_t *weight_bytes)
{
    (void)ct;
    *act_bytes = *weight_bytes = 0;
}
#else
/* compiled from kernels/cuda/NAME.cu */
typedef int pgr_cuda_stub_unused;
#endif
