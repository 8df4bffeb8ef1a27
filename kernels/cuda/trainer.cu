/* Adapter training on the GPU: the device half of a pgr_trainer made with
 * device "cuda" (inference/train.c keeps the host half: sequence checks, the
 * adapter mask, AdamW). The pass is the CPU trainer's, step for step, so
 * that the two can be read side by side and compared by the tests:
 *   - checkpointed forward: only the residual stream entering each layer
 *     (and, for ReFT, the stream before each intervention) is kept;
 *   - the loss over the continuation, LOGIT_ROWS rows of logits at a time;
 *   - the backward from the top, recomputing one layer at a time from its
 *     checkpoint (one extra forward), down to the lowest adapted layer.
 * Kernels: the inference ones (embed, rmsnorm, rope, swiglu, add, to_bf16)
 * and the training ones of cuda_train.h; products through cuBLAS:
 *   y = x · W^T   forward through the frozen weights,
 *   dx += dy · W  backward (only the input's gradient: weights are frozen).
 * Weights are dequantised on the host (pgr_dequant_row: every type the CPU
 * reads, k-quants included) and uploaded as bf16, activations rounded to
 * bf16 at each product, fp32 accumulation; PEERGRAPH_CUDA_TRAIN_WEIGHTS=f32
 * keeps float weights and float products (no TF32), the closest to the CPU.
 *
 * The adapter lives on the device in one allocation, its gradient in another
 * of the same layout; the host packs / unpacks both through one pinned
 * buffer (one copy each way). Gradients accumulate on the device across the
 * sequences of a step; the host reads them after each sequence (they are
 * small), steps AdamW on its own copy and uploads the result.
 *
 * Not yet run on a GPU (docs/training.md): tests/unit/test_cuda_train.c
 * checks each kernel against inference/train_ops.c and this trainer against
 * the CPU one on the first machine that has a device. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/train_common.cuh"
extern "C" {
#include "inference/adapter.h"
}

#define LOGIT_ROWS 64 /* rows of logits that exist at once */

typedef struct site_p {
    float *A, *B, *dA, *dB; /* LoRA: (r, in), (out, r) and their gradients; NULL = absent */
    int in, out;            /* the projection's widths, from the tensors' shapes */
} site_p;
typedef struct layer_p {
    float *R, *W, *b, *dR, *dW, *db; /* ReFT: (r, d), (r, d), (r); NULL = absent */
} layer_p;

struct pgr_cuda_trainer {
    const pgr_model *m;
    pgr_model_cfg c;
    int cap, f32, method, rank, loreft;
    float scale; /* LoRA alpha / rank */
    cudaStream_t st;
    pgr_cu_blas *blas;
    /* weights: one allocation */
    void *wmem;
    size_t wbytes;
    const void **W;   /* (n_layer, PGR_SITE_RESID) bf16 or float (out, in) */
    const void *embd; /* (vocab, dim) */
    const void *wout; /* (vocab, dim), the embedding when tied */
    float *norms;     /* (2 n_layer + 1, dim): output norm, then attn, ffn per layer */
    /* adapter: parameters and gradient, same layout */
    float *pmem, *gmem;
    size_t pfloats;
    float *stage; /* pinned (pfloats) */
    site_p *sp;   /* (n_layer, PGR_SITE_COUNT) */
    layer_p *lp;  /* (n_layer) */
    int lo, lo_int;
    /* activations */
    void *amem;
    size_t act_bytes;
    float *xs, *hpre;
    float *xn1, *q, *k, *v, *att, *tmp, *xmid, *xn2, *gate, *up, *act, *P, *dS;
    float *dx, *dx2, *dxn, *dq, *dk, *dv, *datt, *dgate, *dup, *dact;
    float *logits, *xf, *dxf, *lscr;
    uint16_t *xbf; /* bf16 copies of product inputs */
    int32_t *d_tok, *d_pos;
    uint8_t *d_mask;
    double *d_loss, *h_loss; /* (cap) device, pinned host */
    int ws_layer;
};

/* ---- creation ----------------------------------------------------------------- */

static size_t al(size_t n)
{
    return (n + 255) & ~(size_t)255;
}

static int w_bytes(const pgr_cuda_trainer *ct, const pgr_wmat *w, size_t *out)
{
    size_t n;
    if (!pgr_mul_ok((size_t)w->rows, (size_t)w->cols, &n) || !pgr_mul_ok(n, ct->f32 ? 4 : 2, &n))
        return -1;
    *out = al(n);
    return 0;
}

/* Dequantises w on the host (chunk rows at a time into buf: (chunk, cols)
 * floats, and hb: their bf16) and copies it to dst on the trainer's stream
 * (not the legacy one, which does not order the non-blocking stream's
 * kernels after a pageable copy's DMA: see engine.cu). */
static int w_upload(pgr_cuda_trainer *ct, const pgr_wmat *w, uint8_t *dst, float *buf, uint16_t *hb,
                    int chunk, const char *what, pgr_err *err)
{
    const size_t el = ct->f32 ? 4 : 2;
    for (int r0 = 0; r0 < w->rows; r0 += chunk) {
        const int nr = w->rows - r0 < chunk ? w->rows - r0 : chunk;
        for (int r = 0; r < nr; r++)
            if (pgr_dequant_row(w->type, (const uint8_t *)w->data + (size_t)(r0 + r) * w->row_bytes,
                                buf + (size_t)r * w->cols, (size_t)w->cols) != 0)
                return pgr_errf(err, PGR_EUNSUPPORTED, "CUDA trainer: %s: cannot dequantise %s",
                                what, pgr_kt_name(w->type));
        const size_t cnt = (size_t)nr * w->cols;
        if (!ct->f32)
            for (size_t i = 0; i < cnt; i++)
                hb[i] = pgr_f32_to_bf16(buf[i]);
        CU_TRY(cudaMemcpyAsync(dst + (size_t)r0 * w->cols * el, ct->f32 ? (void *)buf : (void *)hb,
                               cnt * el, cudaMemcpyHostToDevice, ct->st));
        CU_TRY(cudaStreamSynchronize(ct->st)); /* buf is reused */
    }
    return 0;
cleanup:
    return -1;
}

static int weights_upload(pgr_cuda_trainer *ct, pgr_err *err)
{
    const pgr_model_cfg *c = &ct->c;
    const pgr_wmat *te = pgr_model_tok_embd(ct->m), *ow = pgr_model_output(ct->m);
    const int tied = ow->data == te->data;
    const size_t nf = (size_t)(2 * c->n_layer + 1) * (size_t)c->dim;
    const int chunk = 4096;
    size_t total = 0, b, widest;
    float *buf = NULL;
    uint16_t *hb = NULL;
    uint8_t *p;
    char what[64];
    int rc = -1;
    if (w_bytes(ct, te, &b))
        goto too_big;
    total += b;
    if (!tied) {
        if (w_bytes(ct, ow, &b))
            goto too_big;
        total += b;
    }
    for (int l = 0; l < c->n_layer; l++)
        for (int s = 0; s < PGR_SITE_RESID; s++) {
            const pgr_wmat *w = pgr_model_weight(ct->m, l, s);
            if (w_bytes(ct, w, &b))
                goto too_big;
            total += b;
        }
    total += al(nf * sizeof(float));
    widest = te->cols > ow->cols ? (size_t)te->cols : (size_t)ow->cols;
    for (int l = 0; l < c->n_layer; l++)
        for (int s = 0; s < PGR_SITE_RESID; s++)
            if ((size_t)pgr_model_weight(ct->m, l, s)->cols > widest)
                widest = (size_t)pgr_model_weight(ct->m, l, s)->cols;
    buf = (float *)malloc((size_t)chunk * widest * sizeof(float));
    hb = (uint16_t *)malloc((size_t)chunk * widest * sizeof(uint16_t));
    ct->W = (const void **)calloc((size_t)c->n_layer * PGR_SITE_RESID, sizeof(void *));
    if (!buf || !hb || !ct->W) {
        pgr_errf(err, PGR_ENOMEM, "CUDA trainer: out of memory");
        goto cleanup;
    }
    CU_TRY(cudaMalloc(&ct->wmem, total));
    ct->wbytes = total;
    p = (uint8_t *)ct->wmem;
    if (w_upload(ct, te, p, buf, hb, chunk, "token_embd", err))
        goto cleanup;
    ct->embd = p;
    w_bytes(ct, te, &b);
    p += b;
    if (tied)
        ct->wout = ct->embd;
    else {
        if (w_upload(ct, ow, p, buf, hb, chunk, "output", err))
            goto cleanup;
        ct->wout = p;
        w_bytes(ct, ow, &b);
        p += b;
    }
    for (int l = 0; l < c->n_layer; l++)
        for (int s = 0; s < PGR_SITE_RESID; s++) {
            const pgr_wmat *w = pgr_model_weight(ct->m, l, s);
            snprintf(what, sizeof what, "layer %d %s", l, pgr_site_name(s));
            if (w_upload(ct, w, p, buf, hb, chunk, what, err))
                goto cleanup;
            ct->W[(size_t)l * PGR_SITE_RESID + s] = p;
            w_bytes(ct, w, &b);
            p += b;
        }
    ct->norms = (float *)p;
    CU_TRY(cudaMemcpyAsync(ct->norms, pgr_model_norm(ct->m, -1, 0), (size_t)c->dim * sizeof(float),
                           cudaMemcpyHostToDevice, ct->st));
    for (int l = 0; l < c->n_layer; l++)
        for (int w = 0; w < 2; w++)
            CU_TRY(cudaMemcpyAsync(ct->norms + (size_t)(1 + 2 * l + w) * c->dim,
                                   pgr_model_norm(ct->m, l, w), (size_t)c->dim * sizeof(float),
                                   cudaMemcpyHostToDevice, ct->st));
    CU_TRY(cudaStreamSynchronize(ct->st));
    rc = 0;
    goto cleanup;
too_big:
    pgr_errf(err, PGR_EINVAL, "CUDA trainer: weight sizes overflow");
cleanup:
    free(buf);
    free(hb);
    return rc;
}

/* The adapter's tensors in a fixed order (layer, then LoRA sites q..down
 * with A then B, or ReFT R, W, b): the layout of pmem / gmem and of the
 * pinned staging buffer. fn(ct, tensor, offset in floats). */
typedef void (*tensor_fn)(pgr_cuda_trainer *ct, pgr_adapter_tensor *t, size_t off, void *u);
static size_t each_tensor(pgr_cuda_trainer *ct, const pgr_adapter *a, tensor_fn fn, void *u)
{
    size_t off = 0;
    for (int l = 0; l < a->n_layer; l++) {
        pgr_adapter_tensor *ts[3 * PGR_SITE_COUNT];
        int nt = 0;
        if (a->spec.method == PGR_AD_LORA) {
            for (int s = 0; s < PGR_SITE_RESID; s++) {
                const size_t k = (size_t)l * PGR_SITE_COUNT + (size_t)s;
                if (a->lora_a[k].data)
                    ts[nt++] = &a->lora_a[k], ts[nt++] = &a->lora_b[k];
            }
        } else if (a->reft_R[l].data) {
            ts[nt++] = &a->reft_R[l], ts[nt++] = &a->reft_W[l], ts[nt++] = &a->reft_b[l];
        }
        for (int i = 0; i < nt; i++) {
            if (fn)
                fn(ct, ts[i], off, u);
            off += al((size_t)ts[i]->rows * (size_t)ts[i]->cols * sizeof(float)) / sizeof(float);
        }
    }
    return off;
}

/* Points the per-site / per-layer pointers into pmem and gmem. */
static void bind_fn(pgr_cuda_trainer *ct, pgr_adapter_tensor *t, size_t off, void *u)
{
    const pgr_adapter *a = (const pgr_adapter *)u;
    float *p = ct->pmem + off, *g = ct->gmem + off;
    for (int l = 0; l < a->n_layer; l++) {
        for (int s = 0; s < PGR_SITE_RESID; s++) {
            const size_t k = (size_t)l * PGR_SITE_COUNT + (size_t)s;
            if (t == &a->lora_a[k])
                ct->sp[k].A = p, ct->sp[k].dA = g, ct->sp[k].in = t->cols;
            else if (t == &a->lora_b[k])
                ct->sp[k].B = p, ct->sp[k].dB = g, ct->sp[k].out = t->rows;
        }
        if (t == &a->reft_R[l])
            ct->lp[l].R = p, ct->lp[l].dR = g;
        else if (t == &a->reft_W[l])
            ct->lp[l].W = p, ct->lp[l].dW = g;
        else if (t == &a->reft_b[l])
            ct->lp[l].b = p, ct->lp[l].db = g;
    }
}

static void pack_fn(pgr_cuda_trainer *ct, pgr_adapter_tensor *t, size_t off, void *u)
{
    (void)u;
    memcpy(ct->stage + off, t->data, (size_t)t->rows * (size_t)t->cols * sizeof(float));
}

static void unpack_fn(pgr_cuda_trainer *ct, pgr_adapter_tensor *t, size_t off, void *u)
{
    (void)u;
    memcpy(t->data, ct->stage + off, (size_t)t->rows * (size_t)t->cols * sizeof(float));
}

static int adapter_alloc(pgr_cuda_trainer *ct, const pgr_adapter *a, pgr_err *err)
{
    const pgr_model_cfg *c = &ct->c;
    ct->sp = (site_p *)calloc((size_t)c->n_layer * PGR_SITE_COUNT, sizeof(site_p));
    ct->lp = (layer_p *)calloc((size_t)c->n_layer, sizeof(layer_p));
    if (!ct->sp || !ct->lp)
        return pgr_errf(err, PGR_ENOMEM, "CUDA trainer: out of memory");
    ct->lo = ct->lo_int = c->n_layer;
    if (!a)
        return 0;
    ct->method = a->spec.method;
    ct->rank = a->spec.rank;
    ct->loreft = a->spec.method == PGR_AD_LOREFT;
    ct->scale = a->scale;
    ct->pfloats = each_tensor(ct, a, NULL, NULL);
    const size_t bytes = (ct->pfloats ? ct->pfloats : 1) * sizeof(float);
    CU_TRY(cudaMalloc((void **)&ct->pmem, bytes));
    CU_TRY(cudaMalloc((void **)&ct->gmem, bytes));
    CU_TRY(cudaMallocHost((void **)&ct->stage, bytes));
    CU_TRY(cudaMemsetAsync(ct->gmem, 0, bytes, ct->st));
    each_tensor(ct, a, bind_fn, (void *)a);
    for (int l = c->n_layer - 1; l >= 0; l--) {
        int any = ct->lp[l].R != NULL;
        for (int s = 0; s < PGR_SITE_RESID; s++)
            any |= ct->sp[(size_t)l * PGR_SITE_COUNT + s].A != NULL;
        if (any) {
            ct->lo = l;
            /* ReFT acts after layer l: its gradient needs no pass through l itself */
            ct->lo_int = a->spec.method != PGR_AD_LORA ? l + 1 : l;
        }
    }
    return 0;
cleanup:
    return -1;
}

/* Carves the activation buffers (the CPU trainer's, train.c) out of one
 * allocation. */
static int acts_alloc(pgr_cuda_trainer *ct, pgr_err *err)
{
    const pgr_model_cfg *c = &ct->c;
    const size_t T = (size_t)ct->cap, d = (size_t)c->dim, f = (size_t)c->ffn_dim,
                 qd = (size_t)c->n_head * c->head_dim, kvd = (size_t)c->n_kv_head * c->head_dim,
                 L = (size_t)c->n_layer, V = (size_t)c->vocab, wide = qd > d ? qd : d,
                 r = ct->rank > 0 ? (size_t)ct->rank : 1;
    const size_t widest = wide > f ? wide : f;
    const int reft = ct->rank > 0 && ct->method != PGR_AD_LORA;
    struct {
        float **p;
        size_t n;
    } fl[] = {
        {&ct->xs, (L + 1) * T * d},
        {&ct->hpre, reft ? L * T * d : 0},
        {&ct->xn1, T * d},
        {&ct->q, T * qd},
        {&ct->k, T * kvd},
        {&ct->v, T * kvd},
        {&ct->att, T * qd},
        {&ct->tmp, T * wide},
        {&ct->xmid, T * d},
        {&ct->xn2, T * d},
        {&ct->gate, T * f},
        {&ct->up, T * f},
        {&ct->act, T * f},
        {&ct->P, (size_t)c->n_head * T * T},
        {&ct->dS, (size_t)c->n_head * T * T},
        {&ct->dx, T * d},
        {&ct->dx2, T * d},
        {&ct->dxn, T * d},
        {&ct->dq, T * qd},
        {&ct->dk, T * kvd},
        {&ct->dv, T * kvd},
        {&ct->datt, T * qd},
        {&ct->dgate, T * f},
        {&ct->dup, T * f},
        {&ct->dact, T * f},
        {&ct->logits, LOGIT_ROWS * V},
        {&ct->xf, LOGIT_ROWS * d},
        {&ct->dxf, LOGIT_ROWS * d},
        /* LoRA u, du (T, r); ReFT z, dz (T, r) and D (r, d) */
        {&ct->lscr, 2 * T * r + r * d},
    };
    const size_t nbf = T * widest > LOGIT_ROWS * V ? T * widest : LOGIT_ROWS * V;
    size_t total = al(nbf * 2) + al(T * 4) * 2 + al(T) + al(T * 8);
    for (size_t i = 0; i < sizeof fl / sizeof *fl; i++)
        total += al(fl[i].n * sizeof(float));
    uint8_t *p;
    CU_TRY(cudaMalloc(&ct->amem, total));
    ct->act_bytes = total;
    p = (uint8_t *)ct->amem;
    for (size_t i = 0; i < sizeof fl / sizeof *fl; i++) {
        *fl[i].p = fl[i].n ? (float *)p : NULL;
        p += al(fl[i].n * sizeof(float));
    }
    ct->xbf = (uint16_t *)p, p += al(nbf * 2);
    ct->d_tok = (int32_t *)p, p += al(T * 4);
    ct->d_pos = (int32_t *)p, p += al(T * 4);
    ct->d_mask = p, p += al(T);
    ct->d_loss = (double *)p;
    CU_TRY(cudaMallocHost((void **)&ct->h_loss, T * sizeof(double)));
    {
        int32_t *pos = (int32_t *)malloc(T * sizeof(int32_t));
        if (!pos)
            return pgr_errf(err, PGR_ENOMEM, "CUDA trainer: out of memory");
        for (size_t i = 0; i < T; i++)
            pos[i] = (int32_t)i;
        cudaError_t e =
            cudaMemcpyAsync(ct->d_pos, pos, T * sizeof(int32_t), cudaMemcpyHostToDevice, ct->st);
        if (e == cudaSuccess)
            e = cudaStreamSynchronize(ct->st);
        free(pos);
        CU_TRY(e);
    }
    return 0;
cleanup:
    return -1;
}

extern "C" void pgr_cuda_trainer_free(pgr_cuda_trainer *ct)
{
    if (!ct)
        return;
    if (ct->st)
        cudaStreamSynchronize(ct->st);
    pgr_cu_blas_free(ct->blas);
    cudaFree(ct->wmem);
    cudaFree(ct->pmem);
    cudaFree(ct->gmem);
    cudaFree(ct->amem);
    if (ct->stage)
        cudaFreeHost(ct->stage);
    if (ct->h_loss)
        cudaFreeHost(ct->h_loss);
    if (ct->st)
        cudaStreamDestroy(ct->st);
    free(ct->W);
    free(ct->sp);
    free(ct->lp);
    free(ct);
}

extern "C" int pgr_cuda_trainer_new(const pgr_model *m, const pgr_adapter *a, int max_tok,
                                    pgr_cuda_trainer **out, pgr_err *err)
{
    pgr_cuda_trainer *ct = NULL;
    const char *wt = getenv("PEERGRAPH_CUDA_TRAIN_WEIGHTS");
    *out = NULL;
    if (pgr_cuda_available(NULL, 0, err))
        return -1;
    ct = (pgr_cuda_trainer *)calloc(1, sizeof *ct);
    if (!ct)
        return pgr_errf(err, PGR_ENOMEM, "CUDA trainer: out of memory");
    ct->m = m;
    ct->c = *pgr_model_config(m);
    ct->cap = max_tok;
    ct->ws_layer = -1;
    ct->f32 = wt && !strcmp(wt, "f32");
    ARG_CHECK(!wt || !*wt || ct->f32 || !strcmp(wt, "bf16"),
              "PEERGRAPH_CUDA_TRAIN_WEIGHTS='%s': bf16 or f32", wt);
    ARG_CHECK(max_tok >= 2 && max_tok <= 8192, "CUDA trainer: max_tok %d not in 2..8192", max_tok);
    ARG_CHECK(
        ct->c.head_dim % 32 == 0 && ct->c.head_dim <= 256 && ct->c.n_head % ct->c.n_kv_head == 0,
        "CUDA trainer: head_dim %d unsupported (a multiple of 32, at most 256)", ct->c.head_dim);
    CU_TRY(cudaSetDevice(0));
    CU_TRY(cudaStreamCreateWithFlags(&ct->st, cudaStreamNonBlocking));
    if (pgr_cu_blas_new(ct->st, &ct->blas, err) || weights_upload(ct, err) ||
        adapter_alloc(ct, a, err) || acts_alloc(ct, err))
        goto cleanup;
    if (a && pgr_cuda_trainer_set_adapter(ct, a, err))
        goto cleanup;
    *out = ct;
    return 0;
cleanup:
    pgr_cuda_trainer_free(ct);
    return -1;
}

extern "C" void pgr_cuda_trainer_bytes(const pgr_cuda_trainer *ct, size_t *act_bytes,
                                       size_t *weight_bytes)
{
    *act_bytes = ct->act_bytes;
    *weight_bytes = ct->wbytes;
}

extern "C" int pgr_cuda_trainer_set_adapter(pgr_cuda_trainer *ct, const pgr_adapter *a,
                                            pgr_err *err)
{
    if (!ct->pmem)
        return 0;
    ARG_CHECK(a && a->spec.method == ct->method && a->spec.rank == ct->rank &&
                  each_tensor(ct, a, NULL, NULL) == ct->pfloats,
              "CUDA trainer: the adapter differs from the one it was made for");
    each_tensor(ct, a, pack_fn, NULL);
    CU_TRY(cudaMemcpyAsync(ct->pmem, ct->stage, ct->pfloats * sizeof(float), cudaMemcpyHostToDevice,
                           ct->st));
    CU_TRY(cudaStreamSynchronize(ct->st)); /* the staging buffer is reused */
    return 0;
cleanup:
    return -1;
}

extern "C" int pgr_cuda_trainer_grad(pgr_cuda_trainer *ct, pgr_adapter *g, pgr_err *err)
{
    if (!ct->gmem)
        return 0;
    ARG_CHECK(g && g->spec.method == ct->method && each_tensor(ct, g, NULL, NULL) == ct->pfloats,
              "CUDA trainer: the gradient's shapes differ from the adapter's");
    CU_TRY(cudaMemcpyAsync(ct->stage, ct->gmem, ct->pfloats * sizeof(float), cudaMemcpyDeviceToHost,
                           ct->st));
    CU_TRY(cudaStreamSynchronize(ct->st));
    each_tensor(ct, g, unpack_fn, NULL);
    return 0;
cleanup:
    return -1;
}

extern "C" int pgr_cuda_trainer_zero_grad(pgr_cuda_trainer *ct, pgr_err *err)
{
    if (ct->gmem)
        CU_TRY(cudaMemsetAsync(ct->gmem, 0, ct->pfloats * sizeof(float), ct->st));
    return 0;
cleanup:
    return -1;
}

/* ---- the pass ------------------------------------------------------------------ */

static int zero(pgr_cuda_trainer *ct, float *p, size_t n, pgr_err *err)
{
    CU_TRY(cudaMemsetAsync(p, 0, n * sizeof(float), ct->st));
    return 0;
cleanup:
    return -1;
}

static int copy(pgr_cuda_trainer *ct, float *dst, const float *src, size_t n, pgr_err *err)
{
    CU_TRY(cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyDeviceToDevice, ct->st));
    return 0;
cleanup:
    return -1;
}

/* y (n, w rows) = x (n, cols) · W^T, for nw matrices sharing x */
static int fwd_mm(pgr_cuda_trainer *ct, int nw, const int *sites, int l, const float *x,
                  float *const *y, int n, pgr_err *err)
{
    const void *xin = x;
    for (int i = 0; i < nw; i++) {
        const pgr_wmat *w = pgr_model_weight(ct->m, l, sites[i]);
        if (!ct->f32 && i == 0) {
            if (pgr_cu_to_bf16(x, ct->xbf, (size_t)n * w->cols, ct->st, err))
                return -1;
            xin = ct->xbf;
        }
        if (pgr_cu_mm(ct->blas, 0, 1, n, w->rows, w->cols, 1.0f, xin, w->cols,
                      ct->W[(size_t)l * PGR_SITE_RESID + sites[i]], w->cols, 0.0f, y[i], w->rows,
                      !ct->f32, err))
            return -1;
    }
    return 0;
}

/* dx (n, W cols) += dy (n, W rows) · W: the input's gradient through a frozen matrix */
static int bwd_mm(pgr_cuda_trainer *ct, const void *Wd, int rows, int cols, const float *dy,
                  float *dx, int n, pgr_err *err)
{
    const void *g = dy;
    if (!ct->f32) {
        if (pgr_cu_to_bf16(dy, ct->xbf, (size_t)n * rows, ct->st, err))
            return -1;
        g = ct->xbf;
    }
    return pgr_cu_mm(ct->blas, 0, 0, n, cols, rows, 1.0f, g, rows, Wd, cols, 1.0f, dx, cols,
                     !ct->f32, err);
}

static int mt(pgr_cuda_trainer *ct, int l, int site, const float *dy, float *dx, int n,
              pgr_err *err)
{
    const pgr_wmat *w = pgr_model_weight(ct->m, l, site);
    return bwd_mm(ct, ct->W[(size_t)l * PGR_SITE_RESID + site], w->rows, w->cols, dy, dx, n, err);
}

static int lora_fwd(pgr_cuda_trainer *ct, int l, int site, const float *in, float *out, int n,
                    pgr_err *err)
{
    const site_p *s = &ct->sp[(size_t)l * PGR_SITE_COUNT + site];
    if (!s->A)
        return 0;
    return pgr_cu_lora_train_fwd(ct->blas, in, s->A, s->B, ct->scale, ct->d_mask, out, n, s->in,
                                 s->out, ct->rank, ct->lscr, ct->st, err);
}

static int lora_bwd(pgr_cuda_trainer *ct, int l, int site, const float *in, const float *dout,
                    float *din, int n, pgr_err *err)
{
    const site_p *s = &ct->sp[(size_t)l * PGR_SITE_COUNT + site];
    if (!s->A)
        return 0;
    return pgr_cu_lora_train_bwd(ct->blas, in, s->A, s->B, ct->scale, ct->d_mask, dout, s->dA,
                                 s->dB, din, n, s->in, s->out, ct->rank, ct->lscr,
                                 ct->lscr + (size_t)ct->cap * ct->rank, ct->st, err);
}

/* Layer l on x_in (n, dim), every intermediate left in the workspace; x_out
 * != NULL: the layer's output there, with ReFT applied (the stream before
 * it kept in hpre[l]). As layer_fwd in inference/train.c. */
static int layer_fwd(pgr_cuda_trainer *ct, int l, const float *x_in, float *x_out, int n,
                     pgr_err *err)
{
    const pgr_model_cfg *c = &ct->c;
    const int d = c->dim, hd = c->head_dim, f = c->ffn_dim;
    const size_t nd = (size_t)n * d;
    const float *n0 = ct->norms + (size_t)(1 + 2 * l) * d, *n1 = n0 + d;
    static const int s_qkv[3] = {PGR_SITE_Q, PGR_SITE_K, PGR_SITE_V}, s_o[1] = {PGR_SITE_O},
                     s_gu[2] = {PGR_SITE_GATE, PGR_SITE_UP}, s_d[1] = {PGR_SITE_DOWN};
    float *y3[3] = {ct->q, ct->k, ct->v}, *yo[1] = {ct->tmp}, *y2[2] = {ct->gate, ct->up};
    ct->ws_layer = -1;
    if (pgr_cu_rmsnorm(x_in, n0, ct->xn1, n, d, c->norm_eps, ct->st, err) ||
        fwd_mm(ct, 3, s_qkv, l, ct->xn1, y3, n, err) ||
        lora_fwd(ct, l, PGR_SITE_Q, ct->xn1, ct->q, n, err) ||
        lora_fwd(ct, l, PGR_SITE_K, ct->xn1, ct->k, n, err) ||
        lora_fwd(ct, l, PGR_SITE_V, ct->xn1, ct->v, n, err) ||
        pgr_cu_rope(ct->q, ct->d_pos, n, c->n_head, hd, c->rope_theta, ct->st, err) ||
        pgr_cu_rope(ct->k, ct->d_pos, n, c->n_kv_head, hd, c->rope_theta, ct->st, err) ||
        pgr_cu_attn_train_fwd(ct->q, ct->k, ct->v, ct->att, ct->P, n, c->n_head, c->n_kv_head, hd,
                              1.0f / sqrtf((float)hd), ct->st, err) ||
        fwd_mm(ct, 1, s_o, l, ct->att, yo, n, err) ||
        lora_fwd(ct, l, PGR_SITE_O, ct->att, ct->tmp, n, err) ||
        pgr_cu_axpy3(x_in, 1.0f, ct->tmp, ct->xmid, nd, ct->st, err) ||
        pgr_cu_rmsnorm(ct->xmid, n1, ct->xn2, n, d, c->norm_eps, ct->st, err) ||
        fwd_mm(ct, 2, s_gu, l, ct->xn2, y2, n, err) ||
        lora_fwd(ct, l, PGR_SITE_GATE, ct->xn2, ct->gate, n, err) ||
        lora_fwd(ct, l, PGR_SITE_UP, ct->xn2, ct->up, n, err) ||
        pgr_cu_swiglu(ct->gate, ct->up, ct->act, (size_t)n * f, ct->st, err) ||
        fwd_mm(ct, 1, s_d, l, ct->act, yo, n, err) ||
        lora_fwd(ct, l, PGR_SITE_DOWN, ct->act, ct->tmp, n, err))
        return -1;
    ct->ws_layer = l;
    if (!x_out)
        return 0;
    if (pgr_cu_axpy3(ct->xmid, 1.0f, ct->tmp, x_out, nd, ct->st, err))
        return -1;
    const layer_p *lp = &ct->lp[l];
    if (lp->R) {
        float *h = ct->hpre + (size_t)l * ct->cap * d;
        if (copy(ct, h, x_out, nd, err) ||
            pgr_cu_reft_train_fwd(ct->blas, x_out, lp->R, lp->W, lp->b, ct->loreft, ct->d_mask, n,
                                  d, ct->rank, ct->lscr, ct->st, err))
            return -1;
    }
    return 0;
}

/* As layer_bwd in inference/train.c: the workspace holds layer l's forward
 * from x_in; dh (n, dim) is the gradient at the layer's output before any
 * ReFT; dx_in gets the gradient at x_in when need_dx. */
static int layer_bwd(pgr_cuda_trainer *ct, int l, const float *x_in, const float *dh, float *dx_in,
                     int need_dx, int n, pgr_err *err)
{
    const pgr_model_cfg *c = &ct->c;
    const int d = c->dim, hd = c->head_dim, qd = c->n_head * hd, kvd = c->n_kv_head * hd,
              f = c->ffn_dim;
    const size_t nd = (size_t)n * d;
    const float *n0 = ct->norms + (size_t)(1 + 2 * l) * d, *n1 = n0 + d;
    float *dxmid = ct->dx2;
    if (zero(ct, ct->dact, (size_t)n * f, err) ||
        lora_bwd(ct, l, PGR_SITE_DOWN, ct->act, dh, ct->dact, n, err) ||
        mt(ct, l, PGR_SITE_DOWN, dh, ct->dact, n, err) || zero(ct, ct->dgate, (size_t)n * f, err) ||
        zero(ct, ct->dup, (size_t)n * f, err) ||
        pgr_cu_swiglu_bwd(ct->gate, ct->up, ct->dact, ct->dgate, ct->dup, (size_t)n * f, ct->st,
                          err) ||
        zero(ct, ct->dxn, nd, err) ||
        lora_bwd(ct, l, PGR_SITE_GATE, ct->xn2, ct->dgate, ct->dxn, n, err) ||
        lora_bwd(ct, l, PGR_SITE_UP, ct->xn2, ct->dup, ct->dxn, n, err) ||
        mt(ct, l, PGR_SITE_GATE, ct->dgate, ct->dxn, n, err) ||
        mt(ct, l, PGR_SITE_UP, ct->dup, ct->dxn, n, err) ||
        /* dxmid = dh + rmsnorm'(dxn) */
        copy(ct, dxmid, dh, nd, err) ||
        pgr_cu_rmsnorm_bwd(ct->xmid, n1, ct->dxn, dxmid, n, d, c->norm_eps, ct->st, err) ||
        zero(ct, ct->datt, (size_t)n * qd, err) ||
        lora_bwd(ct, l, PGR_SITE_O, ct->att, dxmid, ct->datt, n, err) ||
        mt(ct, l, PGR_SITE_O, dxmid, ct->datt, n, err) || zero(ct, ct->dq, (size_t)n * qd, err) ||
        zero(ct, ct->dk, (size_t)n * kvd, err) || zero(ct, ct->dv, (size_t)n * kvd, err) ||
        pgr_cu_attn_train_bwd(ct->q, ct->k, ct->v, ct->P, ct->datt, ct->dq, ct->dk, ct->dv, n,
                              c->n_head, c->n_kv_head, hd, 1.0f / sqrtf((float)hd), ct->dS, ct->st,
                              err) ||
        pgr_cu_rope_bwd(ct->dq, ct->d_pos, n, c->n_head, hd, c->rope_theta, ct->st, err) ||
        pgr_cu_rope_bwd(ct->dk, ct->d_pos, n, c->n_kv_head, hd, c->rope_theta, ct->st, err) ||
        zero(ct, ct->dxn, nd, err) ||
        lora_bwd(ct, l, PGR_SITE_Q, ct->xn1, ct->dq, need_dx ? ct->dxn : NULL, n, err) ||
        lora_bwd(ct, l, PGR_SITE_K, ct->xn1, ct->dk, need_dx ? ct->dxn : NULL, n, err) ||
        lora_bwd(ct, l, PGR_SITE_V, ct->xn1, ct->dv, need_dx ? ct->dxn : NULL, n, err))
        return -1;
    if (!need_dx)
        return 0;
    if (mt(ct, l, PGR_SITE_Q, ct->dq, ct->dxn, n, err) ||
        mt(ct, l, PGR_SITE_K, ct->dk, ct->dxn, n, err) ||
        mt(ct, l, PGR_SITE_V, ct->dv, ct->dxn, n, err))
        return -1;
    if (dx_in != dxmid && copy(ct, dx_in, dxmid, nd, err))
        return -1;
    return pgr_cu_rmsnorm_bwd(x_in, n0, ct->dxn, dx_in, n, d, c->norm_eps, ct->st, err);
}

extern "C" int pgr_cuda_trainer_loss(pgr_cuda_trainer *ct, const int32_t *tok, int n,
                                     int prompt_len, const uint8_t *mask, float grad_scale,
                                     double *loss_sum, pgr_err *err)
{
    const pgr_model_cfg *c = &ct->c;
    const int d = c->dim, L = c->n_layer, V = c->vocab;
    const size_t T = (size_t)ct->cap;
    const int want_grad = grad_scale != 0.0f && ct->pmem != NULL;
    const float *xl = ct->xs + (size_t)L * T * d, *onorm = ct->norms;
    *loss_sum = 0;
    ARG_CHECK(n >= 2 && n <= ct->cap && prompt_len >= 1 && prompt_len < n,
              "CUDA trainer: %d tokens with a prompt of %d (at most %d)", n, prompt_len, ct->cap);
    CU_TRY(cudaMemcpyAsync(ct->d_tok, tok, (size_t)n * sizeof(int32_t), cudaMemcpyHostToDevice,
                           ct->st));
    CU_TRY(cudaMemcpyAsync(ct->d_mask, mask, (size_t)n, cudaMemcpyHostToDevice, ct->st));
    if (pgr_cu_embed(ct->f32 ? PGR_KT_F32 : PGR_KT_BF16, ct->embd, (size_t)d * (ct->f32 ? 4 : 2), d,
                     ct->d_tok, n, ct->xs, ct->st, err))
        return -1;
    for (int l = 0; l < L; l++)
        if (layer_fwd(ct, l, ct->xs + (size_t)l * T * d, ct->xs + (size_t)(l + 1) * T * d, n, err))
            return -1;
    if (want_grad && zero(ct, ct->dx, (size_t)n * d, err))
        return -1;
    /* the continuation's loss, LOGIT_ROWS rows at a time: row p predicts tok[p + 1] */
    for (int p0 = prompt_len - 1; p0 < n - 1; p0 += LOGIT_ROWS) {
        const int np = n - 1 - p0 < LOGIT_ROWS ? n - 1 - p0 : LOGIT_ROWS;
        const void *xin = ct->xf;
        if (pgr_cu_rmsnorm(xl + (size_t)p0 * d, onorm, ct->xf, np, d, c->norm_eps, ct->st, err))
            return -1;
        if (!ct->f32) {
            if (pgr_cu_to_bf16(ct->xf, ct->xbf, (size_t)np * d, ct->st, err))
                return -1;
            xin = ct->xbf;
        }
        if (pgr_cu_mm(ct->blas, 0, 1, np, V, d, 1.0f, xin, d, ct->wout, d, 0.0f, ct->logits, V,
                      !ct->f32, err) ||
            pgr_cu_xent(ct->logits, ct->d_tok + p0 + 1, want_grad ? ct->logits : NULL,
                        ct->d_loss + (p0 - (prompt_len - 1)), np, V, grad_scale, ct->st, err))
            return -1;
        if (!want_grad)
            continue;
        if (zero(ct, ct->dxf, (size_t)np * d, err) ||
            bwd_mm(ct, ct->wout, V, d, ct->logits, ct->dxf, np, err) ||
            pgr_cu_rmsnorm_bwd(xl + (size_t)p0 * d, onorm, ct->dxf, ct->dx + (size_t)p0 * d, np, d,
                               c->norm_eps, ct->st, err))
            return -1;
    }
    if (want_grad) {
        /* backward from the top: dx holds the gradient at the output of layer l */
        for (int l = L - 1; l >= ct->lo; l--) {
            const layer_p *lp = &ct->lp[l];
            if (lp->R) {
                if (zero(ct, ct->dx2, (size_t)n * d, err) ||
                    pgr_cu_reft_train_bwd(ct->blas, ct->hpre + (size_t)l * T * d, lp->R, lp->W,
                                          lp->b, ct->loreft, ct->d_mask, ct->dx, lp->dR, lp->dW,
                                          lp->db, ct->dx2, n, d, ct->rank, ct->lscr, ct->st, err))
                    return -1;
                float *sw = ct->dx;
                ct->dx = ct->dx2, ct->dx2 = sw;
            }
            if (l < ct->lo_int)
                break;
            const float *x_in = ct->xs + (size_t)l * T * d;
            if (ct->ws_layer != l && layer_fwd(ct, l, x_in, NULL, n, err))
                return -1;
            if (layer_bwd(ct, l, x_in, ct->dx, ct->dx2, l > ct->lo, n, err))
                return -1;
            float *sw = ct->dx;
            ct->dx = ct->dx2, ct->dx2 = sw;
        }
    }
    /* the losses: one copy, summed on the host in row order (deterministic) */
    CU_TRY(cudaMemcpyAsync(ct->h_loss, ct->d_loss, (size_t)(n - prompt_len) * sizeof(double),
                           cudaMemcpyDeviceToHost, ct->st));
    CU_TRY(cudaStreamSynchronize(ct->st));
    {
        double total = 0;
        for (int i = 0; i < n - prompt_len; i++)
            total += ct->h_loss[i];
        *loss_sum = total;
    }
    return 0;
cleanup:
    return -1;
}
