/* Adapter training through the frozen base model: checkpointed forward,
 * per-layer recompute, backward for adapter parameters only, AdamW
 * (see train.h for the contract and the memory budget). */
#include "inference/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "inference/train_impl.h"
#include "kernels/cuda/cuda_backend.h"

#define LOGIT_CHUNK 32 /* tokens whose logits exist at once */

struct pgr_trainer {
    const pgr_model *m;
    const pgr_model_cfg *c;
    const pgr_kernels *K;
    pgr_kctx *ctx;
    pgr_adapter *a;           /* borrowed; NULL = base */
    pgr_adapter *g, *m1, *m2; /* gradient, Adam moments: the adapter's shapes */
    int mode, cap;
    int lo, lo_int; /* lowest adapted layer; lowest layer whose insides need a backward */
    /* checkpoints */
    float *xs;   /* (n_layer + 1, cap, dim): stream entering layer l; xs[n_layer] the last */
    float *hpre; /* (n_layer, cap, dim) ReFT only: stream before the intervention */
    /* one layer's workspace */
    float *xn1, *q, *k, *v, *att, *tmp, *xmid, *xn2, *gate, *up, *act; /* (cap, ...) */
    float *P;                                                          /* (n_head, cap, cap) */
    /* gradients */
    float *dx, *dx2, *dxn, *dq, *dk, *dv, *datt, *dgate, *dup, *dact; /* (cap, ...) */
    float *logits, *xf, *dxf; /* (LOGIT_CHUNK, vocab), (LOGIT_CHUNK, dim) x2 */
    int32_t *pos, *negpos;    /* (cap) */
    uint8_t *mask;            /* (cap) adapter acts at this position */
    float *lscratch;          /* (4 * max(rank, 1)) LoRA/ReFT u, du, z, dz */
    size_t act_bytes;
    int ws_layer; /* which layer the workspace holds (-1 none) */
    /* device "cuda": the pass runs there (kernels/cuda/trainer.cu); the host
     * keeps g, m1, m2, the mask and AdamW. cu_upload: the adapter changed
     * since the device copy; cu_zero: the device gradient must be zeroed. */
    pgr_cuda_trainer *cu;
    int cu_upload, cu_zero;
};

/* ---- options and schedule ----------------------------------------------------- */
void pgr_train_opts_default(pgr_train_opts *o, int method, int steps)
{
    memset(o, 0, sizeof *o);
    /* from the seed owners' held-out losses (docs/training.md): LoReFT at every
     * layer diverged from the base at 4e-3 (pyreft's usual rate, meant for a
     * few layers) and beat it at 5e-4 */
    o->lr = method == PGR_AD_LORA ? 5e-3f : 5e-4f;
    o->min_lr_frac = 0.1f;
    o->steps = steps;
    o->warmup = steps / 10;
    o->weight_decay = 0.01f;
    o->beta1 = 0.9f;
    o->beta2 = 0.999f;
    o->eps = 1e-8f;
    o->clip = 1.0f;
}

float pgr_train_lr(const pgr_train_opts *o, int step)
{
    if (o->warmup > 0 && step < o->warmup)
        return o->lr * (float)(step + 1) / (float)o->warmup;
    int decay = o->steps - o->warmup;
    if (decay <= 1)
        return o->lr;
    double p = (double)(step - o->warmup) / (double)(decay - 1);
    if (p > 1)
        p = 1;
    const double lo = o->lr * o->min_lr_frac;
    return (float)(lo + 0.5 * (o->lr - lo) * (1.0 + cos(M_PI * p)));
}

/* ---- parameters as a flat list of tensors ----------------------------------------- */
/* Up to cap tensors of a (all adapters of one spec list them in the same
 * order); decay[i]: weight decay applies. */
static int param_list(pgr_adapter *a, pgr_adapter_tensor **out, uint8_t *decay, int cap)
{
    int n = 0;
    for (int l = 0; l < a->n_layer; l++) {
        if (a->spec.method == PGR_AD_LORA) {
            for (int s = 0; s < PGR_SITE_RESID; s++) {
                size_t k = (size_t)l * PGR_SITE_COUNT + (size_t)s;
                if (!a->lora_a[k].data || n + 2 > cap)
                    continue;
                decay[n] = 1, out[n++] = &a->lora_a[k];
                decay[n] = 1, out[n++] = &a->lora_b[k];
            }
        } else if (a->reft_R[l].data && n + 3 <= cap) {
            decay[n] = 1, out[n++] = &a->reft_R[l];
            decay[n] = 1, out[n++] = &a->reft_W[l];
            decay[n] = 0, out[n++] = &a->reft_b[l];
        }
    }
    return n;
}
#define MAX_PARAMS (PGR_AD_MAX_LAYERS * PGR_SITE_COUNT * 2)

static size_t tensor_n(const pgr_adapter_tensor *t)
{
    return (size_t)t->rows * (size_t)t->cols;
}

/* ---- initialisation ---------------------------------------------------------------- */
int pgr_adapter_new_trainable(const pgr_adapter_spec *s, const pgr_model *m, uint64_t seed,
                              pgr_adapter **out, pgr_err *err)
{
    pgr_adapter *a;
    if (pgr_adapter_new_random(s, m, seed, &a, err) != 0)
        return -1;
    for (int l = 0; l < a->n_layer; l++) {
        if (s->method == PGR_AD_LORA) {
            for (int site = 0; site < PGR_SITE_RESID; site++) {
                pgr_adapter_tensor *B = &a->lora_b[(size_t)l * PGR_SITE_COUNT + (size_t)site];
                if (B->data)
                    memset(B->data, 0, tensor_n(B) * sizeof(float));
            }
        } else if (a->reft_R[l].data) {
            pgr_adapter_tensor *R = &a->reft_R[l], *W = &a->reft_W[l], *b = &a->reft_b[l];
            if (s->method == PGR_AD_LOREFT)
                memcpy(W->data, R->data, tensor_n(R) * sizeof(float));
            else
                memset(W->data, 0, tensor_n(W) * sizeof(float));
            memset(b->data, 0, tensor_n(b) * sizeof(float));
        }
    }
    *out = a;
    return 0;
}

/* ---- trainer ------------------------------------------------------------------------ */
void pgr_trainer_free(pgr_trainer *t)
{
    if (!t)
        return;
    pgr_adapter_free(t->g);
    pgr_adapter_free(t->m1);
    pgr_adapter_free(t->m2);
    pgr_kctx_free(t->ctx);
    pgr_cuda_trainer_free(t->cu);
    free(t->xs), free(t->hpre), free(t->xn1), free(t->q), free(t->k), free(t->v), free(t->att);
    free(t->tmp), free(t->xmid), free(t->xn2), free(t->gate), free(t->up), free(t->act);
    free(t->P), free(t->dx), free(t->dx2), free(t->dxn), free(t->dq), free(t->dk), free(t->dv);
    free(t->datt), free(t->dgate), free(t->dup), free(t->dact), free(t->logits), free(t->xf);
    free(t->dxf), free(t->pos), free(t->negpos), free(t->mask), free(t->lscratch);
    free(t);
}

/* calloc of a*b*c floats with overflow checks, counted into *bytes */
static float *fbuf(size_t a, size_t b, size_t c, size_t *bytes)
{
    size_t n;
    if (!pgr_mul_ok(a, b, &n) || !pgr_mul_ok(n, c, &n) || !pgr_mul_ok(n, sizeof(float), &n))
        return NULL;
    *bytes += n;
    return calloc(n ? n : 1, 1);
}

static int lora_at(const pgr_trainer *t, int l, int site)
{
    return t->a && t->a->spec.method == PGR_AD_LORA &&
           t->a->lora_a[(size_t)l * PGR_SITE_COUNT + (size_t)site].data;
}
static int reft_at(const pgr_trainer *t, int l)
{
    return t->a && t->a->spec.method != PGR_AD_LORA && t->a->reft_R[l].data;
}

/* The lowest adapted layer, and the lowest whose insides need a backward. */
static void adapted_range(pgr_trainer *t)
{
    const int reft = t->a && t->a->spec.method != PGR_AD_LORA;
    t->lo = t->lo_int = t->c->n_layer;
    for (int l = t->c->n_layer - 1; t->a && l >= 0; l--) {
        int any = reft_at(t, l);
        for (int s = 0; s < PGR_SITE_RESID; s++)
            any |= lora_at(t, l, s);
        if (any) {
            t->lo = l;
            /* ReFT acts after layer l: its gradient needs no pass through l itself */
            t->lo_int = reft ? l + 1 : l;
        }
    }
}

int pgr_trainer_new(const pgr_model *m, pgr_adapter *a, int mode, int max_tok, int n_threads,
                    pgr_trainer **out, pgr_err *err)
{
    return pgr_trainer_new_on(m, a, mode, max_tok, n_threads, NULL, out, err);
}

/* The gradient and the two Adam moments, shaped as the adapter. */
static int moments_new(pgr_trainer *t, pgr_err *err)
{
    if (t->a && (pgr_adapter_new(&t->a->spec, t->m, &t->g, err) != 0 ||
                 pgr_adapter_new(&t->a->spec, t->m, &t->m1, err) != 0 ||
                 pgr_adapter_new(&t->a->spec, t->m, &t->m2, err) != 0))
        return -1;
    return 0;
}

/* Device "cuda": the host half (gradient, moments, mask) and the device trainer. */
static int trainer_new_cuda(pgr_trainer *t, pgr_err *err)
{
    size_t wb;
    t->mask = calloc((size_t)t->cap, 1);
    if (!t->mask)
        return pgr_errf(err, PGR_ENOMEM, "trainer: out of memory");
    if (moments_new(t, err) != 0 || pgr_cuda_trainer_new(t->m, t->a, t->cap, &t->cu, err) != 0)
        return -1;
    pgr_cuda_trainer_bytes(t->cu, &t->act_bytes, &wb);
    return 0;
}

int pgr_trainer_new_on(const pgr_model *m, pgr_adapter *a, int mode, int max_tok, int n_threads,
                       const char *device, pgr_trainer **out, pgr_err *err)
{
    *out = NULL;
    const int cuda = device && !strcmp(device, "cuda");
    if (device && !cuda && strcmp(device, "cpu"))
        return pgr_errf(err, PGR_EINVAL, "trainer: unknown device '%s' (cpu or cuda)", device);
    const pgr_model_cfg *c = pgr_model_config(m);
    if (max_tok < 2 || max_tok > c->ctx_len || max_tok > 1 << 16)
        return pgr_errf(err, PGR_EINVAL, "trainer: max_tok %d not in 2..%d", max_tok,
                        c->ctx_len < 1 << 16 ? c->ctx_len : 1 << 16);
    if (a && (a->n_layer != c->n_layer || a->dim != c->dim))
        return pgr_errf(err, PGR_EINVAL, "trainer: the adapter was made for another model");
    if (mode != PGR_AD_PREFILL && mode != PGR_AD_ALL)
        return pgr_errf(err, PGR_EINVAL, "trainer: mode %d is not prefill or all", mode);
    pgr_trainer *t = calloc(1, sizeof *t);
    if (!t)
        return pgr_errf(err, PGR_ENOMEM, "trainer: out of memory");
    t->m = m, t->c = c, t->K = pgr_kernels_cpu(), t->a = a, t->mode = mode, t->cap = max_tok;
    t->ws_layer = -1;
    if (cuda) {
        if (trainer_new_cuda(t, err) != 0) {
            pgr_trainer_free(t);
            return -1;
        }
        *out = t;
        return 0;
    }
    t->ctx = pgr_kctx_new(n_threads < 1 ? 1 : n_threads);
    if (!t->ctx) {
        free(t);
        return pgr_errf(err, PGR_ENOMEM, "trainer: cannot start %d threads", n_threads);
    }
    const size_t T = (size_t)max_tok, d = (size_t)c->dim, f = (size_t)c->ffn_dim,
                 qd = (size_t)c->n_head * c->head_dim, kvd = (size_t)c->n_kv_head * c->head_dim,
                 L = (size_t)c->n_layer, wide = qd > d ? qd : d;
    size_t *B = &t->act_bytes;
    int reft = a && a->spec.method != PGR_AD_LORA;
    t->xs = fbuf(L + 1, T, d, B);
    t->hpre = reft ? fbuf(L, T, d, B) : NULL;
    t->xn1 = fbuf(T, d, 1, B), t->q = fbuf(T, qd, 1, B), t->k = fbuf(T, kvd, 1, B);
    t->v = fbuf(T, kvd, 1, B), t->att = fbuf(T, qd, 1, B), t->tmp = fbuf(T, wide, 1, B);
    t->xmid = fbuf(T, d, 1, B), t->xn2 = fbuf(T, d, 1, B), t->gate = fbuf(T, f, 1, B);
    t->up = fbuf(T, f, 1, B), t->act = fbuf(T, f, 1, B);
    t->P = fbuf((size_t)c->n_head, T, T, B);
    t->dx = fbuf(T, d, 1, B), t->dx2 = fbuf(T, d, 1, B), t->dxn = fbuf(T, d, 1, B);
    t->dq = fbuf(T, qd, 1, B), t->dk = fbuf(T, kvd, 1, B), t->dv = fbuf(T, kvd, 1, B);
    t->datt = fbuf(T, qd, 1, B), t->dgate = fbuf(T, f, 1, B), t->dup = fbuf(T, f, 1, B);
    t->dact = fbuf(T, f, 1, B);
    t->logits = fbuf(LOGIT_CHUNK, (size_t)c->vocab, 1, B);
    t->xf = fbuf(LOGIT_CHUNK, d, 1, B), t->dxf = fbuf(LOGIT_CHUNK, d, 1, B);
    t->pos = calloc(T, sizeof *t->pos), t->negpos = calloc(T, sizeof *t->negpos);
    t->mask = calloc(T, 1);
    t->lscratch = fbuf(4, a ? (size_t)a->spec.rank : 1, 1, B);
    if (!t->xs || (reft && !t->hpre) || !t->xn1 || !t->q || !t->k || !t->v || !t->att || !t->tmp ||
        !t->xmid || !t->xn2 || !t->gate || !t->up || !t->act || !t->P || !t->dx || !t->dx2 ||
        !t->dxn || !t->dq || !t->dk || !t->dv || !t->datt || !t->dgate || !t->dup || !t->dact ||
        !t->logits || !t->xf || !t->dxf || !t->pos || !t->negpos || !t->mask || !t->lscratch)
        goto oom;
    for (int i = 0; i < max_tok; i++)
        t->pos[i] = i;
    if (moments_new(t, err) != 0)
        goto fail;
    adapted_range(t);
    *out = t;
    return 0;
oom:
    pgr_errf(err, PGR_ENOMEM, "trainer: out of memory for %d tokens (%zu bytes)", max_tok,
             t->act_bytes);
fail:
    pgr_trainer_free(t);
    return -1;
}

const pgr_adapter *pgr_trainer_grad(const pgr_trainer *t)
{
    return t->g;
}
size_t pgr_trainer_act_bytes(const pgr_trainer *t)
{
    return t->act_bytes;
}
const char *pgr_trainer_device(const pgr_trainer *t)
{
    return t->cu ? "cuda" : "cpu";
}

void pgr_trainer_zero_grad(pgr_trainer *t)
{
    if (!t->g)
        return;
    t->cu_zero = t->cu != NULL; /* done before the device's next sequence */
    pgr_adapter_tensor *p[MAX_PARAMS];
    uint8_t dec[MAX_PARAMS];
    int n = param_list(t->g, p, dec, MAX_PARAMS);
    for (int i = 0; i < n; i++)
        memset(p[i]->data, 0, tensor_n(p[i]) * sizeof(float));
}

/* ---- forward of one layer ------------------------------------------------------------ */
static void lora_fwd(pgr_trainer *t, int l, int site, const float *in, float *out, int n, int id,
                     int od)
{
    if (!lora_at(t, l, site))
        return;
    size_t k = (size_t)l * PGR_SITE_COUNT + (size_t)site;
    pgr_tr_lora(in, t->a->lora_a[k].data, t->a->lora_b[k].data, t->a->scale, t->mask, out, n, id,
                od, t->a->spec.rank);
}

/* Runs layer l on x_in (n, dim) leaving every intermediate in the workspace.
 * x_out != NULL: also writes the layer's output there, with the ReFT
 * intervention applied (and the stream before it kept in hpre[l]). */
static void layer_fwd(pgr_trainer *t, int l, const float *x_in, float *x_out, int n)
{
    const pgr_model_cfg *c = t->c;
    const pgr_kernels *K = t->K;
    const int d = c->dim, hd = c->head_dim, qd = c->n_head * hd, kvd = c->n_kv_head * hd,
              f = c->ffn_dim;
    const pgr_wmat *W[PGR_SITE_RESID];
    for (int s = 0; s < PGR_SITE_RESID; s++)
        W[s] = pgr_model_weight(t->m, l, s);
    K->rmsnorm(t->ctx, x_in, pgr_model_norm(t->m, l, 0), t->xn1, n, d, c->norm_eps);
    {
        const pgr_wmat *w3[3] = {W[PGR_SITE_Q], W[PGR_SITE_K], W[PGR_SITE_V]};
        float *y3[3] = {t->q, t->k, t->v};
        K->matmul(t->ctx, 3, w3, t->xn1, y3, n);
    }
    lora_fwd(t, l, PGR_SITE_Q, t->xn1, t->q, n, d, qd);
    lora_fwd(t, l, PGR_SITE_K, t->xn1, t->k, n, d, kvd);
    lora_fwd(t, l, PGR_SITE_V, t->xn1, t->v, n, d, kvd);
    K->rope(t->ctx, t->q, t->pos, n, c->n_head, hd, c->rope_theta);
    K->rope(t->ctx, t->k, t->pos, n, c->n_kv_head, hd, c->rope_theta);
    pgr_tr_attention(t->q, t->k, t->v, t->att, t->P, n, c->n_head, c->n_kv_head, hd,
                     1.0f / sqrtf((float)hd));
    {
        const pgr_wmat *wo[1] = {W[PGR_SITE_O]};
        float *yo[1] = {t->tmp};
        K->matmul(t->ctx, 1, wo, t->att, yo, n);
    }
    lora_fwd(t, l, PGR_SITE_O, t->att, t->tmp, n, qd, d);
    for (size_t i = 0; i < (size_t)n * d; i++)
        t->xmid[i] = x_in[i] + t->tmp[i];
    K->rmsnorm(t->ctx, t->xmid, pgr_model_norm(t->m, l, 1), t->xn2, n, d, c->norm_eps);
    {
        const pgr_wmat *w2[2] = {W[PGR_SITE_GATE], W[PGR_SITE_UP]};
        float *y2[2] = {t->gate, t->up};
        K->matmul(t->ctx, 2, w2, t->xn2, y2, n);
    }
    lora_fwd(t, l, PGR_SITE_GATE, t->xn2, t->gate, n, d, f);
    lora_fwd(t, l, PGR_SITE_UP, t->xn2, t->up, n, d, f);
    K->swiglu(t->ctx, t->gate, t->up, t->act, (size_t)n * f);
    {
        const pgr_wmat *wd[1] = {W[PGR_SITE_DOWN]};
        float *yd[1] = {t->tmp};
        K->matmul(t->ctx, 1, wd, t->act, yd, n);
    }
    lora_fwd(t, l, PGR_SITE_DOWN, t->act, t->tmp, n, f, d);
    t->ws_layer = l;
    if (!x_out)
        return;
    for (size_t i = 0; i < (size_t)n * d; i++)
        x_out[i] = t->xmid[i] + t->tmp[i];
    if (reft_at(t, l)) {
        float *h = t->hpre + (size_t)l * t->cap * d;
        memcpy(h, x_out, (size_t)n * d * sizeof(float));
        pgr_tr_reft(x_out, t->a->reft_R[l].data, t->a->reft_W[l].data, t->a->reft_b[l].data,
                    t->a->spec.method == PGR_AD_LOREFT, t->mask, n, d, t->a->spec.rank,
                    t->lscratch);
    }
}

/* ---- backward of one layer --------------------------------------------------------------- */
static void lora_bwd(pgr_trainer *t, int l, int site, const float *in, const float *dout,
                     float *din, int n, int id, int od)
{
    if (!lora_at(t, l, site))
        return;
    size_t k = (size_t)l * PGR_SITE_COUNT + (size_t)site;
    const int r = t->a->spec.rank;
    pgr_tr_lora_bwd(in, t->a->lora_a[k].data, t->a->lora_b[k].data, t->a->scale, t->mask, dout,
                    t->g->lora_a[k].data, t->g->lora_b[k].data, din, n, id, od, r, t->lscratch,
                    t->lscratch + r);
}

static int mt(pgr_trainer *t, int l, int site, const float *dy, float *dx, int n, pgr_err *err)
{
    const pgr_wmat *w = pgr_model_weight(t->m, l, site);
    if (pgr_cpu_matmul_t(t->ctx, w, dy, dx, n) != 0)
        return pgr_errf(err, PGR_EUNSUPPORTED, "trainer: no transposed product for %s weights",
                        pgr_kt_name(w->type));
    return 0;
}

static void zero(float *p, size_t n)
{
    memset(p, 0, n * sizeof(float));
}

/* The workspace holds layer l's forward from x_in; dh (n, dim) is the loss
 * gradient at the layer's output before any ReFT. Writes the gradient at
 * x_in into dx_in when need_dx (else only parameter gradients). */
static int layer_bwd(pgr_trainer *t, int l, const float *x_in, const float *dh, float *dx_in,
                     int need_dx, int n, pgr_err *err)
{
    const pgr_model_cfg *c = t->c;
    const int d = c->dim, hd = c->head_dim, qd = c->n_head * hd, kvd = c->n_kv_head * hd,
              f = c->ffn_dim;
    const size_t nd = (size_t)n * d;
    /* down: h = xmid + down(act) */
    zero(t->dact, (size_t)n * f);
    lora_bwd(t, l, PGR_SITE_DOWN, t->act, dh, t->dact, n, f, d);
    if (mt(t, l, PGR_SITE_DOWN, dh, t->dact, n, err))
        return -1;
    zero(t->dgate, (size_t)n * f);
    zero(t->dup, (size_t)n * f);
    pgr_tr_swiglu_bwd(t->gate, t->up, t->dact, t->dgate, t->dup, (size_t)n * f);
    zero(t->dxn, nd);
    lora_bwd(t, l, PGR_SITE_GATE, t->xn2, t->dgate, t->dxn, n, d, f);
    lora_bwd(t, l, PGR_SITE_UP, t->xn2, t->dup, t->dxn, n, d, f);
    if (mt(t, l, PGR_SITE_GATE, t->dgate, t->dxn, n, err) ||
        mt(t, l, PGR_SITE_UP, t->dup, t->dxn, n, err))
        return -1;
    /* dxmid = dh + rmsnorm'(dxn2); kept in dx2 */
    float *dxmid = t->dx2;
    memcpy(dxmid, dh, nd * sizeof(float));
    pgr_tr_rmsnorm_bwd(t->xmid, pgr_model_norm(t->m, l, 1), t->dxn, dxmid, n, d, c->norm_eps);
    /* o: xmid = x_in + o(att) */
    zero(t->datt, (size_t)n * qd);
    lora_bwd(t, l, PGR_SITE_O, t->att, dxmid, t->datt, n, qd, d);
    if (mt(t, l, PGR_SITE_O, dxmid, t->datt, n, err))
        return -1;
    zero(t->dq, (size_t)n * qd);
    zero(t->dk, (size_t)n * kvd);
    zero(t->dv, (size_t)n * kvd);
    pgr_tr_attention_bwd(t->q, t->k, t->v, t->P, t->datt, t->dq, t->dk, t->dv, n, c->n_head,
                         c->n_kv_head, hd, 1.0f / sqrtf((float)hd), t->tmp);
    pgr_tr_rope_bwd(t->K, t->ctx, t->dq, t->pos, n, c->n_head, hd, c->rope_theta, t->negpos);
    pgr_tr_rope_bwd(t->K, t->ctx, t->dk, t->pos, n, c->n_kv_head, hd, c->rope_theta, t->negpos);
    zero(t->dxn, nd);
    lora_bwd(t, l, PGR_SITE_Q, t->xn1, t->dq, need_dx ? t->dxn : NULL, n, d, qd);
    lora_bwd(t, l, PGR_SITE_K, t->xn1, t->dk, need_dx ? t->dxn : NULL, n, d, kvd);
    lora_bwd(t, l, PGR_SITE_V, t->xn1, t->dv, need_dx ? t->dxn : NULL, n, d, kvd);
    if (!need_dx)
        return 0;
    if (mt(t, l, PGR_SITE_Q, t->dq, t->dxn, n, err) ||
        mt(t, l, PGR_SITE_K, t->dk, t->dxn, n, err) || mt(t, l, PGR_SITE_V, t->dv, t->dxn, n, err))
        return -1;
    if (dx_in != dxmid)
        memcpy(dx_in, dxmid, nd * sizeof(float));
    pgr_tr_rmsnorm_bwd(x_in, pgr_model_norm(t->m, l, 0), t->dxn, dx_in, n, d, c->norm_eps);
    return 0;
}

/* ---- loss ------------------------------------------------------------------------------ */
int pgr_trainer_loss(pgr_trainer *t, const pgr_train_seq *s, float grad_scale, double *loss_sum,
                     int *n_pred, pgr_err *err)
{
    const pgr_model_cfg *c = t->c;
    const int n = s->n_tok, d = c->dim, L = c->n_layer;
    const size_t T = (size_t)t->cap;
    *loss_sum = 0;
    *n_pred = 0;
    if (n < 2 || n > t->cap || s->prompt_len < 1 || s->prompt_len >= n)
        return pgr_errf(err, PGR_EINVAL,
                        "training sequence: %d tokens with a prompt of %d (need 1 <= prompt < "
                        "tokens <= %d)",
                        n, s->prompt_len, t->cap);
    for (int i = 0; i < n; i++)
        if (s->tok[i] < 0 || s->tok[i] >= c->vocab)
            return pgr_errf(err, PGR_EINVAL, "training sequence: token %d = %d out of range", i,
                            s->tok[i]);
    const int want_grad = grad_scale != 0.0f && t->a != NULL;
    for (int i = 0; i < n; i++)
        t->mask[i] = (uint8_t)pgr_adapter_acts_at(t->a, t->mode, s->prompt_len, i);
    if (t->cu) {
        /* the device pass; its gradient sum is read back over t->g */
        if ((t->cu_upload && pgr_cuda_trainer_set_adapter(t->cu, t->a, err) != 0) ||
            (t->cu_zero && pgr_cuda_trainer_zero_grad(t->cu, err) != 0))
            return -1;
        t->cu_upload = t->cu_zero = 0;
        if (pgr_cuda_trainer_loss(t->cu, s->tok, n, s->prompt_len, t->mask,
                                  want_grad ? grad_scale : 0.0f, loss_sum, err) != 0 ||
            (want_grad && pgr_cuda_trainer_grad(t->cu, t->g, err) != 0))
            return -1;
        *n_pred = n - s->prompt_len;
        return 0;
    }
    /* forward, keeping each layer's input */
    t->K->embed(t->ctx, pgr_model_tok_embd(t->m), s->tok, t->xs, n);
    for (int l = 0; l < L; l++)
        layer_fwd(t, l, t->xs + (size_t)l * T * d, t->xs + (size_t)(l + 1) * T * d, n);
    /* loss over the continuation, LOGIT_CHUNK rows at a time: row p predicts tok[p + 1] */
    const float *xl = t->xs + (size_t)L * T * d;
    const float *onorm = pgr_model_norm(t->m, -1, 0);
    const pgr_wmat *wout = pgr_model_output(t->m);
    if (want_grad)
        zero(t->dx, (size_t)n * d);
    double total = 0;
    for (int p0 = s->prompt_len - 1; p0 < n - 1; p0 += LOGIT_CHUNK) {
        const int np = n - 1 - p0 < LOGIT_CHUNK ? n - 1 - p0 : LOGIT_CHUNK;
        t->K->rmsnorm(t->ctx, xl + (size_t)p0 * d, onorm, t->xf, np, d, c->norm_eps);
        const pgr_wmat *w1[1] = {wout};
        float *y1[1] = {t->logits};
        t->K->matmul(t->ctx, 1, w1, t->xf, y1, np);
        total += pgr_tr_xent(t->logits, s->tok + p0 + 1, want_grad ? t->logits : NULL, np, c->vocab,
                             grad_scale);
        if (!want_grad)
            continue;
        zero(t->dxf, (size_t)np * d);
        if (pgr_cpu_matmul_t(t->ctx, wout, t->logits, t->dxf, np) != 0)
            return pgr_errf(err, PGR_EUNSUPPORTED, "trainer: no transposed product for %s",
                            pgr_kt_name(wout->type));
        pgr_tr_rmsnorm_bwd(xl + (size_t)p0 * d, onorm, t->dxf, t->dx + (size_t)p0 * d, np, d,
                           c->norm_eps);
    }
    *loss_sum = total;
    *n_pred = n - s->prompt_len;
    if (!want_grad)
        return 0;
    /* backward from the top: dx holds the gradient at the output of layer l */
    const int rank = t->a->spec.rank;
    for (int l = L - 1; l >= t->lo; l--) {
        if (reft_at(t, l)) {
            /* through the intervention: dh = dx + its Jacobian^T; into dx2 then swap */
            zero(t->dx2, (size_t)n * d);
            pgr_tr_reft_bwd(t->hpre + (size_t)l * T * d, t->a->reft_R[l].data, t->a->reft_W[l].data,
                            t->a->reft_b[l].data, t->a->spec.method == PGR_AD_LOREFT, t->mask,
                            t->dx, t->g->reft_R[l].data, t->g->reft_W[l].data, t->g->reft_b[l].data,
                            t->dx2, n, d, rank, t->lscratch, t->lscratch + rank);
            float *sw = t->dx;
            t->dx = t->dx2, t->dx2 = sw;
        }
        if (l < t->lo_int)
            break;
        const float *x_in = t->xs + (size_t)l * T * d;
        if (t->ws_layer != l)
            layer_fwd(t, l, x_in, NULL, n);
        /* the layer's input gradient goes to dx2 (dxmid's buffer) and is swapped in */
        if (layer_bwd(t, l, x_in, t->dx, t->dx2, l > t->lo, n, err) != 0)
            return -1;
        float *sw = t->dx;
        t->dx = t->dx2, t->dx2 = sw;
    }
    return 0;
}

/* ---- AdamW -------------------------------------------------------------------------------- */
void pgr_trainer_step(pgr_trainer *t, const pgr_train_opts *o, int step, double *gnorm)
{
    if (!t->a)
        return;
    pgr_adapter_tensor *p[MAX_PARAMS], *g[MAX_PARAMS], *m1[MAX_PARAMS], *m2[MAX_PARAMS];
    uint8_t dec[MAX_PARAMS], tmp[MAX_PARAMS];
    int n = param_list(t->a, p, dec, MAX_PARAMS);
    param_list(t->g, g, tmp, MAX_PARAMS);
    param_list(t->m1, m1, tmp, MAX_PARAMS);
    param_list(t->m2, m2, tmp, MAX_PARAMS);
    double ss = 0;
    for (int i = 0; i < n; i++)
        for (size_t j = 0; j < tensor_n(g[i]); j++)
            ss += (double)g[i]->data[j] * g[i]->data[j];
    const double norm = sqrt(ss);
    if (gnorm)
        *gnorm = norm;
    const float gs = o->clip > 0 && norm > o->clip ? (float)(o->clip / norm) : 1.0f;
    const float lr = pgr_train_lr(o, step);
    const double bc1 = 1.0 - pow(o->beta1, step + 1), bc2 = 1.0 - pow(o->beta2, step + 1);
    for (int i = 0; i < n; i++) {
        float *w = p[i]->data, *gr = g[i]->data, *a = m1[i]->data, *b = m2[i]->data;
        const float wd = dec[i] ? o->weight_decay : 0.0f;
        for (size_t j = 0; j < tensor_n(p[i]); j++) {
            const float gj = gr[j] * gs;
            a[j] = o->beta1 * a[j] + (1 - o->beta1) * gj;
            b[j] = o->beta2 * b[j] + (1 - o->beta2) * gj * gj;
            const double mh = a[j] / bc1, vh = b[j] / bc2;
            w[j] -= lr * (float)(mh / (sqrt(vh) + o->eps)) + lr * wd * w[j];
        }
    }
    if (t->a->spec.method == PGR_AD_LOREFT)
        for (int l = 0; l < t->a->n_layer; l++)
            if (t->a->reft_R[l].data)
                pgr_adapter_orthonormalise(&t->a->reft_R[l]);
    t->cu_upload = t->cu != NULL; /* before the device's next sequence */
    pgr_trainer_zero_grad(t);
}
