/* Adapter training (inference/train*.c):
 * - every backward piece (RMSNorm, SwiGLU, RoPE, attention, LoRA, LoReFT,
 *   DiReFT, cross-entropy) against central finite differences of a random
 *   linear functional of its output, on small random shapes;
 * - the transposed product dx += dy·W against a dequantise-then-multiply
 *   reference for F32, Q8_0 and Q4_1 weights;
 * - the whole trainer's adapter gradient against finite differences of its
 *   own loss on a tiny random F32 model: LoRA on all seven projections and
 *   LoReFT/DiReFT, in prefill and all modes;
 * - the trainer's forward agrees with the inference engine (pgr_forward with
 *   the adapter set's hooks) on the loss of a sequence;
 * - prefill-mode gradients vanish when no continuation token can see the prompt
 *   (a one-token prompt whose adapted K/V still matter: checked non-zero);
 * - training on a tiny generated corpus drives the loss near zero, and is
 *   deterministic. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "inference/adapter.h"
#include "inference/model.h"
#include "inference/train.h"
#include "inference/train_impl.h"

static uint64_t rng = 88172645463325252ull;
static float urand(void) /* U(-1, 1) */
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((rng >> 40) * (2.0 / 16777216.0) - 1.0);
}
static void fill(float *x, size_t n, float s)
{
    for (size_t i = 0; i < n; i++)
        x[i] = s * urand();
}
static double dotg(const float *y, const float *G, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)y[i] * G[i];
    return s;
}

/* Central differences of f at every coordinate of x (up to max_check, spread
 * evenly) against the analytic gradient ga. */
typedef double (*obj_fn)(void *ctx);
static int fd_check(const char *what, obj_fn f, void *ctx, float *x, const float *ga, size_t n,
                    float eps, double atol, double rtol)
{
    int bad = 0;
    size_t stride = n > 64 ? n / 64 : 1;
    for (size_t i = 0; i < n; i += stride) {
        const float x0 = x[i];
        x[i] = x0 + eps;
        double fp = f(ctx);
        x[i] = x0 - eps;
        double fm = f(ctx);
        x[i] = x0;
        double num = (fp - fm) / (2.0 * (double)eps);
        if (!(fabs(num - ga[i]) <= atol + rtol * fabs(num))) {
            if (bad < 4)
                fprintf(stderr, "    %s[%zu]: analytic %.6g numeric %.6g\n", what, i, ga[i], num);
            bad++;
        }
    }
    return bad;
}

/* ---- pieces --------------------------------------------------------------------- */
enum { N = 5, D = 16 };

struct rms_ctx {
    float x[N * D], w[D], y[N * D], G[N * D];
};
static double rms_obj(void *p)
{
    struct rms_ctx *c = p;
    pgr_tr_rmsnorm(c->x, c->w, c->y, N, D, 1e-5f);
    return dotg(c->y, c->G, N * D);
}
static void test_rmsnorm_grad(void)
{
    struct rms_ctx c;
    fill(c.x, N * D, 1.0f), fill(c.w, D, 1.0f), fill(c.G, N * D, 1.0f);
    float dx[N * D] = {0};
    pgr_tr_rmsnorm_bwd(c.x, c.w, c.G, dx, N, D, 1e-5f);
    CHECK_INT(fd_check("rmsnorm dx", rms_obj, &c, c.x, dx, N * D, 1e-2f, 2e-3, 1e-2), 0);
}

struct swi_ctx {
    float g[N * D], u[N * D], y[N * D], G[N * D];
};
static double swi_obj(void *p)
{
    struct swi_ctx *c = p;
    for (int i = 0; i < N * D; i++)
        c->y[i] = c->g[i] / (1.0f + expf(-c->g[i])) * c->u[i];
    return dotg(c->y, c->G, N * D);
}
static void test_swiglu_grad(void)
{
    struct swi_ctx c;
    fill(c.g, N * D, 3.0f), fill(c.u, N * D, 1.0f), fill(c.G, N * D, 1.0f);
    float dg[N * D] = {0}, du[N * D] = {0};
    pgr_tr_swiglu_bwd(c.g, c.u, c.G, dg, du, N * D);
    CHECK_INT(fd_check("swiglu dg", swi_obj, &c, c.g, dg, N * D, 1e-2f, 2e-3, 1e-2), 0);
    CHECK_INT(fd_check("swiglu du", swi_obj, &c, c.u, du, N * D, 1e-2f, 2e-3, 1e-2), 0);
    /* the forward formula above is the kernel's */
    float y[N * D];
    pgr_kernels_ref()->swiglu(NULL, c.g, c.u, y, N * D);
    swi_obj(&c);
    for (int i = 0; i < N * D; i++)
        CHECK_NEAR(y[i], c.y[i], 1e-6 + 1e-6 * fabs(c.y[i]));
}

enum { NH = 4, NKV = 2, HD = 8 };
struct rope_ctx {
    pgr_kctx *ctx;
    float x[N * NH * HD], y[N * NH * HD], G[N * NH * HD];
    int32_t pos[N];
};
static double rope_obj(void *p)
{
    struct rope_ctx *c = p;
    memcpy(c->y, c->x, sizeof c->x);
    pgr_kernels_cpu()->rope(c->ctx, c->y, c->pos, N, NH, HD, 10000.0f);
    return dotg(c->y, c->G, N * NH * HD);
}
static void test_rope_grad(void)
{
    struct rope_ctx c;
    c.ctx = pgr_kctx_new(1);
    CHECK(c.ctx);
    for (int i = 0; i < N; i++)
        c.pos[i] = 3 + 7 * i;
    fill(c.x, sizeof c.x / 4, 1.0f), fill(c.G, sizeof c.G / 4, 1.0f);
    float dx[N * NH * HD];
    int32_t neg[N];
    memcpy(dx, c.G, sizeof dx);
    pgr_tr_rope_bwd(pgr_kernels_cpu(), c.ctx, dx, c.pos, N, NH, HD, 10000.0f, neg);
    int bad = fd_check("rope dx", rope_obj, &c, c.x, dx, N * NH * HD, 1e-2f, 1e-3, 1e-2);
    pgr_kctx_free(c.ctx);
    CHECK_INT(bad, 0);
}

struct att_ctx {
    float q[N * NH * HD], k[N * NKV * HD], v[N * NKV * HD], out[N * NH * HD], P[NH * N * N],
        G[N * NH * HD];
};
static double att_obj(void *p)
{
    struct att_ctx *c = p;
    pgr_tr_attention(c->q, c->k, c->v, c->out, c->P, N, NH, NKV, HD, 0.35f);
    return dotg(c->out, c->G, N * NH * HD);
}
static void test_attention_grad(void)
{
    struct att_ctx c;
    fill(c.q, sizeof c.q / 4, 1.0f), fill(c.k, sizeof c.k / 4, 1.0f);
    fill(c.v, sizeof c.v / 4, 1.0f), fill(c.G, sizeof c.G / 4, 1.0f);
    att_obj(&c);
    float dq[sizeof c.q / 4] = {0}, dk[sizeof c.k / 4] = {0}, dv[sizeof c.v / 4] = {0}, dP[N];
    pgr_tr_attention_bwd(c.q, c.k, c.v, c.P, c.G, dq, dk, dv, N, NH, NKV, HD, 0.35f, dP);
    CHECK_INT(fd_check("attn dq", att_obj, &c, c.q, dq, sizeof c.q / 4, 1e-2f, 2e-3, 1e-2), 0);
    CHECK_INT(fd_check("attn dk", att_obj, &c, c.k, dk, sizeof c.k / 4, 1e-2f, 2e-3, 1e-2), 0);
    CHECK_INT(fd_check("attn dv", att_obj, &c, c.v, dv, sizeof c.v / 4, 1e-2f, 2e-3, 1e-2), 0);
    /* causality: the first token's output is its own value row (head's kv head) */
    for (int h = 0; h < NH; h++)
        for (int i = 0; i < HD; i++)
            CHECK_NEAR(c.out[h * HD + i], c.v[(h / (NH / NKV)) * HD + i], 1e-6);
}

enum { ID = 12, OD = 10, R = 3 };
struct lora_ctx {
    float in[N * ID], A[R * ID], B[OD * R], base[N * OD], out[N * OD], G[N * OD];
    uint8_t mask[N];
};
static double lora_obj(void *p)
{
    struct lora_ctx *c = p;
    memcpy(c->out, c->base, sizeof c->out);
    pgr_tr_lora(c->in, c->A, c->B, 1.7f, c->mask, c->out, N, ID, OD, R);
    return dotg(c->out, c->G, N * OD);
}
static void test_lora_grad(void)
{
    struct lora_ctx c;
    fill(c.in, sizeof c.in / 4, 1.0f), fill(c.A, sizeof c.A / 4, 0.5f);
    fill(c.B, sizeof c.B / 4, 0.5f), fill(c.base, sizeof c.base / 4, 1.0f);
    fill(c.G, sizeof c.G / 4, 1.0f);
    for (int i = 0; i < N; i++)
        c.mask[i] = i != 1; /* one row unadapted: its input gets no gradient */
    float dA[R * ID] = {0}, dB[OD * R] = {0}, din[N * ID] = {0}, u[R], du[R];
    pgr_tr_lora_bwd(c.in, c.A, c.B, 1.7f, c.mask, c.G, dA, dB, din, N, ID, OD, R, u, du);
    CHECK_INT(fd_check("lora dA", lora_obj, &c, c.A, dA, R * ID, 1e-2f, 2e-3, 1e-2), 0);
    CHECK_INT(fd_check("lora dB", lora_obj, &c, c.B, dB, OD * R, 1e-2f, 2e-3, 1e-2), 0);
    CHECK_INT(fd_check("lora din", lora_obj, &c, c.in, din, N * ID, 1e-2f, 2e-3, 1e-2), 0);
    for (int i = 0; i < ID; i++)
        CHECK(din[ID + i] == 0.0f);
}

struct reft_ctx {
    float h[N * D], R_[R * D], W[R * D], b[R], y[N * D], G[N * D], z[R];
    uint8_t mask[N];
    int loreft;
};
static double reft_obj(void *p)
{
    struct reft_ctx *c = p;
    memcpy(c->y, c->h, sizeof c->y);
    pgr_tr_reft(c->y, c->R_, c->W, c->b, c->loreft, c->mask, N, D, R, c->z);
    return dotg(c->y, c->G, N * D);
}
static void reft_case(int loreft)
{
    struct reft_ctx c;
    c.loreft = loreft;
    fill(c.h, sizeof c.h / 4, 1.0f), fill(c.R_, sizeof c.R_ / 4, 0.5f);
    fill(c.W, sizeof c.W / 4, 0.5f), fill(c.b, R, 0.5f), fill(c.G, sizeof c.G / 4, 1.0f);
    for (int i = 0; i < N; i++)
        c.mask[i] = i != 2;
    float dR[R * D] = {0}, dW[R * D] = {0}, db[R] = {0}, dh[N * D] = {0}, z[R], dz[R];
    pgr_tr_reft_bwd(c.h, c.R_, c.W, c.b, loreft, c.mask, c.G, dR, dW, db, dh, N, D, R, z, dz);
    CHECK_INT(fd_check("reft dR", reft_obj, &c, c.R_, dR, R * D, 1e-2f, 2e-3, 1e-2), 0);
    CHECK_INT(fd_check("reft dW", reft_obj, &c, c.W, dW, R * D, 1e-2f, 2e-3, 1e-2), 0);
    CHECK_INT(fd_check("reft db", reft_obj, &c, c.b, db, R, 1e-2f, 2e-3, 1e-2), 0);
    CHECK_INT(fd_check("reft dh", reft_obj, &c, c.h, dh, N * D, 1e-2f, 2e-3, 1e-2), 0);
}
static void test_loreft_grad(void)
{
    reft_case(1);
}
static void test_direft_grad(void)
{
    reft_case(0);
}

enum { VV = 11 };
struct xent_ctx {
    float l[N * VV];
    int32_t tg[N];
};
static double xent_obj(void *p)
{
    struct xent_ctx *c = p;
    return pgr_tr_xent(c->l, c->tg, NULL, N, VV, 1.0f);
}
static void test_xent_grad(void)
{
    struct xent_ctx c;
    fill(c.l, N * VV, 3.0f);
    for (int i = 0; i < N; i++)
        c.tg[i] = (i * 7) % VV;
    float g[N * VV];
    double l1 = pgr_tr_xent(c.l, c.tg, g, N, VV, 1.0f);
    CHECK_NEAR(l1, xent_obj(&c), 1e-9);
    CHECK_INT(fd_check("xent", xent_obj, &c, c.l, g, N * VV, 1e-2f, 1e-3, 1e-2), 0);
}

/* dx += dy·W against dequantise-then-multiply, for every weight type a model
 * can hold: 32-element blocks with a partial column chunk (96 columns), and
 * k-quants' 256-element super-blocks (512 columns); 70 rows (a partial row
 * tile), 4 tokens (the 3-token pass and its remainder). */
static void test_matmul_t(void)
{
    const int types[7] = {PGR_KT_F32,  PGR_KT_F16,  PGR_KT_Q8_0, PGR_KT_Q4_1,
                          PGR_KT_Q5_0, PGR_KT_Q4_K, PGR_KT_Q6_K};
    const int rows = 70, nt = 4, maxc = 512;
    pgr_kctx *ctx = pgr_kctx_new(2);
    CHECK(ctx);
    float *wf = malloc(sizeof(float) * rows * maxc), *deq = malloc(sizeof(float) * rows * maxc);
    uint8_t *wq = malloc((size_t)rows * maxc * 4);
    float dy[4 * 70], dx[4 * 512], ref[4 * 512];
    int bad = 0;
    fill(wf, (size_t)rows * maxc, 1.0f), fill(dy, sizeof dy / 4, 1.0f);
    for (int ti = 0; ti < 7; ti++) {
        const int cols = pgr_kt_block_elems(types[ti]) > 32 ? 512 : 96;
        size_t rb;
        if (pgr_kt_row_bytes(types[ti], (size_t)cols, &rb) != 0) {
            bad++;
            continue;
        }
        for (int r = 0; r < rows; r++) {
            pgr_quant_row(types[ti], wf + (size_t)r * cols, wq + r * rb, (size_t)cols);
            pgr_dequant_row(types[ti], wq + r * rb, deq + (size_t)r * cols, (size_t)cols);
        }
        pgr_wmat w = {types[ti], rows, cols, rb, wq};
        for (int i = 0; i < nt * cols; i++)
            dx[i] = ref[i] = 0.25f;
        for (int t = 0; t < nt; t++)
            for (int c = 0; c < cols; c++) {
                double s = 0;
                for (int r = 0; r < rows; r++)
                    s += (double)dy[t * rows + r] * deq[(size_t)r * cols + c];
                ref[t * cols + c] += (float)s;
            }
        if (pgr_cpu_matmul_t(ctx, &w, dy, dx, nt) != 0) {
            fprintf(stderr, "    %s: refused\n", pgr_kt_name(types[ti]));
            bad++;
            continue;
        }
        int wrong = 0;
        for (int i = 0; i < nt * cols; i++)
            wrong += !(fabsf(dx[i] - ref[i]) <= 1e-4f + 1e-4f * fabsf(ref[i]));
        if (wrong)
            fprintf(stderr, "    %s: %d of %d wrong\n", pgr_kt_name(types[ti]), wrong, nt * cols);
        bad += wrong;
    }
    free(wf), free(deq), free(wq);
    pgr_kctx_free(ctx);
    CHECK_INT(bad, 0);
}

/* ---- the whole trainer on a tiny model ------------------------------------------------ */
static pgr_model *tiny_dim(int wtype, int dim)
{
    pgr_model_cfg cfg = {.n_layer = 2,
                         .dim = dim,
                         .n_head = 4,
                         .n_kv_head = 2,
                         .head_dim = dim / 4,
                         .ffn_dim = 2 * dim,
                         .vocab = 40,
                         .ctx_len = 128,
                         .rope_theta = 10000.0f,
                         .norm_eps = 1e-5f};
    pgr_model *m = NULL;
    pgr_err err = {0};
    if (pgr_model_new_random(&cfg, wtype, 7, &m, &err) != 0)
        fprintf(stderr, "    tiny model: %s\n", err.msg);
    return m;
}
static pgr_model *tiny(int wtype)
{
    return tiny_dim(wtype, 32);
}

static pgr_adapter *make_adapter(pgr_model *m, int method, const char *targets, int rank,
                                 const char *positions, int random)
{
    pgr_adapter_spec s;
    pgr_err err = {0};
    pgr_adapter *a = NULL;
    pgr_adapter_spec_default(&s, m);
    s.method = method;
    s.rank = rank;
    s.alpha = 2.0f * rank;
    if (pgr_adapter_parse_targets(targets, &s.targets, &err) != 0 ||
        pgr_adapter_parse_positions(positions, &s.pos_first, &s.pos_last, &err) != 0 ||
        (random ? pgr_adapter_new_random(&s, m, 11, &a, &err)
                : pgr_adapter_new_trainable(&s, m, 11, &a, &err)) != 0)
        fprintf(stderr, "    adapter: %s\n", err.msg);
    return a;
}

struct tr_ctx {
    pgr_trainer *t;
    pgr_train_seq s;
};
static double tr_obj(void *p)
{
    struct tr_ctx *c = p;
    double loss;
    int np;
    pgr_err err = {0};
    if (pgr_trainer_loss(c->t, &c->s, 0.0f, &loss, &np, &err) != 0)
        return NAN;
    return loss;
}

/* Every parameter tensor's gradient against finite differences (a spread of
 * coordinates of each). */
static int trainer_fd(pgr_model *m, pgr_adapter *a, int mode, const int32_t *tok, int n, int pl)
{
    pgr_trainer *t = NULL;
    pgr_err err = {0};
    if (pgr_trainer_new(m, a, mode, 32, 1, &t, &err) != 0) {
        fprintf(stderr, "    trainer: %s\n", err.msg);
        return 1;
    }
    struct tr_ctx c = {t, {tok, n, pl}};
    double loss;
    int np, bad = 0;
    if (pgr_trainer_loss(t, &c.s, 1.0f, &loss, &np, &err) != 0) {
        fprintf(stderr, "    loss: %s\n", err.msg);
        pgr_trainer_free(t);
        return 1;
    }
    const pgr_adapter *g = pgr_trainer_grad(t);
    double gsum = 0;
    for (int l = 0; l < a->n_layer; l++) {
        if (a->spec.method == PGR_AD_LORA) {
            for (int s = 0; s < PGR_SITE_RESID; s++) {
                size_t k = (size_t)l * PGR_SITE_COUNT + (size_t)s;
                if (!a->lora_a[k].data)
                    continue;
                pgr_adapter_tensor *A = &a->lora_a[k], *B = &a->lora_b[k];
                char what[64];
                snprintf(what, sizeof what, "L%d %s A", l, pgr_site_name(s));
                bad += fd_check(what, tr_obj, &c, A->data, g->lora_a[k].data,
                                (size_t)A->rows * A->cols, 2e-3f, 2e-3, 3e-2);
                snprintf(what, sizeof what, "L%d %s B", l, pgr_site_name(s));
                bad += fd_check(what, tr_obj, &c, B->data, g->lora_b[k].data,
                                (size_t)B->rows * B->cols, 2e-3f, 2e-3, 3e-2);
                for (size_t i = 0; i < (size_t)B->rows * B->cols; i++)
                    gsum += fabs(g->lora_b[k].data[i]);
            }
        } else if (a->reft_R[l].data) {
            const pgr_adapter_tensor *T3[3] = {&a->reft_R[l], &a->reft_W[l], &a->reft_b[l]};
            const pgr_adapter_tensor *G3[3] = {&g->reft_R[l], &g->reft_W[l], &g->reft_b[l]};
            for (int i = 0; i < 3; i++) {
                char what[64];
                snprintf(what, sizeof what, "L%d reft %d", l, i);
                bad += fd_check(what, tr_obj, &c, T3[i]->data, G3[i]->data,
                                (size_t)T3[i]->rows * T3[i]->cols, 2e-3f, 2e-3, 3e-2);
                for (size_t j = 0; j < (size_t)T3[i]->rows * T3[i]->cols; j++)
                    gsum += fabs(G3[i]->data[j]);
            }
        }
    }
    if (!(gsum > 0)) {
        fprintf(stderr, "    gradient is zero\n");
        bad++;
    }
    pgr_trainer_free(t);
    return bad;
}

static const int32_t seq_tok[12] = {3, 17, 5, 29, 8, 1, 33, 12, 7, 25, 2, 19};

static void test_trainer_grad_lora(void)
{
    pgr_model *m = tiny(PGR_KT_F32);
    CHECK(m);
    pgr_adapter *a = make_adapter(m, PGR_AD_LORA, "q,k,v,o,gate,up,down", 2, "all", 1);
    int bad = a ? trainer_fd(m, a, PGR_AD_PREFILL, seq_tok, 12, 5) +
                      trainer_fd(m, a, PGR_AD_ALL, seq_tok, 12, 5)
                : 1;
    pgr_adapter_free(a);
    pgr_model_free(m);
    CHECK_INT(bad, 0);
}

static void test_trainer_grad_reft(void)
{
    pgr_model *m = tiny(PGR_KT_F32);
    CHECK(m);
    pgr_adapter *lo = make_adapter(m, PGR_AD_LOREFT, "resid", 2, "f2+l2", 1);
    pgr_adapter *di = make_adapter(m, PGR_AD_DIREFT, "resid", 2, "all", 1);
    int bad = lo && di ? trainer_fd(m, lo, PGR_AD_PREFILL, seq_tok, 12, 6) +
                             trainer_fd(m, lo, PGR_AD_ALL, seq_tok, 12, 6) +
                             trainer_fd(m, di, PGR_AD_PREFILL, seq_tok, 12, 6)
                       : 1;
    pgr_adapter_free(lo);
    pgr_adapter_free(di);
    pgr_model_free(m);
    CHECK_INT(bad, 0);
}

/* The trainer's loss equals the loss the inference engine's logits give with
 * the adapter bound through pgr_adapter_set (fp16 K/V cache there). */
static double engine_loss(pgr_model *m, const pgr_adapter *a, int mode, const int32_t *tok, int n,
                          int pl)
{
    pgr_err err = {0};
    pgr_engine *e = NULL;
    pgr_kv *kv = NULL;
    pgr_adapter_set *set = NULL;
    float *lg = NULL;
    double loss = NAN;
    const int V = pgr_model_config(m)->vocab;
    int32_t seqs[32], pos[32];
    uint8_t want[32];
    if (pgr_engine_new(m, NULL, 1, &e, &err) || pgr_kv_new(m, 8, 16, 1, &kv, &err) ||
        pgr_adapter_set_new(m, 1, &set, &err))
        goto cleanup;
    int s = pgr_kv_seq_open(kv, &err);
    if (s < 0 || pgr_adapter_set_bind(set, s, a, mode, pl, &err))
        goto cleanup;
    pgr_hooks h;
    pgr_adapter_set_hooks(set, &h);
    pgr_engine_set_hooks(e, &h);
    for (int i = 0; i < n; i++)
        seqs[i] = s, pos[i] = i, want[i] = i >= pl - 1 && i < n - 1;
    lg = malloc(sizeof(float) * (size_t)n * V);
    pgr_batch b = {n, tok, seqs, pos, want};
    if (!lg || pgr_forward(e, kv, &b, lg, &err))
        goto cleanup;
    loss = pgr_tr_xent(lg, tok + pl, NULL, n - pl, V, 1.0f);
cleanup:
    if (err.msg[0])
        fprintf(stderr, "    engine: %s\n", err.msg);
    free(lg);
    pgr_adapter_set_free(set);
    pgr_kv_free(kv);
    pgr_engine_free(e);
    return loss;
}

static void test_trainer_matches_engine(void)
{
    pgr_model *m = tiny(PGR_KT_Q4_1);
    CHECK(m);
    pgr_adapter *ads[2] = {make_adapter(m, PGR_AD_LORA, "q,k,v,o,gate,up,down", 4, "all", 1),
                           make_adapter(m, PGR_AD_LOREFT, "resid", 4, "f2+l2", 1)};
    int bad = 0;
    for (int i = 0; i < 2; i++)
        for (int mode = 0; mode < 2; mode++) {
            pgr_trainer *t = NULL;
            pgr_err err = {0};
            double loss = 0;
            int np = 0;
            if (!ads[i] || pgr_trainer_new(m, ads[i], mode, 32, 1, &t, &err) ||
                pgr_trainer_loss(t, &(pgr_train_seq){seq_tok, 12, 5}, 0.0f, &loss, &np, &err)) {
                bad++;
                pgr_trainer_free(t);
                continue;
            }
            double ref = engine_loss(m, ads[i], mode, seq_tok, 12, 5);
            if (!(fabs(loss - ref) <= 2e-2 * np)) {
                fprintf(stderr, "    %s %s: trainer %.5f engine %.5f\n",
                        pgr_adapter_method_name(ads[i]->spec.method), pgr_adapter_mode_name(mode),
                        loss, ref);
                bad++;
            }
            pgr_trainer_free(t);
        }
    /* and the base model (no adapter) */
    pgr_trainer *t = NULL;
    pgr_err err = {0};
    double loss = 0;
    int np = 0;
    if (pgr_trainer_new(m, NULL, PGR_AD_ALL, 32, 1, &t, &err) ||
        pgr_trainer_loss(t, &(pgr_train_seq){seq_tok, 12, 5}, 1.0f, &loss, &np, &err))
        bad++;
    else if (!(fabs(loss - engine_loss(m, NULL, PGR_AD_ALL, seq_tok, 12, 5)) <= 2e-2 * np))
        bad++;
    pgr_trainer_free(t);
    pgr_adapter_free(ads[0]);
    pgr_adapter_free(ads[1]);
    pgr_model_free(m);
    CHECK_INT(bad, 0);
}

/* Bad sequences are refused with a message. */
static void test_trainer_rejects(void)
{
    pgr_model *m = tiny(PGR_KT_F32);
    CHECK(m);
    pgr_trainer *t = NULL;
    pgr_err err = {0};
    double loss;
    int np, rc1 = 0, rc2 = 0, rc3 = 0;
    int32_t bad_tok[4] = {1, 2, 999, 3};
    if (pgr_trainer_new(m, NULL, PGR_AD_ALL, 16, 1, &t, &err) == 0) {
        rc1 = pgr_trainer_loss(t, &(pgr_train_seq){seq_tok, 12, 12}, 0, &loss, &np, &err);
        rc2 = pgr_trainer_loss(t, &(pgr_train_seq){bad_tok, 4, 1}, 0, &loss, &np, &err);
        rc3 = pgr_trainer_loss(t, &(pgr_train_seq){seq_tok, 20, 1}, 0, &loss, &np, &err);
    }
    pgr_trainer_free(t);
    pgr_model_free(m);
    CHECK_INT(rc1, -1);
    CHECK_INT(rc2, -1);
    CHECK_INT(rc3, -1);
    CHECK(strstr(err.msg, "training sequence") != NULL);
}

/* A tiny corpus of 3 sequences: adapters learn it (loss near zero); twice
 * with one seed gives bitwise the same adapter. */
enum { PL = 5 };
static double overfit(pgr_model *m, int method, int mode, int steps, pgr_adapter **out,
                      double *first)
{
    static const int32_t corpus[3][10] = {{1, 2, 5, 6, 7, 33, 34, 35, 36, 37},
                                          {1, 3, 5, 6, 7, 23, 24, 25, 26, 27},
                                          {1, 4, 5, 6, 7, 13, 14, 15, 16, 17}};
    pgr_adapter *a = method == PGR_AD_LORA
                         ? make_adapter(m, method, "q,k,v,o,gate,up,down", 8, "all", 0)
                         : make_adapter(m, method, "resid", 8, "all", 0);
    pgr_trainer *t = NULL;
    pgr_err err = {0};
    double last = NAN;
    *out = a;
    if (!a || pgr_trainer_new(m, a, mode, 16, 1, &t, &err) != 0)
        return NAN;
    pgr_train_opts o;
    pgr_train_opts_default(&o, method, steps);
    o.lr = 2e-2f;
    o.weight_decay = 0;
    for (int step = 0; step < steps; step++) {
        double sum = 0;
        int cnt = 0;
        for (int i = 0; i < 3; i++) {
            double l;
            int np;
            if (pgr_trainer_loss(t, &(pgr_train_seq){corpus[i], 10, PL}, 1.0f / (3 * (10 - PL)), &l,
                                 &np, &err) != 0)
                goto done;
            sum += l, cnt += np;
        }
        if (step == 0)
            *first = sum / cnt;
        last = sum / cnt;
        pgr_trainer_step(t, &o, step, NULL);
    }
done:
    pgr_trainer_free(t);
    return last;
}

static void test_overfit(void)
{
    pgr_model *m = tiny_dim(PGR_KT_Q4_1, 64);
    CHECK(m);
    const int methods[3] = {PGR_AD_LORA, PGR_AD_LOREFT, PGR_AD_DIREFT};
    int bad = 0;
    for (int i = 0; i < 3; i++)
        for (int mode = 0; mode < 2; mode++) {
            pgr_adapter *a = NULL, *b = NULL;
            double f0 = 0, f1 = 0;
            double l = overfit(m, methods[i], mode, 150, &a, &f0);
            fprintf(stderr, "    overfit %s %s: %.3f -> %.4f\n",
                    pgr_adapter_method_name(methods[i]), pgr_adapter_mode_name(mode), f0, l);
            /* near zero where the adapter sees every token, and for LoRA in
             * prefill mode; prefill ReFT in a 2-layer model can only reach the
             * continuation through layer 1's keys and values (the last
             * layer's intervention changes only the last prompt token), so
             * it is held to a large drop instead */
            const int reft_prefill = methods[i] != PGR_AD_LORA && mode == PGR_AD_PREFILL;
            if (!(f0 > 2.0 && (reft_prefill ? l < 0.3 * f0 : l < 0.1)))
                bad++;
            if (i == 0 && mode == 0) { /* determinism */
                double l2 = overfit(m, methods[i], mode, 150, &b, &f1);
                size_t k = (size_t)1 * PGR_SITE_COUNT + PGR_SITE_UP;
                if (l2 != l || !b ||
                    memcmp(a->lora_b[k].data, b->lora_b[k].data,
                           sizeof(float) * (size_t)a->lora_b[k].rows * a->lora_b[k].cols) != 0)
                    bad++;
            }
            pgr_adapter_free(a);
            pgr_adapter_free(b);
        }
    pgr_model_free(m);
    CHECK_INT(bad, 0);
}

static void test_schedule(void)
{
    pgr_train_opts o;
    pgr_train_opts_default(&o, PGR_AD_LORA, 100);
    CHECK_INT(o.warmup, 10);
    CHECK_NEAR(pgr_train_lr(&o, 0), o.lr / 10, 1e-9);
    CHECK_NEAR(pgr_train_lr(&o, 9), o.lr, 1e-9);
    CHECK_NEAR(pgr_train_lr(&o, 10), o.lr, 1e-9);
    CHECK_NEAR(pgr_train_lr(&o, 99), o.lr * o.min_lr_frac, 1e-9);
    CHECK(pgr_train_lr(&o, 50) < o.lr && pgr_train_lr(&o, 50) > o.lr * o.min_lr_frac);
}

int main(void)
{
    RUN(test_rmsnorm_grad);
    RUN(test_swiglu_grad);
    RUN(test_rope_grad);
    RUN(test_attention_grad);
    RUN(test_lora_grad);
    RUN(test_loreft_grad);
    RUN(test_direft_grad);
    RUN(test_xent_grad);
    RUN(test_matmul_t);
    RUN(test_trainer_grad_lora);
    RUN(test_trainer_grad_reft);
    RUN(test_trainer_matches_engine);
    RUN(test_trainer_rejects);
    RUN(test_overfit);
    RUN(test_schedule);
    return check_summary("test_train");
}
