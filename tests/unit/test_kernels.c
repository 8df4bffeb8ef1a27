/* Every fast CPU kernel against the scalar reference (kernels/cpu "ref"
 * table) on random inputs of the model's shapes, both on the AVX2 path and on
 * the forced portable path, one and two threads; outputs are surrounded by
 * sentinel floats that must survive. Tolerance: |fast - ref| <= abs + rel*|ref|. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "kernels/kernels.h"

#define SENT 8
static const float SENTINEL = -12345.678f;

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static float frand(void) /* uniform in [-1, 1) */
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 40) & 0xffffff) / 8388608.0f - 1.0f;
}

/* buffer of n floats with SENT sentinels on each side; returns the inside */
static float *guarded(size_t n)
{
    float *p = malloc((n + 2 * SENT) * sizeof(float));
    for (size_t i = 0; i < n + 2 * SENT; i++)
        p[i] = SENTINEL;
    return p + SENT;
}
static int guards_ok(const float *p, size_t n)
{
    for (int i = 1; i <= SENT; i++)
        if (p[-i] != SENTINEL || p[n + i - 1] != SENTINEL)
            return 0;
    return 1;
}
static void guarded_free(float *p) { free(p - SENT); }

/* llm.c-style comparison: reports NaN/inf and the first few mismatches. */
static int close_enough(const char *what, const float *ref, const float *got, size_t n,
                        double abs_tol, double rel_tol)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        double tol = abs_tol + rel_tol * fabs(ref[i]);
        if (!isfinite(got[i]) || !isfinite(ref[i]) || fabs(got[i] - ref[i]) > tol) {
            if (bad < 5)
                fprintf(stderr, "    %s[%zu]: ref %.7g got %.7g (tol %.3g)\n", what, i, ref[i],
                        got[i], tol);
            bad++;
        }
    }
    if (bad)
        fprintf(stderr, "    %s: %d of %zu mismatches\n", what, bad, n);
    return bad == 0;
}

static void fill(float *x, size_t n, float scale)
{
    for (size_t i = 0; i < n; i++)
        x[i] = frand() * scale;
}

static void test_fp16_conversion(void)
{
    /* every half round-trips through float exactly (NaNs stay NaN) */
    for (uint32_t h = 0; h < 65536; h++) {
        float f = pgr_f16_to_f32((uint16_t)h);
        if (isnan(f))
            continue;
        CHECK_MSG(pgr_f32_to_f16(f) == h, "half 0x%04x -> %g -> 0x%04x", h, f, pgr_f32_to_f16(f));
    }
    CHECK(pgr_f32_to_f16(1.0f) == 0x3c00);
    CHECK(pgr_f32_to_f16(65520.0f) == 0x7c00);                 /* rounds up to inf */
    CHECK(pgr_f32_to_f16(1.0f + 1.0f / 2048) == 0x3c00);       /* tie -> even */
    CHECK(pgr_f32_to_f16(1.0f + 3.0f / 2048) == 0x3c02);       /* tie -> even (up) */
    CHECK(pgr_f16_to_f32(0x0001) == ldexpf(1.0f, -24));        /* smallest subnormal */
    CHECK(pgr_bf16_to_f32(pgr_f32_to_bf16(3.140625f)) == 3.140625f);
}

static void test_quant_roundtrip(void)
{
    const int types[] = {PGR_KT_Q4_0, PGR_KT_Q4_1, PGR_KT_Q8_0, PGR_KT_F16, PGR_KT_BF16};
    const double tol[] = {0.15, 0.07, 0.01, 1e-3, 1e-2};
    float x[256], y[256];
    uint8_t buf[2048];
    fill(x, 256, 1.0f);
    for (size_t k = 0; k < sizeof types / sizeof *types; k++) {
        CHECK(pgr_quant_row(types[k], x, buf, 256) == 0);
        CHECK(pgr_dequant_row(types[k], buf, y, 256) == 0);
        CHECK_MSG(close_enough(pgr_kt_name(types[k]), x, y, 256, tol[k], 0), "%s round trip",
                  pgr_kt_name(types[k]));
    }
    CHECK(pgr_quant_row(PGR_KT_Q4_1, x, buf, 33) == -1); /* not a multiple of 32 */
    size_t rb;
    CHECK(pgr_kt_row_bytes(PGR_KT_Q4_1, 576, &rb) == 0 && rb == 360);
    CHECK(pgr_kt_row_bytes(PGR_KT_Q4_1, 577, &rb) == -1);
    CHECK(pgr_kt_row_bytes(99, 64, &rb) == -1);
    CHECK(pgr_kt_row_bytes(PGR_KT_F32, SIZE_MAX / 2, &rb) == -1); /* overflow */
}

/* ref vs cpu matmul for one weight type over several token counts */
static int matmul_case(int type, int rows, int cols, int n_tok, int threads)
{
    int ok = 1;
    size_t rb;
    if (pgr_kt_row_bytes(type, (size_t)cols, &rb))
        return 0;
    uint8_t *wd = malloc(rb * (size_t)rows);
    float *row = malloc((size_t)cols * sizeof(float));
    for (int r = 0; r < rows; r++) {
        fill(row, (size_t)cols, 0.5f);
        pgr_quant_row(type, row, wd + (size_t)r * rb, (size_t)cols);
    }
    pgr_wmat w = {.type = type, .rows = rows, .cols = cols, .row_bytes = rb, .data = wd};
    pgr_wmat w2 = w;
    w2.rows = rows / 3 + 1; /* a second, smaller matrix sharing x (like k after q) */
    float *x = malloc((size_t)n_tok * cols * sizeof(float));
    fill(x, (size_t)n_tok * cols, 2.0f);
    size_t n1 = (size_t)n_tok * rows, n2 = (size_t)n_tok * w2.rows;
    float *yr1 = guarded(n1), *yr2 = guarded(n2), *yf1 = guarded(n1), *yf2 = guarded(n2);
    const pgr_wmat *ws[2] = {&w, &w2};
    float *yr[2] = {yr1, yr2}, *yf[2] = {yf1, yf2};
    pgr_kctx *c1 = pgr_kctx_new(1), *cn = pgr_kctx_new(threads);
    pgr_kernels_ref()->matmul(c1, 2, ws, x, yr, n_tok);
    pgr_kernels_cpu()->matmul(cn, 2, ws, x, yf, n_tok);
    char what[64];
    snprintf(what, sizeof what, "%s %dx%d n_tok=%d %s", pgr_kt_name(type), rows, cols, n_tok,
             pgr_kernels_cpu_isa());
    ok &= close_enough(what, yr1, yf1, n1, 2e-3, 1e-4);
    ok &= close_enough(what, yr2, yf2, n2, 2e-3, 1e-4);
    if (!guards_ok(yf1, n1) || !guards_ok(yf2, n2) || !guards_ok(yr1, n1)) {
        fprintf(stderr, "    %s: sentinel overwritten\n", what);
        ok = 0;
    }
    pgr_kctx_free(c1);
    pgr_kctx_free(cn);
    guarded_free(yr1);
    guarded_free(yr2);
    guarded_free(yf1);
    guarded_free(yf2);
    free(x);
    free(row);
    free(wd);
    return ok;
}

static void test_matmul_all_types(void)
{
    const int types[] = {PGR_KT_F32, PGR_KT_F16, PGR_KT_BF16, PGR_KT_Q4_0, PGR_KT_Q4_1, PGR_KT_Q8_0};
    const int ntoks[] = {1, 3, 4, 9, 70};
    for (int portable = 0; portable <= 1; portable++) {
        pgr_kernels_cpu_force_portable(portable);
        for (size_t k = 0; k < sizeof types / sizeof *types; k++)
            for (size_t n = 0; n < sizeof ntoks / sizeof *ntoks; n++)
                CHECK_MSG(matmul_case(types[k], 99, 576, ntoks[n], 1 + (int)(n % 2)),
                          "matmul %s n_tok=%d portable=%d", pgr_kt_name(types[k]), ntoks[n],
                          portable);
    }
    pgr_kernels_cpu_force_portable(0);
    /* the model's real shapes: ffn_down (576 x 1536) and q over a prefill chunk */
    CHECK(matmul_case(PGR_KT_Q4_1, 576, 1536, 37, 2));
    CHECK(matmul_case(PGR_KT_Q8_0, 300, 576, 2, 2));
}

/* paged cache with a shuffled block table: fast attention == reference */
static void test_attention_paged(void)
{
    const int n_head = 9, n_kv = 3, hd = 64, bs = 16, n_blocks = 24, kv_dim = n_kv * hd;
    const int n_tok = 40; /* two sequences: 25 prompt tokens of A, 15 of B */
    uint16_t *kc = calloc((size_t)n_blocks * bs * kv_dim, 2);
    uint16_t *vc = calloc((size_t)n_blocks * bs * kv_dim, 2);
    int32_t tabA[4] = {7, 2, 19, 5}, tabB[4] = {11, 0, 23, 3};
    const int32_t *tables[40];
    int32_t pos[40];
    for (int t = 0; t < n_tok; t++) {
        tables[t] = t < 25 ? tabA : tabB;
        pos[t] = t < 25 ? t + 30 : t - 25 + 10; /* A continues at 30, B at 10 */
    }
    /* fill the earlier positions too (as if cached by a previous step) */
    float *k = malloc(sizeof(float) * 64 * kv_dim), *v = malloc(sizeof(float) * 64 * kv_dim);
    int32_t p0[64];
    const int32_t *t0[64];
    for (int i = 0; i < 64; i++) {
        p0[i] = i % 32;
        t0[i] = i < 32 ? tabA : tabB;
    }
    fill(k, 64 * (size_t)kv_dim, 1.0f);
    fill(v, 64 * (size_t)kv_dim, 1.0f);
    pgr_kctx *c1 = pgr_kctx_new(1), *c2 = pgr_kctx_new(2);
    pgr_kernels_ref()->kv_store(c1, kc, vc, k, v, 64, p0, t0, bs, kv_dim);
    float *kn = malloc(sizeof(float) * n_tok * kv_dim), *vn = malloc(sizeof(float) * n_tok * kv_dim);
    fill(kn, (size_t)n_tok * kv_dim, 1.0f);
    fill(vn, (size_t)n_tok * kv_dim, 1.0f);
    pgr_kernels_cpu()->kv_store(c2, kc, vc, kn, vn, n_tok, pos, tables, bs, kv_dim);
    float *q = malloc(sizeof(float) * n_tok * n_head * hd);
    fill(q, (size_t)n_tok * n_head * hd, 3.0f);
    size_t no = (size_t)n_tok * n_head * hd;
    float *yr = guarded(no), *yf = guarded(no);
    const float scale = 0.125f;
    pgr_kernels_ref()->attention(c1, q, yr, n_tok, pos, tables, kc, vc, bs, n_head, n_kv, hd, scale);
    pgr_kernels_cpu()->attention(c2, q, yf, n_tok, pos, tables, kc, vc, bs, n_head, n_kv, hd, scale);
    CHECK(close_enough("attention", yr, yf, no, 1e-4, 1e-4));
    CHECK(guards_ok(yf, no) && guards_ok(yr, no));
    /* position 0 attends to itself only: output is its own v (rounded to fp16) */
    int32_t pz = 0;
    const int32_t *tz[1] = {tabB};
    float one[9 * 64];
    pgr_kernels_cpu()->attention(c2, q, one, 1, &pz, tz, kc, vc, bs, n_head, n_kv, hd, scale);
    /* B's position 0 was last written by the batch above? no: by p0 (i=32) */
    for (int i = 0; i < hd; i++)
        CHECK_NEAR(one[i], pgr_f16_to_f32(pgr_f32_to_f16(v[32 * kv_dim + i])), 1e-6);
    pgr_kctx_free(c1);
    pgr_kctx_free(c2);
    guarded_free(yr);
    guarded_free(yf);
    free(q), free(k), free(v), free(kn), free(vn), free(kc), free(vc);
}

static void test_small_ops(void)
{
    pgr_kctx *c = pgr_kctx_new(1);
    const pgr_kernels *K = pgr_kernels_cpu();
    /* rmsnorm of a constant row c with unit weights is 1 everywhere */
    float x[64], w[64], o[64];
    for (int i = 0; i < 64; i++)
        x[i] = -3.0f, w[i] = 1.0f;
    K->rmsnorm(c, x, w, o, 1, 64, 1e-5f);
    for (int i = 0; i < 64; i++)
        CHECK_NEAR(o[i], -1.0f, 1e-5);
    /* rope at position 0 is the identity; at p it preserves each pair's norm */
    float r[2 * 64], r0[2 * 64];
    fill(r, 128, 1.0f);
    memcpy(r0, r, sizeof r);
    int32_t p[2] = {0, 17};
    K->rope(c, r, p, 2, 1, 64, 10000.0f);
    for (int i = 0; i < 64; i++)
        CHECK(r[i] == r0[i]);
    for (int i = 64; i < 128; i += 2)
        CHECK_NEAR(hypot(r[i], r[i + 1]), hypot(r0[i], r0[i + 1]), 1e-5);
    /* pair 0 at position 17 turns by exactly 17 radians */
    CHECK_NEAR(remainder(atan2(r[65], r[64]) - atan2(r0[65], r0[64]) - 17.0, 2 * M_PI), 0.0, 1e-4);
    /* softmax sums to 1 and keeps order; swiglu(0, u) = 0 */
    float s[5] = {1, 2, 3, 4, 1000};
    K->softmax(c, s, 5);
    CHECK_NEAR(s[0] + s[1] + s[2] + s[3] + s[4], 1.0, 1e-6);
    CHECK(s[4] > 0.999f);
    float g[3] = {0, 10, -10}, u[3] = {5, 2, 2}, sw[3];
    K->swiglu(c, g, u, sw, 3);
    CHECK(sw[0] == 0.0f);
    CHECK_NEAR(sw[1], 2 * 10 / (1 + exp(-10.0)), 1e-4);
    CHECK_NEAR(sw[2], 2 * -10 / (1 + exp(10.0)), 1e-4);
    pgr_kctx_free(c);
}

int main(void)
{
    RUN(test_fp16_conversion);
    RUN(test_quant_roundtrip);
    RUN(test_matmul_all_types);
    RUN(test_attention_paged);
    RUN(test_small_ops);
    return check_summary("test_kernels");
}
