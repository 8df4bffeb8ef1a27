/* The CUDA engine: llama forward over a multi-sequence batch on one GPU, the
 * same graph as inference/model.c (which stays the oracle: the tests compare
 * the two), with
 *   - weights uploaded once into one allocation: raw blocks (our quantised
 *     matrix-vector kernel, the embedding lookup) and bf16 copies (cuBLAS);
 *   - the paged KV cache's data in device memory; the block tables stay in
 *     the host's pgr_kv and travel with each step;
 *   - adapters in a device pool (one cudaMalloc per adapter), uploaded on
 *     first use through a pinned staging buffer, LRU-evicted over a budget;
 *     LoRA as SGMV for adapters with several tokens in the step (prefill
 *     chunks) and BGMV for the rest (decode tokens), both in one step when
 *     it mixes them (kernels/cuda/lora_plan.h), ReFT per token;
 *   - steps with no adapter work (PreFT decode, base requests) replayed from
 *     CUDA graphs captured per batch-size bucket (1, 2, 4, ... 256 tokens,
 *     padding tokens have pos -1 and touch nothing).
 * Per step the host packs token ids, positions, block tables, adapter slots
 * and segments into one pinned buffer and uploads it with one copy.
 *
 * Checked on an H100 (2026-11-23) by tests/unit/test_cuda_*.c against the
 * CPU engine; docs/cuda.md says what changed since and has not run there. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_common.cuh"
extern "C" {
#include "inference/adapter.h"
#include "kernels/cuda/lora_plan.h"
}

#define N_BUCKETS 9 /* graph buckets: 1, 2, 4, ..., 256 tokens */
#define MAX_GRAPH_TOK 256
#define N_SLOTS 1024 /* adapters resident at once */
#define N_SITES PGR_SITE_COUNT
#define ALIGN 256

enum { GEMM_AUTO = 0, GEMM_CUBLAS = 1, GEMM_QUANT = 2 };
enum { GEMV_AUTO = 0, GEMV_ON = 1, GEMV_OFF = 2 };
/* Projection groups (one matmul() call each): the small-batch kernel is
 * chosen per group and batch-size class (gemv_class). */
enum { G_QKV, G_O, G_GATEUP, G_DOWN, G_OUT, N_GROUPS };
#define N_GV_CLASSES 4 /* 1, 2, 3-4, 5-8 tokens */

typedef struct dmat {
    int type, rows, cols;
    size_t row_bytes;
    const void *raw;      /* (rows, row_bytes) device */
    const uint16_t *bf16; /* (rows, cols) device, NULL in quant-only mode */
} dmat;

typedef struct ad_entry {
    uint64_t uid; /* 0 = free slot */
    void *mem;    /* device: lora table, reft table, tensors */
    size_t bytes;
    uint64_t last_step;
    int method, max_rank;
    uint8_t *has; /* (n_layer, N_SITES) host: 1 where the adapter acts */
} ad_entry;

struct pgr_cuda_engine {
    const pgr_model *m;
    pgr_model_cfg c;
    int q_dim, kv_dim, wide, widest;
    int gemm_mode, use_graphs;
    int gemv_mode;
    uint8_t gemv_use[N_GROUPS][N_GV_CLASSES]; /* 1: gemv_bf16, 0: cuBLAS */
    int sgmv_min; /* LoRA groups of at least this many tokens go to SGMV */
    cudaStream_t st;
    pgr_cu_blas *blas;
    /* weights: one allocation */
    void *wmem;
    size_t wbytes;
    dmat *mats; /* (n_layer, PGR_SITE_RESID) */
    dmat embd, out;
    float *norms; /* (2 * n_layer + 1, dim): output norm, then attn, ffn per layer */
    /* KV data of one host pgr_kv */
    uint64_t kv_uid;
    int kv_blocks, kv_bs;
    uint16_t *kc, *vc; /* (n_layer, kv_blocks, kv_bs, kv_dim) fp16 */
    size_t kv_layer;   /* halves per layer */
    /* activations for cap tokens */
    int cap;
    void *amem;
    float *x, *xb, *q, *k, *v, *att, *hb, *hb2; /* see reserve() */
    uint16_t *xbf;                              /* (cap, widest) bf16 inputs of cuBLAS */
    int lcap;
    float *logits; /* (lcap, vocab) */
    float *ltmp;   /* (n_seg_tok, max_rank) SGMV shrink output */
    size_t ltmp_cap;
    /* per-step metadata: pinned host + device */
    int32_t *h_meta, *d_meta;
    size_t meta_cap; /* int32 entries */
    float *h_logits; /* pinned (lcap, vocab) */
    size_t h_logits_cap;
    int32_t *d_ids, *h_ids; /* (lcap) greedy ids: device, pinned */
    /* host scratch */
    int32_t *seq_off, *seq_max; /* (max_seqs) */
    int seq_cap;
    int32_t *h_slot;  /* (n) adapter slot of each token, -1 */
    int32_t *h_lslot; /* (n) the same for LoRA tokens only */
    int32_t *h_bslot; /* (n) the same for the tokens BGMV takes */
    int32_t *h_seg;   /* (3n + 1) SGMV segments: start (n + 1), tok (n), slot (n) */
    int64_t *h_pairs; /* (n) grouping scratch */
    size_t hs_cap;
    /* adapters */
    ad_entry ads[N_SLOTS];
    pgr_cu_lora **d_lora_tabs; /* (N_SLOTS) device array of device pointers */
    pgr_cu_reft **d_reft_tabs;
    size_t ad_bytes, ad_budget;
    void *h_stage; /* pinned */
    size_t stage_cap;
    uint64_t step;
    /* graphs */
    cudaGraphExec_t gexec[N_BUCKETS];
    pgr_cuda_stats stats;
};

static size_t align_up(size_t n) { return (n + ALIGN - 1) & ~(size_t)(ALIGN - 1); }

static int env_int(const char *name, int def)
{
    const char *s = getenv(name);
    return s && *s ? atoi(s) : def;
}

static void graphs_drop(pgr_cuda_engine *ce)
{
    for (int i = 0; i < N_BUCKETS; i++)
        if (ce->gexec[i]) {
            cudaGraphExecDestroy(ce->gexec[i]);
            ce->gexec[i] = NULL;
        }
}

/* ---- creation ------------------------------------------------------------- */

static int check_mat(const pgr_wmat *w, const char *what, pgr_err *err)
{
    if (!pgr_cu_type_ok(w->type) || w->cols % QK)
        return pgr_errf(err, PGR_EUNSUPPORTED,
                        "CUDA engine: %s has type %s and %d columns (types F32, F16, BF16, Q4_0, "
                        "Q4_1, Q8_0; columns a multiple of 32)",
                        what, pgr_kt_name(w->type), w->cols);
    return 0;
}

/* Bytes of one matrix in the weight allocation (raw, then its bf16 copy). */
static size_t mat_bytes(const pgr_cuda_engine *ce, const pgr_wmat *w)
{
    size_t n = align_up((size_t)w->rows * w->row_bytes);
    if (ce->gemm_mode != GEMM_QUANT && w->type != PGR_KT_BF16)
        n += align_up((size_t)w->rows * (size_t)w->cols * 2);
    return n;
}

static int mat_upload(pgr_cuda_engine *ce, const pgr_wmat *w, uint8_t **p, dmat *d, pgr_err *err)
{
    const size_t raw = (size_t)w->rows * w->row_bytes;
    d->type = w->type, d->rows = w->rows, d->cols = w->cols, d->row_bytes = w->row_bytes;
    d->raw = *p;
    d->bf16 = NULL;
    /* On ce->st, not the legacy stream: a pageable cudaMemcpy may return
     * before its DMA lands, and the legacy stream does not order a
     * non-blocking stream's dequantisation after it (seen on an H100: the
     * bf16 copies were partly stale, cuBLAS logits off by 20-60). */
    CU_TRY(cudaMemcpyAsync(*p, w->data, raw, cudaMemcpyHostToDevice, ce->st));
    *p += align_up(raw);
    if (ce->gemm_mode != GEMM_QUANT) {
        if (w->type == PGR_KT_BF16) {
            d->bf16 = (const uint16_t *)d->raw;
        } else {
            if (pgr_cu_dequant_bf16(w->type, d->raw, w->row_bytes, w->rows, w->cols,
                                    (uint16_t *)*p, ce->st, err))
                goto cleanup;
            d->bf16 = (const uint16_t *)*p;
            *p += align_up((size_t)w->rows * (size_t)w->cols * 2);
        }
    }
    return 0;
cleanup:
    return -1;
}

static int weights_upload(pgr_cuda_engine *ce, pgr_err *err)
{
    const pgr_model_cfg *c = &ce->c;
    const pgr_wmat *te = pgr_model_tok_embd(ce->m), *ow = pgr_model_output(ce->m);
    const int tied = ow->data == te->data;
    size_t total = 0, nf = (size_t)(2 * c->n_layer + 1) * (size_t)c->dim;
    uint8_t *p = NULL;
    char what[64];
    if (check_mat(te, "token_embd", err) || check_mat(ow, "output", err))
        return -1;
    total += mat_bytes(ce, te) + (tied ? 0 : mat_bytes(ce, ow)) + align_up(nf * sizeof(float));
    for (int l = 0; l < c->n_layer; l++)
        for (int s = 0; s < PGR_SITE_RESID; s++) {
            const pgr_wmat *w = pgr_model_weight(ce->m, l, s);
            snprintf(what, sizeof what, "layer %d %s", l, pgr_site_name(s));
            if (check_mat(w, what, err))
                return -1;
            total += mat_bytes(ce, w);
        }
    ce->mats = (dmat *)calloc((size_t)c->n_layer * PGR_SITE_RESID, sizeof(dmat));
    if (!ce->mats)
        return pgr_errf(err, PGR_ENOMEM, "CUDA engine: out of memory");
    CU_TRY(cudaMalloc(&ce->wmem, total));
    ce->wbytes = total;
    p = (uint8_t *)ce->wmem;
    if (mat_upload(ce, te, &p, &ce->embd, err))
        goto cleanup;
    if (tied)
        ce->out = ce->embd;
    else if (mat_upload(ce, ow, &p, &ce->out, err))
        goto cleanup;
    for (int l = 0; l < c->n_layer; l++)
        for (int s = 0; s < PGR_SITE_RESID; s++)
            if (mat_upload(ce, pgr_model_weight(ce->m, l, s), &p,
                           &ce->mats[(size_t)l * PGR_SITE_RESID + s], err))
                goto cleanup;
    ce->norms = (float *)p;
    CU_TRY(cudaMemcpyAsync(ce->norms, pgr_model_norm(ce->m, -1, 0), (size_t)c->dim * sizeof(float),
                           cudaMemcpyHostToDevice, ce->st));
    for (int l = 0; l < c->n_layer; l++)
        for (int w = 0; w < 2; w++)
            CU_TRY(cudaMemcpyAsync(ce->norms + (size_t)(1 + 2 * l + w) * c->dim,
                                   pgr_model_norm(ce->m, l, w), (size_t)c->dim * sizeof(float),
                                   cudaMemcpyHostToDevice, ce->st));
    CU_TRY(cudaStreamSynchronize(ce->st)); /* the copies and dequantisations */
    ce->stats.weight_bytes = total;
    return 0;
cleanup:
    return -1;
}

/* Chooses, per projection group and batch-size class, between cuBLAS (with
 * its to_bf16 conversion of x) and gemv_bf16, by timing both on this
 * device on the group's own matrices of layer 0 (every layer has the same
 * shapes) and of the output projection: 1 warm-up and 5 timed runs each,
 * the fastest run of each kept. PEERGRAPH_CUDA_GEMV=on takes gemv_bf16
 * wherever it applies (tests), off never. */
static int gemv_calibrate(pgr_cuda_engine *ce, pgr_err *err)
{
    static const int cls_tok[N_GV_CLASSES] = {1, 2, 4, 8};
    const dmat *W = ce->mats; /* layer 0 */
    const dmat *grp[N_GROUPS][GV_MAX_MATS] = {
        {&W[PGR_SITE_Q], &W[PGR_SITE_K], &W[PGR_SITE_V]},
        {&W[PGR_SITE_O], NULL, NULL},
        {&W[PGR_SITE_GATE], &W[PGR_SITE_UP], NULL},
        {&W[PGR_SITE_DOWN], NULL, NULL},
        {&ce->out, NULL, NULL}};
    static const int n_mats[N_GROUPS] = {3, 1, 2, 1, 1};
    static const int accumulate[N_GROUPS] = {0, 1, 0, 1, 0};
    size_t max_cols = 0, max_rows = 0;
    float *x = NULL, *y = NULL;
    uint16_t *xbf = NULL;
    cudaEvent_t ev[3] = {NULL, NULL, NULL};
    int ok[N_GROUPS];
    memset(ce->gemv_use, 0, sizeof ce->gemv_use);
    ce->stats.gemv_mask = 0;
    if (ce->gemm_mode == GEMM_QUANT || ce->gemv_mode == GEMV_OFF || ce->c.n_layer < 1)
        return 0;
    for (int g = 0; g < N_GROUPS; g++) {
        size_t rows = 0;
        ok[g] = 1;
        for (int i = 0; i < n_mats[g]; i++) {
            const dmat *d = grp[g][i];
            ok[g] &= d->bf16 != NULL && d->cols % 8 == 0 && d->cols == grp[g][0]->cols &&
                     ((uintptr_t)d->bf16 & 15) == 0;
            rows += (size_t)d->rows;
        }
        if (!ok[g])
            continue;
        if ((size_t)grp[g][0]->cols > max_cols)
            max_cols = (size_t)grp[g][0]->cols;
        if (rows > max_rows)
            max_rows = rows;
    }
    if (!max_cols)
        return 0;
    CU_TRY(cudaMalloc((void **)&x, GV_MAX_TOK * max_cols * sizeof(float)));
    CU_TRY(cudaMalloc((void **)&xbf, GV_MAX_TOK * max_cols * sizeof(uint16_t)));
    CU_TRY(cudaMalloc((void **)&y, GV_MAX_TOK * max_rows * sizeof(float)));
    CU_TRY(cudaMemsetAsync(x, 0, GV_MAX_TOK * max_cols * sizeof(float), ce->st));
    CU_TRY(cudaMemsetAsync(y, 0, GV_MAX_TOK * max_rows * sizeof(float), ce->st));
    for (int i = 0; i < 3; i++)
        CU_TRY(cudaEventCreate(&ev[i]));
    for (int g = 0; g < N_GROUPS; g++) {
        if (!ok[g])
            continue;
        for (int cls = 0; cls < N_GV_CLASSES; cls++) {
            const int n = cls_tok[cls], cols = grp[g][0]->cols;
            float best_blas = INFINITY, best_gemv = INFINITY;
            pgr_cu_gemv_mat gm[GV_MAX_MATS];
            float *yi = y;
            for (int i = 0; i < n_mats[g]; i++) {
                gm[i].w = grp[g][i]->bf16, gm[i].y = yi, gm[i].rows = grp[g][i]->rows;
                yi += (size_t)n * (size_t)grp[g][i]->rows;
            }
            if (ce->gemv_mode == GEMV_ON) {
                ce->gemv_use[g][cls] = 1;
                continue;
            }
            for (int rep = 0; rep < 6; rep++) {
                float t_blas, t_gemv;
                CU_TRY(cudaEventRecord(ev[0], ce->st));
                if (pgr_cu_to_bf16(x, xbf, (size_t)n * (size_t)cols, ce->st, err))
                    goto cleanup;
                for (int i = 0; i < n_mats[g]; i++)
                    if (pgr_cu_gemm_bf16_acc(ce->blas, gm[i].w, gm[i].rows, cols, xbf, gm[i].y, n,
                                             accumulate[g], err))
                        goto cleanup;
                CU_TRY(cudaEventRecord(ev[1], ce->st));
                if (pgr_cu_gemv_bf16(gm, n_mats[g], cols, x, n, accumulate[g], ce->st, err))
                    goto cleanup;
                CU_TRY(cudaEventRecord(ev[2], ce->st));
                CU_TRY(cudaEventSynchronize(ev[2]));
                CU_TRY(cudaEventElapsedTime(&t_blas, ev[0], ev[1]));
                CU_TRY(cudaEventElapsedTime(&t_gemv, ev[1], ev[2]));
                if (rep == 0)
                    continue; /* warm-up: first launches, cuBLAS heuristics */
                best_blas = fminf(best_blas, t_blas);
                best_gemv = fminf(best_gemv, t_gemv);
            }
            ce->gemv_use[g][cls] = best_gemv < best_blas;
        }
    }
    for (int g = 0; g < N_GROUPS; g++)
        for (int cls = 0; cls < N_GV_CLASSES; cls++)
            if (ce->gemv_use[g][cls])
                ce->stats.gemv_mask |= 1u << (g * N_GV_CLASSES + cls);
    cudaFree(x), cudaFree(xbf), cudaFree(y);
    for (int i = 0; i < 3; i++)
        cudaEventDestroy(ev[i]);
    return 0;
cleanup:
    memset(ce->gemv_use, 0, sizeof ce->gemv_use);
    cudaStreamSynchronize(ce->st); /* nothing may still use the buffers */
    cudaFree(x), cudaFree(xbf), cudaFree(y);
    for (int i = 0; i < 3; i++)
        if (ev[i])
            cudaEventDestroy(ev[i]);
    return -1;
}

extern "C" int pgr_cuda_engine_new(const pgr_model *m, pgr_cuda_engine **out, pgr_err *err)
{
    pgr_cuda_engine *ce = NULL;
    const char *gm = getenv("PEERGRAPH_CUDA_GEMM"), *gv = getenv("PEERGRAPH_CUDA_GEMV");
    *out = NULL;
    if (pgr_cuda_available(NULL, 0, err))
        return -1;
    ce = (pgr_cuda_engine *)calloc(1, sizeof *ce);
    if (!ce)
        return pgr_errf(err, PGR_ENOMEM, "CUDA engine: out of memory");
    ce->m = m;
    ce->c = *pgr_model_config(m);
    ce->q_dim = ce->c.n_head * ce->c.head_dim;
    ce->kv_dim = ce->c.n_kv_head * ce->c.head_dim;
    ce->wide = ce->q_dim > ce->c.dim ? ce->q_dim : ce->c.dim;
    ce->widest = ce->wide > ce->c.ffn_dim ? ce->wide : ce->c.ffn_dim;
    ce->gemm_mode = !gm || !*gm || !strcmp(gm, "auto") ? GEMM_AUTO
                    : !strcmp(gm, "cublas")             ? GEMM_CUBLAS
                    : !strcmp(gm, "quant")              ? GEMM_QUANT
                                                        : -1;
    ce->gemv_mode = !gv || !*gv || !strcmp(gv, "auto") ? GEMV_AUTO
                    : !strcmp(gv, "on")                 ? GEMV_ON
                    : !strcmp(gv, "off")                ? GEMV_OFF
                                                        : -1;
    ce->use_graphs = env_int("PEERGRAPH_CUDA_GRAPHS", 1) != 0;
    ce->sgmv_min = env_int("PEERGRAPH_CUDA_SGMV_MIN", 2);
    ce->ad_budget = (size_t)env_int("PEERGRAPH_CUDA_ADAPTER_MIB", 1024) << 20;
    ARG_CHECK(ce->gemm_mode >= 0, "PEERGRAPH_CUDA_GEMM='%s': auto, cublas or quant", gm);
    ARG_CHECK(ce->gemv_mode >= 0, "PEERGRAPH_CUDA_GEMV='%s': auto, on or off", gv);
    ARG_CHECK(ce->sgmv_min >= 1, "PEERGRAPH_CUDA_SGMV_MIN=%d: at least 1", ce->sgmv_min);
    ARG_CHECK(ce->c.head_dim % 32 == 0 && ce->c.head_dim <= 256,
              "CUDA engine: head_dim %d unsupported (a multiple of 32, at most 256)",
              ce->c.head_dim);
    CU_TRY(cudaSetDevice(0));
    CU_TRY(cudaStreamCreateWithFlags(&ce->st, cudaStreamNonBlocking));
    if (pgr_cu_blas_new(ce->st, &ce->blas, err) || weights_upload(ce, err) ||
        gemv_calibrate(ce, err))
        goto cleanup;
    CU_TRY(cudaMalloc((void **)&ce->d_lora_tabs, N_SLOTS * sizeof(pgr_cu_lora *)));
    CU_TRY(cudaMalloc((void **)&ce->d_reft_tabs, N_SLOTS * sizeof(pgr_cu_reft *)));
    /* memsets on ce->st too: the legacy stream does not order them before
     * ce->st's kernels */
    CU_TRY(cudaMemsetAsync(ce->d_lora_tabs, 0, N_SLOTS * sizeof(pgr_cu_lora *), ce->st));
    CU_TRY(cudaMemsetAsync(ce->d_reft_tabs, 0, N_SLOTS * sizeof(pgr_cu_reft *), ce->st));
    *out = ce;
    return 0;
cleanup:
    pgr_cuda_engine_free(ce);
    return -1;
}

static void ad_drop(pgr_cuda_engine *ce, int i)
{
    ad_entry *a = &ce->ads[i];
    if (a->mem)
        cudaFree(a->mem);
    free(a->has);
    ce->ad_bytes -= a->bytes;
    memset(a, 0, sizeof *a);
}

extern "C" void pgr_cuda_engine_free(pgr_cuda_engine *ce)
{
    if (!ce)
        return;
    if (ce->st)
        cudaStreamSynchronize(ce->st);
    graphs_drop(ce);
    for (int i = 0; i < N_SLOTS; i++)
        if (ce->ads[i].uid)
            ad_drop(ce, i);
    cudaFree(ce->d_lora_tabs);
    cudaFree(ce->d_reft_tabs);
    cudaFree(ce->wmem);
    cudaFree(ce->kc);
    cudaFree(ce->vc);
    cudaFree(ce->amem);
    cudaFree(ce->logits);
    cudaFree(ce->d_ids);
    cudaFreeHost(ce->h_ids);
    cudaFree(ce->ltmp);
    cudaFree(ce->d_meta);
    cudaFreeHost(ce->h_meta);
    cudaFreeHost(ce->h_logits);
    cudaFreeHost(ce->h_stage);
    pgr_cu_blas_free(ce->blas);
    if (ce->st)
        cudaStreamDestroy(ce->st);
    free(ce->mats);
    free(ce->seq_off);
    free(ce->seq_max);
    free(ce->h_slot);
    free(ce->h_lslot);
    free(ce->h_bslot);
    free(ce->h_seg);
    free(ce->h_pairs);
    free(ce);
}

extern "C" void pgr_cuda_stats_get(const pgr_cuda_engine *ce, pgr_cuda_stats *out)
{
    *out = ce->stats;
    out->kv_bytes = 2 * ce->kv_layer * (size_t)ce->c.n_layer * sizeof(uint16_t);
    out->adapter_bytes = ce->ad_bytes;
}

/* ---- buffers ---------------------------------------------------------------- */

/* Activations for n tokens (at least the largest graph bucket, so that graph
 * pointers stay valid), logits for nl rows. Growing drops the graphs. */
static int reserve(pgr_cuda_engine *ce, int n, int nl, pgr_err *err)
{
    const pgr_model_cfg *c = &ce->c;
    if (n < MAX_GRAPH_TOK)
        n = MAX_GRAPH_TOK;
    if (nl < MAX_GRAPH_TOK)
        nl = MAX_GRAPH_TOK;
    if (n > ce->cap) {
        const size_t nn = (size_t)n;
        size_t sz[8] = {nn * c->dim,    nn * ce->wide,   nn * ce->q_dim,  nn * ce->kv_dim,
                        nn * ce->kv_dim, nn * ce->q_dim, nn * c->ffn_dim, nn * c->ffn_dim};
        float **dst[8] = {&ce->x, &ce->xb, &ce->q, &ce->k, &ce->v, &ce->att, &ce->hb, &ce->hb2};
        size_t total = align_up(nn * ce->widest * 2);
        uint8_t *p;
        for (int i = 0; i < 8; i++)
            total += align_up(sz[i] * sizeof(float));
        graphs_drop(ce);
        cudaFree(ce->amem);
        ce->amem = NULL;
        ce->cap = 0;
        CU_TRY(cudaMalloc(&ce->amem, total));
        p = (uint8_t *)ce->amem;
        for (int i = 0; i < 8; i++) {
            *dst[i] = (float *)p;
            p += align_up(sz[i] * sizeof(float));
        }
        ce->xbf = (uint16_t *)p;
        ce->cap = n;
    }
    if (nl > ce->lcap) {
        const size_t bytes = (size_t)nl * (size_t)c->vocab * sizeof(float);
        graphs_drop(ce);
        cudaFree(ce->logits);
        cudaFreeHost(ce->h_logits);
        cudaFree(ce->d_ids);
        cudaFreeHost(ce->h_ids);
        ce->logits = NULL;
        ce->h_logits = NULL;
        ce->d_ids = ce->h_ids = NULL;
        ce->lcap = 0;
        CU_TRY(cudaMalloc((void **)&ce->logits, bytes));
        CU_TRY(cudaMallocHost((void **)&ce->h_logits, bytes));
        CU_TRY(cudaMalloc((void **)&ce->d_ids, (size_t)nl * sizeof(int32_t)));
        CU_TRY(cudaMallocHost((void **)&ce->h_ids, (size_t)nl * sizeof(int32_t)));
        ce->lcap = nl;
    }
    return 0;
cleanup:
    return -1;
}

static int reserve_meta(pgr_cuda_engine *ce, size_t n, pgr_err *err)
{
    if (n <= ce->meta_cap)
        return 0;
    n = n * 2 > 4096 ? n * 2 : 4096;
    graphs_drop(ce);
    cudaFree(ce->d_meta);
    cudaFreeHost(ce->h_meta);
    ce->d_meta = ce->h_meta = NULL;
    ce->meta_cap = 0;
    CU_TRY(cudaMalloc((void **)&ce->d_meta, n * sizeof(int32_t)));
    CU_TRY(cudaMallocHost((void **)&ce->h_meta, n * sizeof(int32_t)));
    ce->meta_cap = n;
    return 0;
cleanup:
    return -1;
}

static int reserve_host(pgr_cuda_engine *ce, int n, int max_seqs, pgr_err *err)
{
    if ((size_t)n > ce->hs_cap) {
        free(ce->h_slot);
        free(ce->h_lslot);
        free(ce->h_bslot);
        free(ce->h_seg);
        free(ce->h_pairs);
        ce->h_slot = (int32_t *)malloc((size_t)n * sizeof(int32_t));
        ce->h_lslot = (int32_t *)malloc((size_t)n * sizeof(int32_t));
        ce->h_bslot = (int32_t *)malloc((size_t)n * sizeof(int32_t));
        ce->h_seg = (int32_t *)malloc((3 * (size_t)n + 1) * sizeof(int32_t));
        ce->h_pairs = (int64_t *)malloc((size_t)n * sizeof(int64_t));
        ce->hs_cap = ce->h_slot && ce->h_lslot && ce->h_bslot && ce->h_seg && ce->h_pairs
                         ? (size_t)n
                         : 0;
        if (!ce->hs_cap)
            return pgr_errf(err, PGR_ENOMEM, "CUDA engine: out of memory for %d tokens", n);
    }
    if (max_seqs > ce->seq_cap) {
        free(ce->seq_off);
        free(ce->seq_max);
        ce->seq_off = (int32_t *)malloc((size_t)max_seqs * sizeof(int32_t));
        ce->seq_max = (int32_t *)malloc((size_t)max_seqs * sizeof(int32_t));
        ce->seq_cap = ce->seq_off && ce->seq_max ? max_seqs : 0;
        if (!ce->seq_cap)
            return pgr_errf(err, PGR_ENOMEM, "CUDA engine: out of memory for %d sequences",
                            max_seqs);
        for (int s = 0; s < max_seqs; s++)
            ce->seq_off[s] = -1, ce->seq_max[s] = -1;
    }
    return 0;
}

/* The device holds one host cache's data. A new cache (uid or geometry)
 * gets fresh device memory; a batch continuing a sequence whose K/V were
 * written under another cache is refused rather than read as garbage. */
static int kv_bind(pgr_cuda_engine *ce, const pgr_cuda_batch *b, pgr_err *err)
{
    const pgr_model_cfg *c = &ce->c;
    size_t per_layer, total;
    if (b->n_layer_kv != c->n_layer)
        return pgr_errf(err, PGR_EINVAL, "CUDA engine: kv cache was made for another model");
    if (ce->kc && ce->kv_uid == b->kv_uid && ce->kv_blocks == b->kv_blocks &&
        ce->kv_bs == b->block_size)
        return 0;
    for (int t = 0; t < b->n_tok; t++) { /* each sequence must start here, at position 0 */
        int s = b->seq[t];
        if (ce->seq_max[s] < 0)
            ce->seq_max[s] = b->pos[t]; /* the first token of s in the batch: its start */
    }
    for (int t = 0; t < b->n_tok; t++) {
        int s = b->seq[t], start = ce->seq_max[s];
        ce->seq_max[s] = -1;
        if (start > 0)
            return pgr_errf(err, PGR_EINVAL,
                            "CUDA engine: sequence %d continues at position %d, but its K/V were "
                            "written to another KV cache (one cache per CUDA engine)",
                            s, start);
    }
    if (!pgr_mul_ok((size_t)b->kv_blocks * (size_t)b->block_size, (size_t)ce->kv_dim, &per_layer) ||
        !pgr_mul_ok(per_layer, (size_t)c->n_layer * sizeof(uint16_t), &total))
        return pgr_errf(err, PGR_EINVAL, "CUDA engine: kv cache size overflows");
    graphs_drop(ce);
    cudaFree(ce->kc);
    cudaFree(ce->vc);
    ce->kc = ce->vc = NULL;
    ce->kv_uid = 0;
    CU_TRY(cudaMalloc((void **)&ce->kc, total));
    CU_TRY(cudaMalloc((void **)&ce->vc, total));
    CU_TRY(cudaMemsetAsync(ce->kc, 0, total, ce->st));
    CU_TRY(cudaMemsetAsync(ce->vc, 0, total, ce->st));
    ce->kv_uid = b->kv_uid, ce->kv_blocks = b->kv_blocks, ce->kv_bs = b->block_size;
    ce->kv_layer = per_layer;
    return 0;
cleanup:
    return -1;
}

/* ---- adapter pool ------------------------------------------------------------ */

static int site_dims(const pgr_model_cfg *c, int site, int *in, int *out)
{
    const int qd = c->n_head * c->head_dim, kvd = c->n_kv_head * c->head_dim;
    switch (site) {
    case PGR_SITE_Q: *in = c->dim, *out = qd; return 0;
    case PGR_SITE_K:
    case PGR_SITE_V: *in = c->dim, *out = kvd; return 0;
    case PGR_SITE_O: *in = qd, *out = c->dim; return 0;
    case PGR_SITE_GATE:
    case PGR_SITE_UP: *in = c->dim, *out = c->ffn_dim; return 0;
    case PGR_SITE_DOWN: *in = c->ffn_dim, *out = c->dim; return 0;
    default: return -1;
    }
}

/* Bytes the adapter takes on the device: its tables, then its tensors. */
static int ad_layout(const pgr_cuda_engine *ce, const pgr_adapter *a, size_t *bytes, pgr_err *err)
{
    const int L = ce->c.n_layer;
    size_t n = align_up((size_t)L * N_SITES * sizeof(pgr_cu_lora)) +
               align_up((size_t)L * sizeof(pgr_cu_reft));
    for (int l = 0; l < L; l++) {
        if (a->spec.method == PGR_AD_LORA) {
            for (int s = 0; s < PGR_SITE_RESID; s++) {
                const pgr_adapter_tensor *A = &a->lora_a[(size_t)l * N_SITES + s],
                                         *B = &a->lora_b[(size_t)l * N_SITES + s];
                int in, out;
                if (!A->data)
                    continue;
                site_dims(&ce->c, s, &in, &out);
                if (!B->data || A->cols != in || B->rows != out || B->cols != A->rows)
                    return pgr_errf(err, PGR_EINVAL,
                                    "CUDA engine: adapter LoRA at layer %d %s has shapes A (%d, "
                                    "%d), B (%d, %d)",
                                    l, pgr_site_name(s), A->rows, A->cols, B->rows, B->cols);
                n += align_up((size_t)A->rows * (size_t)(in + out) * sizeof(float));
            }
        } else if (a->reft_R[l].data) {
            const pgr_adapter_tensor *R = &a->reft_R[l], *W = &a->reft_W[l], *bb = &a->reft_b[l];
            if (R->cols != ce->c.dim || !W->data || W->rows != R->rows || W->cols != R->cols ||
                !bb->data || bb->rows * bb->cols != R->rows)
                return pgr_errf(err, PGR_EINVAL, "CUDA engine: adapter ReFT at layer %d: shapes",
                                l);
            n += align_up((size_t)R->rows * (size_t)(2 * ce->c.dim + 1) * sizeof(float));
        }
    }
    *bytes = n;
    return 0;
}

/* The pool slot holding adapter a, uploading it if needed. Entries used in
 * the current step are never evicted. */
static int ad_slot(pgr_cuda_engine *ce, const pgr_adapter *a, pgr_err *err)
{
    const int L = ce->c.n_layer;
    int free_i = -1;
    size_t bytes = 0;
    uint8_t *h = NULL, *d = NULL, *dp = NULL, *hp = NULL;
    pgr_cu_lora *lt;
    pgr_cu_reft *rt;
    ad_entry *e = NULL;
    for (int i = 0; i < N_SLOTS; i++) {
        if (ce->ads[i].uid == a->uid) {
            ce->ads[i].last_step = ce->step;
            return i;
        }
        if (!ce->ads[i].uid && free_i < 0)
            free_i = i;
    }
    if (ad_layout(ce, a, &bytes, err))
        return -1;
    /* evict least recently used entries (not of this step) over the budget or for a slot */
    while (ce->ad_bytes + bytes > ce->ad_budget || free_i < 0) {
        int lru = -1;
        for (int i = 0; i < N_SLOTS; i++)
            if (ce->ads[i].uid && ce->ads[i].last_step < ce->step &&
                (lru < 0 || ce->ads[i].last_step < ce->ads[lru].last_step))
                lru = i;
        if (lru < 0)
            break; /* everything resident is in this step: go over the budget */
        ad_drop(ce, lru);
        ce->stats.adapter_evictions++;
        if (free_i < 0)
            free_i = lru;
    }
    if (free_i < 0)
        return pgr_errf(err, PGR_EBUSY, "CUDA engine: more than %d adapters in one step", N_SLOTS);
    e = &ce->ads[free_i];
    memset(e, 0, sizeof *e);
    if (bytes > ce->stage_cap) {
        cudaFreeHost(ce->h_stage);
        ce->h_stage = NULL;
        ce->stage_cap = 0;
        CU_TRY(cudaMallocHost(&ce->h_stage, bytes));
        ce->stage_cap = bytes;
    }
    e->has = (uint8_t *)calloc((size_t)L * N_SITES, 1);
    if (!e->has) {
        pgr_errf(err, PGR_ENOMEM, "CUDA engine: out of memory");
        goto cleanup;
    }
    CU_TRY(cudaMalloc((void **)&d, bytes));
    e->mem = d;
    e->bytes = bytes;
    e->uid = a->uid;
    e->method = a->spec.method;
    e->last_step = ce->step;
    e->max_rank = 0;
    ce->ad_bytes += bytes;
    /* fill the staging copy; device addresses are d + the same offsets */
    h = (uint8_t *)ce->h_stage;
    memset(h, 0, bytes);
    lt = (pgr_cu_lora *)h;
    rt = (pgr_cu_reft *)(h + align_up((size_t)L * N_SITES * sizeof(pgr_cu_lora)));
    hp = (uint8_t *)rt + align_up((size_t)L * sizeof(pgr_cu_reft));
    dp = d + (hp - h);
    for (int l = 0; l < L; l++) {
        if (a->spec.method == PGR_AD_LORA) {
            for (int s = 0; s < PGR_SITE_RESID; s++) {
                const size_t k = (size_t)l * N_SITES + s;
                const pgr_adapter_tensor *A = &a->lora_a[k], *B = &a->lora_b[k];
                int in, out, r;
                float *fa, *fbt;
                if (!A->data)
                    continue;
                site_dims(&ce->c, s, &in, &out);
                r = A->rows;
                fa = (float *)hp;
                fbt = fa + (size_t)r * in;
                memcpy(fa, A->data, (size_t)r * in * sizeof(float));
                for (int o = 0; o < out; o++) /* B (out, r) -> Bt (r, out) */
                    for (int j = 0; j < r; j++)
                        fbt[(size_t)j * out + o] = B->data[(size_t)o * r + j];
                lt[k].A = (const float *)dp;
                lt[k].Bt = (const float *)dp + (size_t)r * in;
                lt[k].rank = r;
                lt[k].scale = a->scale;
                e->has[k] = 1;
                if (r > e->max_rank)
                    e->max_rank = r;
                const size_t adv = align_up((size_t)r * (size_t)(in + out) * sizeof(float));
                hp += adv, dp += adv;
            }
        } else if (a->reft_R[l].data) {
            const int r = a->reft_R[l].rows, dim = ce->c.dim;
            float *f = (float *)hp;
            memcpy(f, a->reft_R[l].data, (size_t)r * dim * sizeof(float));
            memcpy(f + (size_t)r * dim, a->reft_W[l].data, (size_t)r * dim * sizeof(float));
            memcpy(f + (size_t)2 * r * dim, a->reft_b[l].data, (size_t)r * sizeof(float));
            rt[l].R = (const float *)dp;
            rt[l].W = (const float *)dp + (size_t)r * dim;
            rt[l].b = (const float *)dp + (size_t)2 * r * dim;
            rt[l].rank = r;
            rt[l].loreft = a->spec.method == PGR_AD_LOREFT;
            e->has[(size_t)l * N_SITES + PGR_SITE_RESID] = 1;
            if (r > e->max_rank)
                e->max_rank = r;
            const size_t adv = align_up((size_t)r * (size_t)(2 * dim + 1) * sizeof(float));
            hp += adv, dp += adv;
        }
    }
    {
        pgr_cu_lora *dl = (pgr_cu_lora *)d;
        pgr_cu_reft *dr = (pgr_cu_reft *)(d + ((uint8_t *)rt - h));
        CU_TRY(cudaMemcpyAsync(d, h, bytes, cudaMemcpyHostToDevice, ce->st));
        CU_TRY(cudaMemcpyAsync(ce->d_lora_tabs + free_i, &dl, sizeof dl, cudaMemcpyHostToDevice,
                               ce->st));
        CU_TRY(cudaMemcpyAsync(ce->d_reft_tabs + free_i, &dr, sizeof dr, cudaMemcpyHostToDevice,
                               ce->st));
        /* the staging buffer and the two pointers on this stack are reused at once */
        CU_TRY(cudaStreamSynchronize(ce->st));
    }
    ce->stats.adapter_uploads++;
    return free_i;
cleanup:
    if (e && e->uid) { /* claimed but not (completely) uploaded: give the slot back */
        ad_drop(ce, free_i);
    } else if (e) {
        free(e->has);
        memset(e, 0, sizeof *e);
    }
    return -1;
}

/* ---- the forward pass ---------------------------------------------------------- */

/* The adapter work of one step (NULL pointers: none). */
typedef struct step_ad {
    int n_seg, n_seg_tok;   /* SGMV segments and their tokens */
    int max_seg_len;        /* the longest segment's tokens */
    int n_bgmv;             /* LoRA tokens for BGMV */
    int max_rank;           /* over the step's adapters */
    const uint8_t *need;    /* (n_layer, N_SITES) some token's adapter acts here */
    const int32_t *d_slot;  /* (n) slot or -1: every adapted token (ReFT) */
    const int32_t *d_bslot; /* (n) slot or -1: the tokens BGMV takes */
    const int32_t *d_seg_start, *d_seg_tok, *d_seg_slot;
} step_ad;

typedef struct step_io {
    int n;
    const int32_t *d_tok, *d_pos, *d_tabo, *d_tabs;
} step_io;

static int gemv_class(int n)
{
    return n == 1 ? 0 : n == 2 ? 1 : n <= 4 ? 2 : n <= GV_MAX_TOK ? 3 : -1;
}

/* y[i] (n, w[i]->rows) = x (n, cols) · w[i]^T for the n_mats matrices sharing
 * x (accumulate: y[i] += that) as projection group `group`. */
static int matmul(pgr_cuda_engine *ce, int group, int n_mats, const dmat *const *w,
                  const float *x, float *const *y, int n, int accumulate, pgr_err *err)
{
    int converted = 0;
    const int cls = gemv_class(n);
    if (cls >= 0 && ce->gemv_use[group][cls]) {
        /* gemv_calibrate set this only where every matrix has a bf16 copy */
        pgr_cu_gemv_mat gm[GV_MAX_MATS];
        for (int i = 0; i < n_mats; i++)
            gm[i].w = w[i]->bf16, gm[i].y = y[i], gm[i].rows = w[i]->rows;
        if (pgr_cu_gemv_bf16(gm, n_mats, w[0]->cols, x, n, accumulate, ce->st, err))
            return -1;
        ce->stats.gemm_gemv += (uint64_t)n_mats;
        return 0;
    }
    for (int i = 0; i < n_mats; i++) {
        /* auto = cuBLAS on the bf16 copy at every batch size: on an H100
         * (G4, 2026-11-23) cuBLAS read a (14336, 4096) bf16 matrix for one
         * token in 55 us, qmatvec the Q4_0 one in 259 us (1.1 GB/s of its
         * 4x fewer bytes), and 8 tokens in 56 vs 1894 us. qmatvec stays for
         * quant mode (fp32 activations: the CPU's numerics) and weights
         * without a bf16 copy. */
        const int use_quant = ce->gemm_mode == GEMM_QUANT || !w[i]->bf16;
        if (use_quant) {
            /* qmatvec writes; an accumulating product goes through ce->xb
             * (free at both accumulating call sites: o and down) */
            float *dst = accumulate ? ce->xb : y[i];
            if (pgr_cu_qmatvec(w[i]->type, w[i]->raw, w[i]->row_bytes, w[i]->rows, w[i]->cols, x,
                               dst, n, ce->st, err) ||
                (accumulate && pgr_cu_add(y[i], dst, (size_t)n * w[i]->rows, ce->st, err)))
                return -1;
            ce->stats.gemm_quant++;
        } else {
            if (!converted &&
                pgr_cu_to_bf16(x, ce->xbf, (size_t)n * (size_t)w[i]->cols, ce->st, err))
                return -1;
            converted = 1;
            if (pgr_cu_gemm_bf16_acc(ce->blas, w[i]->bf16, w[i]->rows, w[i]->cols, ce->xbf, y[i],
                                     n, accumulate, err))
                return -1;
            ce->stats.gemm_cublas++;
        }
    }
    return 0;
}

static int lora(pgr_cuda_engine *ce, const step_ad *ad, int n, int l, int site, const float *in,
                float *out, pgr_err *err)
{
    int in_dim, out_dim;
    const int k = l * N_SITES + site;
    if (!ad || (!ad->n_seg && !ad->n_bgmv) || !ad->need[k])
        return 0;
    site_dims(&ce->c, site, &in_dim, &out_dim);
    /* the two touch disjoint tokens: a step may need both */
    if (ad->n_bgmv && pgr_cu_lora_bgmv(in, in_dim, out, out_dim, n, ad->d_bslot, ce->d_lora_tabs,
                                       k, ad->max_rank, ce->st, err))
        return -1;
    if (ad->n_seg)
        return pgr_cu_lora_sgmv(in, in_dim, out, out_dim, ad->n_seg, ad->max_seg_len,
                                ad->d_seg_start,
                                ad->d_seg_tok, ad->d_seg_slot, ce->d_lora_tabs, k, ad->max_rank,
                                ce->ltmp, ce->st, err);
    return 0;
}

/* Embedding, every layer; leaves the residual stream in ce->x. */
static int run_layers(pgr_cuda_engine *ce, const step_io *io, const step_ad *ad, pgr_err *err)
{
    const pgr_model_cfg *c = &ce->c;
    const int n = io->n, dim = c->dim, hd = c->head_dim;
    const float scale = 1.0f / sqrtf((float)hd);
    if (pgr_cu_embed(ce->embd.type, ce->embd.raw, ce->embd.row_bytes, dim, io->d_tok, n, ce->x,
                     ce->st, err))
        return -1;
    for (int l = 0; l < c->n_layer; l++) {
        const dmat *W = ce->mats + (size_t)l * PGR_SITE_RESID;
        const float *attn_norm = ce->norms + (size_t)(1 + 2 * l) * dim;
        const float *ffn_norm = attn_norm + dim;
        uint16_t *kc = ce->kc + (size_t)l * ce->kv_layer, *vc = ce->vc + (size_t)l * ce->kv_layer;
        const dmat *w3[3] = {&W[PGR_SITE_Q], &W[PGR_SITE_K], &W[PGR_SITE_V]};
        float *y3[3] = {ce->q, ce->k, ce->v};
        const dmat *wo[1] = {&W[PGR_SITE_O]};
        float *yo[1] = {ce->x}; /* o and down add into the residual stream */
        const dmat *w2[2] = {&W[PGR_SITE_GATE], &W[PGR_SITE_UP]};
        float *y2[2] = {ce->hb, ce->hb2};
        const dmat *wd[1] = {&W[PGR_SITE_DOWN]};
        if (pgr_cu_rmsnorm(ce->x, attn_norm, ce->xb, n, dim, c->norm_eps, ce->st, err) ||
            matmul(ce, G_QKV, 3, w3, ce->xb, y3, n, 0, err) ||
            lora(ce, ad, n, l, PGR_SITE_Q, ce->xb, ce->q, err) ||
            lora(ce, ad, n, l, PGR_SITE_K, ce->xb, ce->k, err) ||
            lora(ce, ad, n, l, PGR_SITE_V, ce->xb, ce->v, err) ||
            pgr_cu_rope_kv_store(ce->q, ce->k, ce->v, kc, vc, n, io->d_pos, io->d_tabo,
                                 io->d_tabs, ce->kv_bs, c->n_head, c->n_kv_head, hd,
                                 c->rope_theta, ce->st, err) ||
            pgr_cu_attention(ce->q, ce->att, n, io->d_pos, io->d_tabo, io->d_tabs, kc, vc,
                             ce->kv_bs, c->n_head, c->n_kv_head, hd, scale, ce->st, err) ||
            matmul(ce, G_O, 1, wo, ce->att, yo, n, 1, err) ||
            lora(ce, ad, n, l, PGR_SITE_O, ce->att, ce->x, err) ||
            pgr_cu_rmsnorm(ce->x, ffn_norm, ce->xb, n, dim, c->norm_eps, ce->st, err) ||
            matmul(ce, G_GATEUP, 2, w2, ce->xb, y2, n, 0, err) ||
            lora(ce, ad, n, l, PGR_SITE_GATE, ce->xb, ce->hb, err) ||
            lora(ce, ad, n, l, PGR_SITE_UP, ce->xb, ce->hb2, err) ||
            pgr_cu_swiglu(ce->hb, ce->hb2, ce->hb, (size_t)n * c->ffn_dim, ce->st, err) ||
            matmul(ce, G_DOWN, 1, wd, ce->hb, yo, n, 1, err) ||
            lora(ce, ad, n, l, PGR_SITE_DOWN, ce->hb, ce->x, err))
            return -1;
        if (ad && ad->need[l * N_SITES + PGR_SITE_RESID] &&
            pgr_cu_reft_apply(ce->x, dim, n, ad->d_slot, ce->d_reft_tabs, l, ad->max_rank, ce->st,
                              err))
            return -1;
    }
    return 0;
}

/* Final norm and output projection: logits (n_rows, vocab) of rows d_rows of
 * the residual stream, or of its first n_rows rows when d_rows is NULL. */
static int run_head(pgr_cuda_engine *ce, int n_rows, const int32_t *d_rows, pgr_err *err)
{
    const int dim = ce->c.dim;
    const float *src = ce->x;
    const dmat *wout[1] = {&ce->out};
    float *yl[1] = {ce->logits};
    if (d_rows) {
        if (pgr_cu_gather_rows(ce->x, d_rows, n_rows, dim, ce->xb, ce->st, err))
            return -1;
        src = ce->xb;
    }
    if (pgr_cu_rmsnorm(src, ce->norms, ce->xb, n_rows, dim, ce->c.norm_eps, ce->st, err))
        return -1;
    return matmul(ce, G_OUT, 1, wout, ce->xb, yl, n_rows, 0, err);
}

static int bucket_of(int n)
{
    int b = 0;
    while ((1 << b) < n)
        b++;
    return b;
}

/* Replays (capturing first if needed) the adapter-free step of bucket bi. */
static int graph_step(pgr_cuda_engine *ce, int bi, const step_io *io, pgr_err *err)
{
    cudaGraph_t g = NULL;
    if (!ce->gexec[bi]) {
        int r;
        cudaError_t e2;
        CU_TRY(cudaStreamBeginCapture(ce->st, cudaStreamCaptureModeThreadLocal));
        r = run_layers(ce, io, NULL, err) || run_head(ce, io->n, NULL, err);
        e2 = cudaStreamEndCapture(ce->st, &g);
        if (r)
            goto cleanup;
        CU_TRY(e2);
        CU_TRY(cudaGraphInstantiate(&ce->gexec[bi], g, 0));
        cudaGraphDestroy(g);
        g = NULL;
        ce->stats.graph_captures++;
    }
    CU_TRY(cudaGraphLaunch(ce->gexec[bi], ce->st));
    ce->stats.graph_steps++;
    return 0;
cleanup:
    if (g)
        cudaGraphDestroy(g);
    cudaGetLastError(); /* a failed capture leaves an error behind: clear it */
    return -1;
}

/* Queues the copy of the first n rows of the logits (or, with ids, of their
 * argmax taken on the device) into the pinned host buffers; the caller
 * synchronises the stream before reading them. */
static int fetch_rows(pgr_cuda_engine *ce, int n, int ids, pgr_err *err)
{
    const int V = ce->c.vocab;
    if (ids) {
        if (pgr_cu_argmax(ce->logits, n, V, ce->d_ids, ce->st, err))
            return -1;
        CU_TRY(cudaMemcpyAsync(ce->h_ids, ce->d_ids, (size_t)n * sizeof(int32_t),
                               cudaMemcpyDeviceToHost, ce->st));
    } else {
        CU_TRY(cudaMemcpyAsync(ce->h_logits, ce->logits, (size_t)n * V * sizeof(float),
                               cudaMemcpyDeviceToHost, ce->st));
    }
    return 0;
cleanup:
    return -1;
}

/* A step; the wanted tokens' logits into logits, or (ids non-NULL) their
 * argmax, taken on the device, into ids. */
static int forward_step(pgr_cuda_engine *ce, const pgr_cuda_batch *b, const pgr_hooks *hooks,
                        float *logits, int32_t *ids, pgr_err *err)
{
    const pgr_model_cfg *c = &ce->c;
    const int n = b->n_tok, L = c->n_layer, V = c->vocab;
    const pgr_adapter_set *set = NULL;
    int rc = -1, nw = 0, n_act = 0, n_reft = 0, max_rank = 0, graph = 0, n_pad = n;
    size_t n_tabs = 0, o_tabs, o_rows, o_seg_start, o_seg_tok, o_seg_slot, total;
    pgr_lora_plan plan;
    int32_t *h_seg_start, *h_seg_tok, *h_seg_slot;
    uint8_t *need = NULL;
    int32_t *M;
    step_io io;
    step_ad ad;
    memset(&ad, 0, sizeof ad);
    if (n < 1 || n > (1 << 24))
        return pgr_errf(err, PGR_EINVAL, "CUDA engine: batch of %d tokens", n);
    if (hooks) {
        int any = 0;
        for (int s = 0; s < PGR_SITE_COUNT; s++)
            any |= hooks->fn[s] != NULL;
        if (any && !(set = pgr_adapter_set_of_hooks(hooks)))
            return pgr_errf(err, PGR_EUNSUPPORTED,
                            "CUDA engine: only an adapter set's hooks run on the GPU");
    }
    if (reserve_host(ce, n, b->max_seqs, err) || kv_bind(ce, b, err))
        return -1;
    ce->step++;
    ce->stats.steps++;

    /* adapters: the slot of each token whose adapter acts at its position */
    need = (uint8_t *)calloc((size_t)L * N_SITES, 1);
    if (!need) {
        pgr_errf(err, PGR_ENOMEM, "CUDA engine: out of memory");
        goto cleanup;
    }
    for (int t = 0; t < n; t++) {
        int mode = 0, plen = 0, slot;
        const pgr_adapter *a = set ? pgr_adapter_set_binding(set, b->seq[t], &mode, &plen) : NULL;
        ce->h_slot[t] = ce->h_lslot[t] = -1;
        if (!a || !pgr_adapter_acts_at(a, mode, plen, b->pos[t]))
            continue;
        if ((slot = ad_slot(ce, a, err)) < 0)
            goto cleanup;
        ce->h_slot[t] = slot;
        const ad_entry *e = &ce->ads[slot];
        for (size_t k = 0; k < (size_t)L * N_SITES; k++)
            need[k] |= e->has[k];
        if (e->max_rank > max_rank)
            max_rank = e->max_rank;
        if (e->method == PGR_AD_LORA)
            ce->h_lslot[t] = slot, n_act++;
        else
            n_reft++;
    }
    /* LoRA: prefill chunks as SGMV segments, the rest (decode) per token */
    h_seg_start = ce->h_seg;
    h_seg_tok = h_seg_start + n + 1;
    h_seg_slot = h_seg_tok + n;
    pgr_lora_plan_make(n, ce->h_lslot, ce->sgmv_min, h_seg_start, h_seg_tok, h_seg_slot,
                       ce->h_bslot, ce->h_pairs, &plan);
    ce->stats.lora_sgmv_tokens += (uint64_t)plan.n_seg_tok;
    ce->stats.lora_bgmv_tokens += (uint64_t)plan.n_bgmv;
    graph = ce->use_graphs && n_act == 0 && n_reft == 0 && n <= MAX_GRAPH_TOK;
    n_pad = graph ? 1 << bucket_of(n) : n;
    for (int t = 0; t < n; t++)
        nw += b->want_logits ? b->want_logits[t] != 0 : t == n - 1;

    /* block tables: one copy per sequence of the blocks its tokens reach */
    for (int t = 0; t < n; t++)
        if (b->pos[t] > ce->seq_max[b->seq[t]])
            ce->seq_max[b->seq[t]] = b->pos[t];
    for (int t = 0; t < n; t++) {
        int s = b->seq[t];
        if (ce->seq_off[s] < 0) {
            ce->seq_off[s] = (int32_t)n_tabs;
            n_tabs += (size_t)(ce->seq_max[s] / b->block_size + 1);
        }
    }
    /* layout: tok, pos, tabo, slot, bgmv slot (n_pad each), tabs, rows, segments */
    o_tabs = 5 * (size_t)n_pad;
    o_rows = o_tabs + n_tabs;
    o_seg_start = o_rows + (size_t)nw;
    o_seg_tok = o_seg_start + (size_t)plan.n_seg + 1;
    o_seg_slot = o_seg_tok + (size_t)plan.n_seg_tok;
    total = o_seg_slot + (size_t)plan.n_seg;
    /* graphs read tabs at a fixed address: keep room for the largest bucket */
    if (reserve_meta(ce, total + 5 * MAX_GRAPH_TOK, err) || reserve(ce, n_pad, nw > n_pad ? nw : n_pad, err))
        goto cleanup;
    if (plan.n_seg && (size_t)plan.n_seg_tok * (size_t)max_rank > ce->ltmp_cap) {
        const size_t want = (size_t)plan.n_seg_tok * (size_t)max_rank;
        cudaFree(ce->ltmp);
        ce->ltmp = NULL;
        ce->ltmp_cap = 0;
        CU_TRY(cudaMalloc((void **)&ce->ltmp, want * sizeof(float)));
        ce->ltmp_cap = want;
    }
    M = ce->h_meta;
    for (int t = 0; t < n_pad; t++) {
        const int real = t < n;
        M[t] = real ? b->token[t] : 0;
        M[n_pad + t] = real ? b->pos[t] : -1;
        M[2 * n_pad + t] = real ? ce->seq_off[b->seq[t]] : 0;
        M[3 * n_pad + t] = real ? ce->h_slot[t] : -1;
        M[4 * n_pad + t] = real ? ce->h_bslot[t] : -1;
    }
    for (int t = 0; t < n; t++) {
        int s = b->seq[t];
        if (ce->seq_off[s] >= 0 && ce->seq_max[s] >= 0) {
            memcpy(M + o_tabs + ce->seq_off[s], b->table + (size_t)s * b->kv_blocks,
                   (size_t)(ce->seq_max[s] / b->block_size + 1) * sizeof(int32_t));
            ce->seq_max[s] = -1; /* copied once; both reset below */
        }
    }
    for (int t = 0; t < n; t++)
        ce->seq_off[b->seq[t]] = -1;
    for (int t = 0, i = 0; t < n; t++)
        if (b->want_logits ? b->want_logits[t] != 0 : t == n - 1)
            M[o_rows + i++] = t;
    memcpy(M + o_seg_start, h_seg_start, ((size_t)plan.n_seg + 1) * sizeof(int32_t));
    memcpy(M + o_seg_tok, h_seg_tok, (size_t)plan.n_seg_tok * sizeof(int32_t));
    memcpy(M + o_seg_slot, h_seg_slot, (size_t)plan.n_seg * sizeof(int32_t));
    CU_TRY(cudaMemcpyAsync(ce->d_meta, M, total * sizeof(int32_t), cudaMemcpyHostToDevice, ce->st));

    io.n = n_pad;
    io.d_tok = ce->d_meta;
    io.d_pos = ce->d_meta + n_pad;
    io.d_tabo = ce->d_meta + 2 * (size_t)n_pad;
    io.d_tabs = ce->d_meta + o_tabs;
    if (graph) {
        if (graph_step(ce, bucket_of(n), &io, err) != 0) {
            /* capture failed (a driver or library that cannot capture): run
             * the same padded step eagerly from now on */
            fprintf(stderr, "peergraph: CUDA graph capture failed (%s); running without graphs\n",
                    err ? err->msg : "?");
            graphs_drop(ce);
            ce->use_graphs = 0;
            if (run_layers(ce, &io, NULL, err) || run_head(ce, n_pad, NULL, err))
                goto cleanup;
        }
        /* rows 0..n-1 of the logits (or of their argmax); pick the wanted
         * ones on the host */
        if (fetch_rows(ce, n, ids != NULL, err))
            goto cleanup;
        CU_TRY(cudaStreamSynchronize(ce->st));
        for (int t = 0, i = 0; t < n; t++)
            if (b->want_logits ? b->want_logits[t] != 0 : t == n - 1) {
                if (ids)
                    ids[i++] = ce->h_ids[t];
                else
                    memcpy(logits + (size_t)i++ * V, ce->h_logits + (size_t)t * V,
                           (size_t)V * sizeof(float));
            }
    } else {
        ad.n_seg = plan.n_seg;
        ad.n_seg_tok = plan.n_seg_tok;
        ad.max_seg_len = 0;
        for (int g = 0; g < plan.n_seg; g++)
            if (h_seg_start[g + 1] - h_seg_start[g] > ad.max_seg_len)
                ad.max_seg_len = h_seg_start[g + 1] - h_seg_start[g];
        ad.n_bgmv = plan.n_bgmv;
        ad.max_rank = max_rank > 0 ? max_rank : 1;
        ad.need = need;
        ad.d_slot = ce->d_meta + 3 * (size_t)n_pad;
        ad.d_bslot = ce->d_meta + 4 * (size_t)n_pad;
        ad.d_seg_start = ce->d_meta + o_seg_start;
        ad.d_seg_tok = ce->d_meta + o_seg_tok;
        ad.d_seg_slot = ce->d_meta + o_seg_slot;
        if (run_layers(ce, &io, (n_act || n_reft) ? &ad : NULL, err))
            goto cleanup;
        if (nw > 0) {
            if (run_head(ce, nw, ce->d_meta + o_rows, err))
                goto cleanup;
            if (fetch_rows(ce, nw, ids != NULL, err))
                goto cleanup;
        }
        CU_TRY(cudaStreamSynchronize(ce->st));
        if (nw > 0 && ids)
            memcpy(ids, ce->h_ids, (size_t)nw * sizeof(int32_t));
        else if (nw > 0)
            memcpy(logits, ce->h_logits, (size_t)nw * V * sizeof(float));
    }
    rc = 0;
cleanup:
    if (rc != 0) {
        /* leave the scratch maps clean for the next step */
        for (int t = 0; t < n; t++)
            ce->seq_off[b->seq[t]] = -1, ce->seq_max[b->seq[t]] = -1;
        cudaStreamSynchronize(ce->st);
    }
    free(need);
    return rc;
}

extern "C" int pgr_cuda_forward(pgr_cuda_engine *ce, const pgr_cuda_batch *b,
                                const pgr_hooks *hooks, float *logits, pgr_err *err)
{
    return forward_step(ce, b, hooks, logits, NULL, err);
}

extern "C" int pgr_cuda_forward_ids(pgr_cuda_engine *ce, const pgr_cuda_batch *b,
                                    const pgr_hooks *hooks, int32_t *ids, pgr_err *err)
{
    return forward_step(ce, b, hooks, NULL, ids, err);
}
