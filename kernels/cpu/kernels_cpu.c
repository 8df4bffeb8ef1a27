/* The two CPU tables: "ref" (scalar, one thread: the oracle) and "cpu" (AVX2
 * row kernels when available, blocked multi-token matmul, threads). The op
 * semantics follow llama.cpp's CPU graph for llama models so that our logits
 * can be compared with its logits: q is rounded to fp16 before q.k (ggml
 * multiplies by the fp16 cache in fp16), softmax probabilities are rounded to
 * fp16 before p.v, sums of squares and softmax sums are kept in double. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph/util.h"
#include "kernels/cpu/cpu_impl.h"

static int g_force_portable;

void pgr_kernels_cpu_force_portable(int on) { g_force_portable = on; }
int pgr_use_avx2(void)
{
    static int has = -1;
    if (has < 0)
        has = pgr_cpu_has_avx2();
    return has && !g_force_portable;
}
const char *pgr_kernels_cpu_isa(void) { return pgr_use_avx2() ? "avx2" : "portable"; }

/* ---- context ---------------------------------------------------------------- */
pgr_kctx *pgr_kctx_new(int n_threads)
{
    pgr_kctx *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->pool = pgr_pool_new(n_threads);
    if (!c->pool) {
        free(c);
        return NULL;
    }
    return c;
}

void pgr_kctx_free(pgr_kctx *ctx)
{
    if (!ctx)
        return;
    pgr_pool_free(ctx->pool);
    free(ctx->scratch);
    free(ctx->fscratch);
    free(ctx);
}

int pgr_kctx_threads(const pgr_kctx *ctx) { return pgr_pool_threads(ctx->pool); }

void *pgr_kctx_scratch(pgr_kctx *ctx, size_t n)
{
    if (n <= ctx->scratch_cap)
        return ctx->scratch;
    size_t cap = n + n / 4 + 64;
    cap = (cap + 63) & ~(size_t)63;
    void *p = aligned_alloc(64, cap);
    if (!p)
        return NULL;
    free(ctx->scratch);
    ctx->scratch = p;
    ctx->scratch_cap = cap;
    return p;
}

float *pgr_kctx_fscratch(pgr_kctx *ctx, size_t per_thread)
{
    if (per_thread <= ctx->fscratch_cap)
        return ctx->fscratch;
    size_t total;
    if (!pgr_mul_ok(per_thread, (size_t)pgr_kctx_threads(ctx), &total) ||
        !pgr_mul_ok(total, sizeof(float), &total))
        return NULL;
    float *p = malloc(total);
    if (!p)
        return NULL;
    free(ctx->fscratch);
    ctx->fscratch = p;
    ctx->fscratch_cap = per_thread;
    return p;
}

static int supports(int type)
{
    pgr_type_ops ops;
    pgr_type_ops_ref(type, &ops);
    return ops.dot != NULL;
}

/* ---- reference ops ---------------------------------------------------------- */
static void ref_matmul(pgr_kctx *ctx, int n_mats, const pgr_wmat *const *w, const float *x,
                       float *const *y, int n_tok)
{
    for (int i = 0; i < n_mats; i++) {
        pgr_type_ops ops;
        pgr_type_ops_ref(w[i]->type, &ops);
        size_t arb = 0;
        pgr_kt_row_bytes(ops.act_type, (size_t)w[i]->cols, &arb);
        uint8_t *act = pgr_kctx_scratch(ctx, arb);
        if (!act || !ops.dot)
            abort(); /* the model checks types and sizes before any call */
        for (int t = 0; t < n_tok; t++) {
            ops.quant(x + (size_t)t * w[i]->cols, act, (size_t)w[i]->cols);
            for (int r = 0; r < w[i]->rows; r++)
                y[i][(size_t)t * w[i]->rows + r] =
                    ops.dot((const uint8_t *)w[i]->data + (size_t)r * w[i]->row_bytes, act,
                            (size_t)w[i]->cols);
        }
    }
}

void pgr_ref_rmsnorm(pgr_kctx *ctx, const float *x, const float *w, float *out, int n_tok,
                     int dim, float eps)
{
    (void)ctx;
    for (int t = 0; t < n_tok; t++) {
        const float *xr = x + (size_t)t * dim;
        float *o = out + (size_t)t * dim;
        double sum = 0;
        for (int i = 0; i < dim; i++)
            sum += (double)(xr[i] * xr[i]);
        const float mean = (float)(sum / dim);
        const float scale = 1.0f / sqrtf(mean + eps);
        for (int i = 0; i < dim; i++)
            o[i] = (xr[i] * scale) * w[i];
    }
}

void pgr_ref_rope(pgr_kctx *ctx, float *x, const int32_t *pos, int n_tok, int n_heads,
                  int head_dim, float theta_base)
{
    (void)ctx;
    /* theta for pair i is pos * base^(-2i/d), built by repeated multiplication
     * in float as ggml does (bitwise the same angles as llama.cpp). */
    const float theta_scale = powf(theta_base, -2.0f / (float)head_dim);
    for (int t = 0; t < n_tok; t++) {
        float theta = (float)pos[t];
        for (int i = 0; i < head_dim; i += 2) {
            const float c = cosf(theta), s = sinf(theta);
            for (int h = 0; h < n_heads; h++) {
                float *p = x + ((size_t)t * n_heads + h) * head_dim + i;
                const float x0 = p[0], x1 = p[1];
                p[0] = x0 * c - x1 * s;
                p[1] = x0 * s + x1 * c;
            }
            theta *= theta_scale;
        }
    }
}

void pgr_ref_kv_store(pgr_kctx *ctx, uint16_t *kcache, uint16_t *vcache, const float *k,
                      const float *v, int n_tok, const int32_t *pos,
                      const int32_t *const *block_table, int block_size, int kv_dim)
{
    (void)ctx;
    for (int t = 0; t < n_tok; t++) {
        size_t slot = (size_t)block_table[t][pos[t] / block_size] * (size_t)block_size +
                      (size_t)(pos[t] % block_size);
        for (int i = 0; i < kv_dim; i++) {
            kcache[slot * kv_dim + i] = pgr_f32_to_f16(k[(size_t)t * kv_dim + i]);
            vcache[slot * kv_dim + i] = pgr_f32_to_f16(v[(size_t)t * kv_dim + i]);
        }
    }
}

static inline const uint16_t *kv_at(const uint16_t *cache, const int32_t *table, int p,
                                    int block_size, int kv_dim, int kvh, int head_dim)
{
    size_t slot = (size_t)table[p / block_size] * (size_t)block_size + (size_t)(p % block_size);
    return cache + slot * (size_t)kv_dim + (size_t)kvh * head_dim;
}

/* One (token, head): scores over positions 0..pos, softmax, weighted sum of v.
 * s is scratch of pos+1 + 2*head_dim floats. */
static void attn_one(const float *q, float *out, int pos, const int32_t *table,
                     const uint16_t *kcache, const uint16_t *vcache, int block_size, int kv_dim,
                     int kvh, int head_dim, float scale, float *s)
{
    float *q16 = s + pos + 1, *acc = q16 + head_dim;
    for (int i = 0; i < head_dim; i++)
        q16[i] = pgr_f16_to_f32(pgr_f32_to_f16(q[i]));
    float mx = -INFINITY;
    for (int p = 0; p <= pos; p++) {
        const uint16_t *k = kv_at(kcache, table, p, block_size, kv_dim, kvh, head_dim);
        float d = 0;
        for (int i = 0; i < head_dim; i++)
            d += q16[i] * pgr_f16_to_f32(k[i]);
        s[p] = d * scale;
        if (s[p] > mx)
            mx = s[p];
    }
    double sum = 0;
    for (int p = 0; p <= pos; p++) {
        s[p] = expf(s[p] - mx);
        sum += s[p];
    }
    const float inv = (float)(1.0 / sum);
    for (int i = 0; i < head_dim; i++)
        acc[i] = 0;
    for (int p = 0; p <= pos; p++) {
        const float pr = pgr_f16_to_f32(pgr_f32_to_f16(s[p] * inv));
        const uint16_t *v = kv_at(vcache, table, p, block_size, kv_dim, kvh, head_dim);
        for (int i = 0; i < head_dim; i++)
            acc[i] += pr * pgr_f16_to_f32(v[i]);
    }
    memcpy(out, acc, (size_t)head_dim * sizeof(float));
}

static int max_pos(const int32_t *pos, int n_tok)
{
    int m = 0;
    for (int t = 0; t < n_tok; t++)
        if (pos[t] > m)
            m = pos[t];
    return m;
}

static void ref_attention(pgr_kctx *ctx, const float *q, float *out, int n_tok,
                          const int32_t *pos, const int32_t *const *block_table,
                          const uint16_t *kcache, const uint16_t *vcache, int block_size,
                          int n_head, int n_kv_head, int head_dim, float scale)
{
    float *s = pgr_kctx_fscratch(ctx, (size_t)max_pos(pos, n_tok) + 1 + 2 * (size_t)head_dim);
    if (!s)
        abort();
    const int kv_dim = n_kv_head * head_dim, group = n_head / n_kv_head;
    for (int t = 0; t < n_tok; t++)
        for (int h = 0; h < n_head; h++)
            attn_one(q + ((size_t)t * n_head + h) * head_dim,
                     out + ((size_t)t * n_head + h) * head_dim, pos[t], block_table[t], kcache,
                     vcache, block_size, kv_dim, h / group, head_dim, scale, s);
}

static void ref_swiglu(pgr_kctx *ctx, const float *gate, const float *up, float *out, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) {
        const float g = gate[i];
        out[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

void pgr_ref_softmax(pgr_kctx *ctx, float *x, size_t n)
{
    (void)ctx;
    float mx = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (x[i] > mx)
            mx = x[i];
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - mx);
        sum += x[i];
    }
    const float inv = (float)(1.0 / sum);
    for (size_t i = 0; i < n; i++)
        x[i] *= inv;
}

void pgr_ref_embed(pgr_kctx *ctx, const pgr_wmat *w, const int32_t *tokens, float *out, int n_tok)
{
    (void)ctx;
    for (int t = 0; t < n_tok; t++)
        if (pgr_dequant_row(w->type, (const uint8_t *)w->data + (size_t)tokens[t] * w->row_bytes,
                            out + (size_t)t * w->cols, (size_t)w->cols) != 0)
            abort(); /* the model checks types before any call */
}

/* ---- fast matmul -------------------------------------------------------------
 * Phase 1 converts the activations once per distinct activation type (one
 * chunk per token); phase 2 hands out (matrix, 32-row block, 64-token block)
 * chunks, so a thread that the shared machine slows down does less of the
 * work instead of holding everyone up. A 32-row Q4_1
 * block of a 1536-wide matrix is 30 KiB (L1/L2) and 64 tokens of Q8_1
 * activations 110 KiB (L2): each weight block is reused 64 times from cache. */
#define MM_MAX 8
#define MM_RB 32
#define MM_TB 64

struct mm_job {
    int n_mats, n_tok;
    const pgr_wmat *const *w;
    const float *x;
    float *const *y;
    pgr_type_ops ops[MM_MAX];
    pgr_gemm_fn gemm[MM_MAX];
    uint8_t *act[MM_MAX]; /* (n_tok, arb[i]) */
    size_t arb[MM_MAX];
    int owner[MM_MAX]; /* first matrix with the same activation type: who quantises */
    int chunk_start[MM_MAX + 1];
};

static void mm_quant_task(void *arg, int t, int ith)
{
    (void)ith;
    struct mm_job *j = arg;
    for (int i = 0; i < j->n_mats; i++) {
        if (j->owner[i] != i)
            continue;
        const int cols = j->w[i]->cols;
        j->ops[i].quant(j->x + (size_t)t * cols, j->act[i] + (size_t)t * j->arb[i], (size_t)cols);
    }
}

static void mm_task(void *arg, int c, int ith)
{
    (void)ith;
    struct mm_job *j = arg;
    const int tblocks = (j->n_tok + MM_TB - 1) / MM_TB;
    int i = 0;
    while (c >= j->chunk_start[i + 1])
        i++;
    int local = c - j->chunk_start[i];
    const pgr_wmat *w = j->w[i];
    int r0 = (local / tblocks) * MM_RB, t0 = (local % tblocks) * MM_TB;
    int r1 = r0 + MM_RB < w->rows ? r0 + MM_RB : w->rows;
    int nt = t0 + MM_TB < j->n_tok ? MM_TB : j->n_tok - t0;
    const uint8_t *a = j->act[i] + (size_t)t0 * j->arb[i];
    float *y = j->y[i] + (size_t)t0 * w->rows;
    if (j->gemm[i]) {
        j->gemm[i](w->data, w->row_bytes, r0, r1, a, j->arb[i], nt, y, (size_t)w->rows,
                   (size_t)w->cols);
        return;
    }
    for (int r = r0; r < r1; r++) {
        const uint8_t *wr = (const uint8_t *)w->data + (size_t)r * w->row_bytes;
        for (int t = 0; t < nt; t++)
            y[(size_t)t * w->rows + r] = j->ops[i].dot(wr, a + (size_t)t * j->arb[i], (size_t)w->cols);
    }
}

static void cpu_matmul(pgr_kctx *ctx, int n_mats, const pgr_wmat *const *w, const float *x,
                       float *const *y, int n_tok)
{
    if (n_mats > MM_MAX) { /* split: callers pass at most 3 in practice */
        cpu_matmul(ctx, MM_MAX, w, x, y, n_tok);
        cpu_matmul(ctx, n_mats - MM_MAX, w + MM_MAX, x, y + MM_MAX, n_tok);
        return;
    }
    struct mm_job j;
    memset(&j, 0, sizeof j);
    j.n_mats = n_mats;
    j.n_tok = n_tok;
    j.w = w;
    j.x = x;
    j.y = y;
    size_t total = 0, off[MM_MAX];
    for (int i = 0; i < n_mats; i++) {
        pgr_type_ops_fast(w[i]->type, &j.ops[i]);
        if (!j.ops[i].dot || pgr_kt_row_bytes(j.ops[i].act_type, (size_t)w[i]->cols, &j.arb[i]))
            abort(); /* the model checks types and sizes before any call */
        /* one token: dot per row (several rows per pass measured slower here) */
        j.gemm[i] = n_tok > 1 ? pgr_gemm_fast(w[i]->type) : NULL;
        j.owner[i] = i;
        for (int k = 0; k < i; k++)
            if (j.ops[k].act_type == j.ops[i].act_type && w[k]->cols == w[i]->cols) {
                j.owner[i] = k;
                break;
            }
        if (j.owner[i] == i) {
            off[i] = total;
            total += ((size_t)n_tok * j.arb[i] + 63) & ~(size_t)63;
        }
        int rblocks = (w[i]->rows + MM_RB - 1) / MM_RB, tblocks = (n_tok + MM_TB - 1) / MM_TB;
        j.chunk_start[i + 1] = j.chunk_start[i] + rblocks * tblocks;
    }
    uint8_t *buf = pgr_kctx_scratch(ctx, total);
    if (!buf)
        abort();
    for (int i = 0; i < n_mats; i++)
        j.act[i] = buf + off[j.owner[i]];
    pgr_pool_run(ctx->pool, mm_quant_task, &j, n_tok);
    pgr_pool_run(ctx->pool, mm_task, &j, j.chunk_start[n_mats]);
}

/* ---- fast attention: (token, head) pairs handed out from a counter ---------- */
struct attn_job {
    const float *q;
    float *out;
    const int32_t *pos;
    const int32_t *const *table;
    const uint8_t *single; /* (n_tok) only token of its sequence in the batch */
    const uint16_t *kc, *vc;
    int n_tok, block_size, n_head, group, kv_dim, head_dim, fast;
    float scale;
    float *scratch;
    size_t per_thread;
};

static void attn_task(void *arg, int c, int ith)
{
    struct attn_job *j = arg;
    float *s = j->scratch + (size_t)ith * j->per_thread;
    int t = c / j->n_head, h = c % j->n_head;
    if (j->fast)
        pgr_avx2_attn(j->q + (size_t)c * j->head_dim, j->out + (size_t)c * j->head_dim, j->pos[t],
                      j->table[t], j->kc, j->vc, j->block_size, j->kv_dim, h / j->group,
                      j->head_dim, j->scale, s, j->single[t]);
    else
        attn_one(j->q + (size_t)c * j->head_dim, j->out + (size_t)c * j->head_dim, j->pos[t],
                 j->table[t], j->kc, j->vc, j->block_size, j->kv_dim, h / j->group, j->head_dim,
                 j->scale, s);
}

struct tok_ref {
    const int32_t *table;
    int t;
};
static int tok_ref_cmp(const void *a, const void *b)
{
    const struct tok_ref *x = a, *y = b;
    if (x->table != y->table)
        return x->table < y->table ? -1 : 1;
    return x->t - y->t;
}

static void cpu_attention(pgr_kctx *ctx, const float *q, float *out, int n_tok,
                          const int32_t *pos, const int32_t *const *block_table,
                          const uint16_t *kcache, const uint16_t *vcache, int block_size,
                          int n_head, int n_kv_head, int head_dim, float scale)
{
    struct attn_job j;
    memset(&j, 0, sizeof j);
    j.fast = pgr_use_avx2() && head_dim % 32 == 0;
    const size_t npad = ((size_t)max_pos(pos, n_tok) + 1 + 7) & ~(size_t)7;
    j.per_thread = j.fast ? npad + 33 * (size_t)head_dim : npad + 2 * (size_t)head_dim;
    j.scratch = pgr_kctx_fscratch(ctx, j.per_thread);
    /* which tokens are alone in their sequence (tokens of one sequence share
     * its block table): they get llama.cpp's one-token (decode) sums */
    uint8_t *single = malloc((size_t)n_tok);
    struct tok_ref *refs = malloc(sizeof *refs * (size_t)n_tok);
    if (!j.scratch || !single || !refs)
        abort();
    for (int t = 0; t < n_tok; t++)
        refs[t].table = block_table[t], refs[t].t = t;
    qsort(refs, (size_t)n_tok, sizeof *refs, tok_ref_cmp);
    for (int i = 0; i < n_tok; i++)
        single[refs[i].t] = (i == 0 || refs[i - 1].table != refs[i].table) &&
                            (i == n_tok - 1 || refs[i + 1].table != refs[i].table);
    free(refs);
    j.per_thread = ctx->fscratch_cap;
    j.q = q;
    j.out = out;
    j.pos = pos;
    j.table = block_table;
    j.single = single;
    j.kc = kcache;
    j.vc = vcache;
    j.n_tok = n_tok;
    j.block_size = block_size;
    j.n_head = n_head;
    j.group = n_head / n_kv_head;
    j.kv_dim = n_kv_head * head_dim;
    j.head_dim = head_dim;
    j.scale = scale;
    pgr_pool_run(ctx->pool, attn_task, &j, n_tok * n_head);
    free(single);
}

static void cpu_rope(pgr_kctx *ctx, float *x, const int32_t *pos, int n_tok, int n_heads,
                     int head_dim, float theta_base)
{
    if (pgr_use_avx2())
        pgr_avx2_rope(x, pos, n_tok, n_heads, head_dim, theta_base);
    else
        pgr_ref_rope(ctx, x, pos, n_tok, n_heads, head_dim, theta_base);
}

static void cpu_swiglu(pgr_kctx *ctx, const float *gate, const float *up, float *out, size_t n)
{
    if (pgr_use_avx2())
        pgr_avx2_swiglu(gate, up, out, n);
    else
        ref_swiglu(ctx, gate, up, out, n);
}

static const pgr_kernels ref_table = {
    .name = "ref",
    .supports = supports,
    .matmul = ref_matmul,
    .rmsnorm = pgr_ref_rmsnorm,
    .rope = pgr_ref_rope,
    .kv_store = pgr_ref_kv_store,
    .attention = ref_attention,
    .swiglu = ref_swiglu,
    .softmax = pgr_ref_softmax,
    .embed = pgr_ref_embed,
    .sgmv = pgr_ref_sgmv,
};

static const pgr_kernels cpu_table = {
    .name = "cpu",
    .supports = supports,
    .matmul = cpu_matmul,
    .rmsnorm = pgr_ref_rmsnorm,
    .rope = cpu_rope,
    .kv_store = pgr_ref_kv_store,
    .attention = cpu_attention,
    .swiglu = cpu_swiglu,
    .softmax = pgr_ref_softmax,
    .embed = pgr_ref_embed,
    .sgmv = pgr_cpu_sgmv,
};

const pgr_kernels *pgr_kernels_ref(void) { return &ref_table; }
const pgr_kernels *pgr_kernels_cpu(void) { return &cpu_table; }
