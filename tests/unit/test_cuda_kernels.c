/* Every kernel of kernels/cuda against the CPU reference (pgr_kernels_ref(),
 * pgr_dequant_row, or a plain double-precision loop written here), on random
 * inputs of SmolLM2-135M's shapes (dim 576, 9 heads, 3 KV heads, head_dim 64,
 * ffn 1536, vocab 49152), llm.c / ggml style:
 *   - outputs are poisoned before the launch and framed by sentinel words, so
 *     an unwritten element or a write out of bounds fails the test;
 *   - comparison with tolerance = abs + rel * |ref|, NaN/inf reported, the
 *     first mismatches printed with their index.
 * Without a CUDA device (or without CUDA compiled in) every test reports
 * "skipped: no CUDA device"; with PEERGRAPH_REQUIRE_CUDA=1 (make test-cuda)
 * that is a failure instead. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "cuda_test.h"
#include "kernels/kernels.h"

#ifdef PEERGRAPH_CUDA
#include "kernels/cuda/cuda_kernels.h"


#include "cuda_check.h"

static const int types[] = {PGR_KT_F32, PGR_KT_F16, PGR_KT_BF16, PGR_KT_Q4_0, PGR_KT_Q4_1,
                            PGR_KT_Q8_0};

/* A random (rows, cols) matrix of type t: its bytes, and its dequantised floats. */
static int make_mat(int t, int rows, int cols, uint8_t **q, float **deq, size_t *row_bytes)
{
    float *src = malloc((size_t)rows * cols * sizeof(float));
    *deq = malloc((size_t)rows * cols * sizeof(float));
    if (pgr_kt_row_bytes(t, (size_t)cols, row_bytes) != 0 || !src || !*deq) {
        free(src);
        return -1;
    }
    *q = malloc(*row_bytes * rows);
    fill(src, (size_t)rows * cols, sqrtf(3.0f / cols));
    for (int r = 0; r < rows; r++) {
        pgr_quant_row(t, src + (size_t)r * cols, *q + (size_t)r * *row_bytes, (size_t)cols);
        pgr_dequant_row(t, *q + (size_t)r * *row_bytes, *deq + (size_t)r * cols, (size_t)cols);
    }
    free(src);
    return 0;
}

/* ---- tests ---- */

static void test_dequant_and_embed(void)
{
    NEED_CUDA();
    pgr_err err = {0};
    for (size_t ti = 0; ti < sizeof types / sizeof *types; ti++) {
        const int t = types[ti], rows = 96, cols = DIM, n_tok = 7;
        uint8_t *q;
        float *deq;
        size_t rb;
        CHECK(make_mat(t, rows, cols, &q, &deq, &rb) == 0);
        dbuf dw, dbf, dtok, demb;
        int32_t tok[7] = {0, 95, 3, 3, 50, 17, 94};
        uint16_t *bf = malloc((size_t)rows * cols * 2);
        float *bff = malloc((size_t)rows * cols * 4), *emb = malloc((size_t)n_tok * cols * 4);
        float *ref = malloc((size_t)n_tok * cols * 4);
        TRY(dbuf_new(&dw, rb * rows, &err));
        TRY(dbuf_new(&dbf, (size_t)rows * cols * 2, &err));
        TRY(dbuf_new(&dtok, sizeof tok, &err));
        TRY(dbuf_new(&demb, (size_t)n_tok * cols * 4, &err));
        TRY(dbuf_put(&dw, q, &err));
        TRY(dbuf_put(&dtok, tok, &err));
        TRY(pgr_cu_dequant_bf16(t, dptr(&dw), rb, rows, cols, dptr(&dbf), NULL, &err));
        TRY(pgr_cu_embed(t, dptr(&dw), rb, cols, dptr(&dtok), n_tok, dptr(&demb), NULL, &err));
        TRY(pgr_cu_sync(&err));
        {
            int g = dbuf_get(&dbf, bf, &err);
            CHECK_MSG(g == 0, "dequant bf16: %d guard words damaged", g);
        }
        GET_OUT(demb, emb, (size_t)n_tok * cols);
        for (size_t i = 0; i < (size_t)rows * cols; i++)
            bff[i] = pgr_bf16_to_f32(bf[i]);
        for (int i = 0; i < n_tok; i++)
            memcpy(ref + (size_t)i * cols, deq + (size_t)tok[i] * cols, cols * sizeof(float));
        /* bf16: one rounding of the (possibly fma-contracted) dequantised value */
        CHECK_MSG(compare(pgr_kt_name(t), bff, deq, (size_t)rows * cols, 1e-6, 8e-3) == 0,
                  "dequant_bf16 %s", pgr_kt_name(t));
        CHECK_MSG(compare(pgr_kt_name(t), emb, ref, (size_t)n_tok * cols, 1e-7, 1e-6) == 0,
                  "embed %s", pgr_kt_name(t));
        dbuf_free(&dw), dbuf_free(&dbf), dbuf_free(&dtok), dbuf_free(&demb);
        free(q), free(deq), free(bf), free(bff), free(emb), free(ref);
    }
}

static void test_rmsnorm(void)
{
    NEED_CUDA();
    pgr_err err = {0};
    const int n = 13;
    float *x = malloc(n * DIM * 4), *w = malloc(DIM * 4), *ref = malloc(n * DIM * 4),
          *got = malloc(n * DIM * 4);
    fill(x, n * DIM, 3.0f);
    fill(w, DIM, 1.0f);
    pgr_kctx *ctx = pgr_kctx_new(1);
    pgr_kernels_ref()->rmsnorm(ctx, x, w, ref, n, DIM, 1e-5f);
    dbuf dx, dw, dout;
    TRY(dbuf_new(&dx, n * DIM * 4, &err));
    TRY(dbuf_new(&dw, DIM * 4, &err));
    TRY(dbuf_new(&dout, n * DIM * 4, &err));
    TRY(dbuf_put(&dx, x, &err));
    TRY(dbuf_put(&dw, w, &err));
    TRY(pgr_cu_rmsnorm(dptr(&dx), dptr(&dw), dptr(&dout), n, DIM, 1e-5f, NULL, &err));
    TRY(pgr_cu_sync(&err));
    GET_OUT(dout, got, (size_t)n * DIM);
    CHECK(compare("rmsnorm", got, ref, (size_t)n * DIM, 1e-5, 1e-5) == 0);
    /* in place */
    TRY(pgr_cu_rmsnorm(dptr(&dx), dptr(&dw), dptr(&dx), n, DIM, 1e-5f, NULL, &err));
    TRY(pgr_cu_sync(&err));
    GET_OUT(dx, got, (size_t)n * DIM);
    CHECK(compare("rmsnorm in place", got, ref, (size_t)n * DIM, 1e-5, 1e-5) == 0);
    dbuf_free(&dx), dbuf_free(&dw), dbuf_free(&dout);
    pgr_kctx_free(ctx);
    free(x), free(w), free(ref), free(got);
}

static void test_rope(void)
{
    NEED_CUDA();
    pgr_err err = {0};
    const int n = 6;
    int32_t pos[6] = {0, 1, 7, 255, 1023, 4000};
    float *q = malloc(n * NH * HD * 4), *k = malloc(n * NKV * HD * 4);
    float *gq = malloc(n * NH * HD * 4), *gk = malloc(n * NKV * HD * 4);
    fill(q, n * NH * HD, 2.0f);
    fill(k, n * NKV * HD, 2.0f);
    dbuf dq, dk, dpos;
    TRY(dbuf_new(&dq, n * NH * HD * 4, &err));
    TRY(dbuf_new(&dk, n * NKV * HD * 4, &err));
    TRY(dbuf_new(&dpos, sizeof pos, &err));
    TRY(dbuf_put(&dq, q, &err));
    TRY(dbuf_put(&dk, k, &err));
    TRY(dbuf_put(&dpos, pos, &err));
    TRY(pgr_cu_rope(dptr(&dq), dptr(&dpos), n, NH, HD, 100000.0f, NULL, &err));
    TRY(pgr_cu_rope(dptr(&dk), dptr(&dpos), n, NKV, HD, 100000.0f, NULL, &err));
    TRY(pgr_cu_sync(&err));
    GET_OUT(dq, gq, (size_t)n * NH * HD);
    GET_OUT(dk, gk, (size_t)n * NKV * HD);
    pgr_kctx *ctx = pgr_kctx_new(1);
    pgr_kernels_ref()->rope(ctx, q, pos, n, NH, HD, 100000.0f);
    pgr_kernels_ref()->rope(ctx, k, pos, n, NKV, HD, 100000.0f);
    pgr_kctx_free(ctx);
    /* same angles; cosf/sinf may differ by an ulp at large arguments */
    CHECK(compare("rope q", gq, q, (size_t)n * NH * HD, 2e-5, 2e-5) == 0);
    CHECK(compare("rope k", gk, k, (size_t)n * NKV * HD, 2e-5, 2e-5) == 0);
    dbuf_free(&dq), dbuf_free(&dk), dbuf_free(&dpos);
    free(q), free(k), free(gq), free(gk);
}

/* rope_kv_store (rope on q and k, then the paged store of k and v, in one
 * launch) against the reference's rope then kv_store: q and k as test_rope,
 * the caches within one fp16 rounding (the angles' cosf/sinf may differ by
 * an ulp); a padding token rotated but not stored; both model shapes. */
static void rope_kv_case(int nh, int nkv, int hd)
{
    pgr_err err = {0};
    const int n = 7, bs = 16, nblk = 8, kvd = nkv * hd, qd = nh * hd;
    const size_t cache_h = (size_t)nblk * bs * kvd;
    int32_t pos[7] = {0, 1, 17, 40, 60, -1, 50}, toff[7] = {0, 0, 0, 0, 4, 0, 4};
    int32_t tabs[8] = {3, 6, 1, 0, 5, 2, 7, 4}; /* two sequences' tables at 0 and 4 */
    const int32_t *tables[7];
    uint16_t *kc = calloc(cache_h, 2), *vc = calloc(cache_h, 2), *gkc = malloc(cache_h * 2),
             *gvc = malloc(cache_h * 2);
    float *q = malloc((size_t)n * qd * 4), *k = malloc((size_t)n * kvd * 4),
          *v = malloc((size_t)n * kvd * 4), *gq = malloc((size_t)n * qd * 4),
          *gk = malloc((size_t)n * kvd * 4), *fk = malloc(cache_h * 4), *fg = malloc(cache_h * 4);
    uint16_t *dkc = NULL, *dvc = NULL;
    dbuf dq, dk, dv, dpos, dtoff, dtabs;
    pgr_kctx *ctx = pgr_kctx_new(1);
    fill(q, (size_t)n * qd, 2.0f);
    fill(k, (size_t)n * kvd, 2.0f);
    fill(v, (size_t)n * kvd, 1.0f);
    for (int t = 0; t < n; t++)
        tables[t] = tabs + toff[t];
    TRY(pgr_cu_malloc((void **)&dkc, cache_h * 2, &err));
    TRY(pgr_cu_malloc((void **)&dvc, cache_h * 2, &err));
    TRY(pgr_cu_memset(dkc, 0, cache_h * 2, &err));
    TRY(pgr_cu_memset(dvc, 0, cache_h * 2, &err));
    TRY(dbuf_new(&dq, (size_t)n * qd * 4, &err));
    TRY(dbuf_new(&dk, (size_t)n * kvd * 4, &err));
    TRY(dbuf_new(&dv, (size_t)n * kvd * 4, &err));
    TRY(dbuf_new(&dpos, sizeof pos, &err));
    TRY(dbuf_new(&dtoff, sizeof toff, &err));
    TRY(dbuf_new(&dtabs, sizeof tabs, &err));
    TRY(dbuf_put(&dq, q, &err));
    TRY(dbuf_put(&dk, k, &err));
    TRY(dbuf_put(&dv, v, &err));
    TRY(dbuf_put(&dpos, pos, &err));
    TRY(dbuf_put(&dtoff, toff, &err));
    TRY(dbuf_put(&dtabs, tabs, &err));
    TRY(pgr_cu_rope_kv_store(dptr(&dq), dptr(&dk), dptr(&dv), dkc, dvc, n, dptr(&dpos),
                             dptr(&dtoff), dptr(&dtabs), bs, nh, nkv, hd, 100000.0f, NULL, &err));
    TRY(pgr_cu_sync(&err));
    GET_OUT(dq, gq, (size_t)n * qd);
    GET_OUT(dk, gk, (size_t)n * kvd);
    TRY(pgr_cu_d2h(gkc, dkc, cache_h * 2, &err));
    TRY(pgr_cu_d2h(gvc, dvc, cache_h * 2, &err));
    pgr_kernels_ref()->rope(ctx, q, pos, n, nh, hd, 100000.0f);
    pgr_kernels_ref()->rope(ctx, k, pos, n, nkv, hd, 100000.0f);
    for (int t = 0; t < n; t++) /* the reference has no padding rule: skip it here */
        if (pos[t] >= 0)
            pgr_kernels_ref()->kv_store(ctx, kc, vc, k + (size_t)t * kvd, v + (size_t)t * kvd, 1,
                                        pos + t, tables + t, bs, kvd);
    CHECK_MSG(compare("rope_kv q", gq, q, (size_t)n * qd, 2e-5, 2e-5) == 0, "%d/%d heads of %d",
              nh, nkv, hd);
    CHECK_MSG(compare("rope_kv k", gk, k, (size_t)n * kvd, 2e-5, 2e-5) == 0, "%d/%d heads of %d",
              nh, nkv, hd);
    for (size_t i = 0; i < cache_h; i++)
        fk[i] = pgr_f16_to_f32(kc[i]), fg[i] = pgr_f16_to_f32(gkc[i]);
    CHECK_MSG(compare("rope_kv k cache", fg, fk, cache_h, 1e-6, 1e-3) == 0, "%d/%d heads of %d",
              nh, nkv, hd);
    /* v is not rotated: its cache is bit-exact, as kv_store's */
    CHECK_MSG(memcmp(gvc, vc, cache_h * 2) == 0, "rope_kv v cache differs (%d/%d heads of %d)",
              nh, nkv, hd);
    pgr_cu_free(dkc), pgr_cu_free(dvc);
    dbuf_free(&dq), dbuf_free(&dk), dbuf_free(&dv);
    dbuf_free(&dpos), dbuf_free(&dtoff), dbuf_free(&dtabs);
    pgr_kctx_free(ctx);
    free(kc), free(vc), free(gkc), free(gvc), free(q), free(k), free(v), free(gq), free(gk);
    free(fk), free(fg);
}

static void test_rope_kv_store(void)
{
    NEED_CUDA();
    rope_kv_case(NH, NKV, HD);
    rope_kv_case(32, 8, 128);
}

static void test_swiglu_add_gather(void)
{
    NEED_CUDA();
    pgr_err err = {0};
    const size_t n = 5 * FFN;
    float *g = malloc(n * 4), *u = malloc(n * 4), *ref = malloc(n * 4), *got = malloc(n * 4);
    fill(g, n, 6.0f);
    fill(u, n, 2.0f);
    pgr_kctx *ctx = pgr_kctx_new(1);
    pgr_kernels_ref()->swiglu(ctx, g, u, ref, n);
    pgr_kctx_free(ctx);
    dbuf dg, du, dout;
    TRY(dbuf_new(&dg, n * 4, &err));
    TRY(dbuf_new(&du, n * 4, &err));
    TRY(dbuf_new(&dout, n * 4, &err));
    TRY(dbuf_put(&dg, g, &err));
    TRY(dbuf_put(&du, u, &err));
    TRY(pgr_cu_swiglu(dptr(&dg), dptr(&du), dptr(&dout), n, NULL, &err));
    TRY(pgr_cu_sync(&err));
    GET_OUT(dout, got, n);
    CHECK(compare("swiglu", got, ref, n, 1e-6, 1e-5) == 0);
    /* x += y */
    TRY(pgr_cu_add(dptr(&dg), dptr(&du), n, NULL, &err));
    TRY(pgr_cu_sync(&err));
    GET_OUT(dg, got, n);
    for (size_t i = 0; i < n; i++)
        ref[i] = g[i] + u[i];
    CHECK(compare("add", got, ref, n, 0, 0) == 0);
    /* gather rows 4, 0, 2 of (5, FFN) */
    {
        int32_t rows[3] = {4, 0, 2};
        dbuf drows, dgat;
        TRY(dbuf_new(&drows, sizeof rows, &err));
        TRY(dbuf_new(&dgat, 3 * FFN * 4, &err));
        TRY(dbuf_put(&drows, rows, &err));
        TRY(pgr_cu_gather_rows(dptr(&du), dptr(&drows), 3, FFN, dptr(&dgat), NULL, &err));
        TRY(pgr_cu_sync(&err));
        GET_OUT(dgat, got, 3 * FFN);
        for (int i = 0; i < 3; i++)
            memcpy(ref + (size_t)i * FFN, u + (size_t)rows[i] * FFN, FFN * 4);
        CHECK(compare("gather", got, ref, 3 * FFN, 0, 0) == 0);
        dbuf_free(&drows), dbuf_free(&dgat);
    }
    dbuf_free(&dg), dbuf_free(&du), dbuf_free(&dout);
    free(g), free(u), free(ref), free(got);
}

/* y (n, rows) = x · W^T in double over the dequantised weights. */
static void ref_matmul(const float *w, int rows, int cols, const float *x, float *y, int n)
{
    for (int t = 0; t < n; t++)
        for (int r = 0; r < rows; r++) {
            double s = 0;
            for (int c = 0; c < cols; c++)
                s += (double)w[(size_t)r * cols + c] * x[(size_t)t * cols + c];
            y[(size_t)t * rows + r] = (float)s;
        }
}

static void test_qmatvec(void)
{
    NEED_CUDA();
    pgr_err err = {0};
    const int shapes[2][2] = {{FFN, DIM}, {DIM, FFN}};
    const int ntoks[4] = {1, 3, 8, 11};
    for (size_t ti = 0; ti < sizeof types / sizeof *types; ti++)
        for (int si = 0; si < 2; si++) {
            const int t = types[ti], rows = shapes[si][0], cols = shapes[si][1];
            uint8_t *q;
            float *deq;
            size_t rb;
            CHECK(make_mat(t, rows, cols, &q, &deq, &rb) == 0);
            dbuf dw;
            TRY(dbuf_new(&dw, rb * rows, &err));
            TRY(dbuf_put(&dw, q, &err));
            for (int ni = 0; ni < 4; ni++) {
                const int n = ntoks[ni];
                float *x = malloc((size_t)n * cols * 4), *ref = malloc((size_t)n * rows * 4),
                      *got = malloc((size_t)n * rows * 4);
                fill(x, (size_t)n * cols, 1.0f);
                ref_matmul(deq, rows, cols, x, ref, n);
                dbuf dx, dy;
                TRY(dbuf_new(&dx, (size_t)n * cols * 4, &err));
                TRY(dbuf_new(&dy, (size_t)n * rows * 4, &err));
                TRY(dbuf_put(&dx, x, &err));
                TRY(pgr_cu_qmatvec(t, dptr(&dw), rb, rows, cols, dptr(&dx), dptr(&dy), n, NULL,
                                   &err));
                TRY(pgr_cu_sync(&err));
                GET_OUT(dy, got, (size_t)n * rows);
                CHECK_MSG(compare("qmatvec", got, ref, (size_t)n * rows, 1e-4, 1e-4) == 0,
                          "qmatvec %s (%d, %d) x %d tokens", pgr_kt_name(t), rows, cols, n);
                dbuf_free(&dx), dbuf_free(&dy);
                free(x), free(ref), free(got);
            }
            dbuf_free(&dw);
            free(q), free(deq);
        }
}

static void test_gemm_bf16(void)
{
    NEED_CUDA();
    pgr_err err = {0};
    const int rows = FFN, cols = DIM, ntoks[3] = {1, 17, 64};
    uint8_t *q;
    float *deq;
    size_t rb;
    pgr_cu_blas *blas = NULL;
    CHECK(make_mat(PGR_KT_Q4_1, rows, cols, &q, &deq, &rb) == 0);
    TRY(pgr_cu_blas_new(NULL, &blas, &err));
    dbuf dw, dwb;
    TRY(dbuf_new(&dw, rb * rows, &err));
    TRY(dbuf_new(&dwb, (size_t)rows * cols * 2, &err));
    TRY(dbuf_put(&dw, q, &err));
    TRY(pgr_cu_dequant_bf16(PGR_KT_Q4_1, dptr(&dw), rb, rows, cols, dptr(&dwb), NULL, &err));
    /* the reference multiplies the same bf16-rounded operands in double */
    for (size_t i = 0; i < (size_t)rows * cols; i++)
        deq[i] = pgr_bf16_to_f32(pgr_f32_to_bf16(deq[i]));
    for (int ni = 0; ni < 3; ni++) {
        const int n = ntoks[ni];
        float *x = malloc((size_t)n * cols * 4), *ref = malloc((size_t)n * rows * 4),
              *got = malloc((size_t)n * rows * 4);
        fill(x, (size_t)n * cols, 1.0f);
        dbuf dx, dxb, dy;
        TRY(dbuf_new(&dx, (size_t)n * cols * 4, &err));
        TRY(dbuf_new(&dxb, (size_t)n * cols * 2, &err));
        TRY(dbuf_new(&dy, (size_t)n * rows * 4, &err));
        TRY(dbuf_put(&dx, x, &err));
        TRY(pgr_cu_to_bf16(dptr(&dx), dptr(&dxb), (size_t)n * cols, NULL, &err));
        TRY(pgr_cu_gemm_bf16(blas, dptr(&dwb), rows, cols, dptr(&dxb), dptr(&dy), n, &err));
        TRY(pgr_cu_sync(&err));
        GET_OUT(dy, got, (size_t)n * rows);
        for (size_t i = 0; i < (size_t)n * cols; i++)
            x[i] = pgr_bf16_to_f32(pgr_f32_to_bf16(x[i]));
        ref_matmul(deq, rows, cols, x, ref, n);
        CHECK_MSG(compare("gemm_bf16", got, ref, (size_t)n * rows, 1e-4, 1e-4) == 0,
                  "cuBLAS bf16 (%d, %d) x %d tokens", rows, cols, n);
        dbuf_free(&dx), dbuf_free(&dxb), dbuf_free(&dy);
        free(x), free(ref), free(got);
    }
    dbuf_free(&dw), dbuf_free(&dwb);
    pgr_cu_blas_free(blas);
    free(q), free(deq);
}

/* gemv_bf16: one, two and three matrices per launch (q, k, v shapes; an odd
 * row count), 1..8 tokens, writing and accumulating, against a double loop
 * over the same bf16 weights and float32 inputs; bad arguments refused. */
static void test_gemv_bf16(void)
{
    NEED_CUDA();
    pgr_err err = {0};
    const int cols_of[3] = {DIM, FFN, 64};
    const int rows_of[3][3] = {{NH * HD, NKV * HD, NKV * HD}, {DIM, 0, 0}, {7, 33, 1}};
    const int nmats_of[3] = {3, 1, 3};
    const int ntoks[5] = {1, 2, 3, 5, 8};
    for (int ci = 0; ci < 3; ci++)
        for (int acc = 0; acc < 2; acc++)
            for (int ni = 0; ni < 5; ni++) {
                const int cols = cols_of[ci], nm = nmats_of[ci], n = ntoks[ni];
                dbuf dw[3], dy[3], dx;
                pgr_cu_gemv_mat gm[3];
                float *w[3], *y0[3], *ref[3], *got[3];
                float *x = malloc((size_t)n * cols * 4);
                fill(x, (size_t)n * cols, 1.0f);
                TRY(dbuf_new(&dx, (size_t)n * cols * 4, &err));
                TRY(dbuf_put(&dx, x, &err));
                for (int i = 0; i < nm; i++) {
                    const int rows = rows_of[ci][i];
                    uint16_t *wb = malloc((size_t)rows * cols * 2);
                    w[i] = malloc((size_t)rows * cols * 4);
                    y0[i] = malloc((size_t)n * rows * 4);
                    ref[i] = malloc((size_t)n * rows * 4);
                    got[i] = malloc((size_t)n * rows * 4);
                    fill(w[i], (size_t)rows * cols, sqrtf(3.0f / cols));
                    for (size_t j = 0; j < (size_t)rows * cols; j++) {
                        wb[j] = pgr_f32_to_bf16(w[i][j]);
                        w[i][j] = pgr_bf16_to_f32(wb[j]);
                    }
                    fill(y0[i], (size_t)n * rows, 1.0f);
                    ref_matmul(w[i], rows, cols, x, ref[i], n);
                    if (acc)
                        for (size_t j = 0; j < (size_t)n * rows; j++)
                            ref[i][j] += y0[i][j];
                    TRY(dbuf_new(&dw[i], (size_t)rows * cols * 2, &err));
                    TRY(dbuf_put(&dw[i], wb, &err));
                    TRY(dbuf_new(&dy[i], (size_t)n * rows * 4, &err));
                    if (acc) /* otherwise the output stays poisoned until written */
                        TRY(dbuf_put(&dy[i], y0[i], &err));
                    gm[i].w = dptr(&dw[i]), gm[i].y = dptr(&dy[i]), gm[i].rows = rows;
                    free(wb);
                }
                TRY(pgr_cu_gemv_bf16(gm, nm, cols, dptr(&dx), n, acc, NULL, &err));
                TRY(pgr_cu_sync(&err));
                for (int i = 0; i < nm; i++) {
                    const size_t cnt = (size_t)n * rows_of[ci][i];
                    GET_OUT(dy[i], got[i], cnt);
                    CHECK_MSG(compare("gemv_bf16", got[i], ref[i], cnt, 1e-4, 1e-4) == 0,
                              "gemv_bf16 matrix %d of %d: (%d, %d) x %d tokens, accumulate %d", i,
                              nm, rows_of[ci][i], cols, n, acc);
                    dbuf_free(&dw[i]), dbuf_free(&dy[i]);
                    free(w[i]), free(y0[i]), free(ref[i]), free(got[i]);
                }
                dbuf_free(&dx);
                free(x);
            }
    /* refusals, before any launch */
    {
        dbuf dw, dy, dx;
        pgr_cu_gemv_mat gm;
        TRY(dbuf_new(&dw, 64 * 64 * 2, &err));
        TRY(dbuf_new(&dy, 16 * 64 * 4, &err));
        TRY(dbuf_new(&dx, 16 * 64 * 4 + 16, &err));
        gm.w = dptr(&dw), gm.y = dptr(&dy), gm.rows = 64;
        CHECK(pgr_cu_gemv_bf16(&gm, 1, 64, dptr(&dx), GV_MAX_TOK + 1, 0, NULL, &err) == -1);
        CHECK_INT(err.code, PGR_EINVAL);
        CHECK(pgr_cu_gemv_bf16(&gm, 1, 60, dptr(&dx), 1, 0, NULL, &err) == -1);
        CHECK(pgr_cu_gemv_bf16(&gm, 1, 64, (const float *)dptr(&dx) + 1, 1, 0, NULL, &err) == -1);
        CHECK(strstr(err.msg, "aligned") != NULL);
        CHECK(pgr_cu_gemv_bf16(&gm, 0, 64, dptr(&dx), 1, 0, NULL, &err) == -1);
        CHECK(pgr_cu_gemv_bf16(&gm, GV_MAX_MATS + 1, 64, dptr(&dx), 1, 0, NULL, &err) == -1);
        dbuf_free(&dw), dbuf_free(&dy), dbuf_free(&dx);
    }
}

/* Two sequences with scattered block tables: a prefill chunk of each, then
 * one decode token of each (nh query heads over nkv kv heads of hd dims); kv_store must be bit-exact, attention within
 * the fp16 tolerance of the reference. */
static void kv_attention_case(int nh, int nkv, int hd)
{
    pgr_err err = {0};
    const int bs = 16, nblk = 64, kvd = nkv * hd, qd = nh * hd;
    const size_t cache_h = (size_t)nblk * bs * kvd;
    int32_t tabA[8] = {5, 60, 2, 33, 9, 0, 0, 0}, tabB[8] = {41, 7, 12, 0, 0, 0, 0, 0};
    /* step 1: A positions 0..39, B positions 0..20; step 2: A 40, B 21 */
    const int n1 = 61, n2 = 2;
    int32_t pos[61], toff[61], tabs[16];
    const int32_t *tables[61];
    memcpy(tabs, tabA, sizeof tabA);
    memcpy(tabs + 8, tabB, sizeof tabB);
    uint16_t *kc = calloc(cache_h, 2), *vc = calloc(cache_h, 2), *gkc = malloc(cache_h * 2),
             *gvc = malloc(cache_h * 2);
    float *q = malloc((size_t)n1 * qd * 4), *k = malloc((size_t)n1 * kvd * 4),
          *v = malloc((size_t)n1 * kvd * 4), *ref = malloc((size_t)n1 * qd * 4),
          *got = malloc((size_t)n1 * qd * 4);
    pgr_kctx *ctx = pgr_kctx_new(1);
    uint16_t *dkc = NULL, *dvc = NULL; /* the caches: no guards, compared whole */
    dbuf dq, dk, dv, dout, dpos, dtoff, dtabs;
    TRY(pgr_cu_malloc((void **)&dkc, cache_h * 2, &err));
    TRY(pgr_cu_malloc((void **)&dvc, cache_h * 2, &err));
    TRY(pgr_cu_memset(dkc, 0, cache_h * 2, &err));
    TRY(pgr_cu_memset(dvc, 0, cache_h * 2, &err));
    TRY(dbuf_new(&dq, (size_t)n1 * qd * 4, &err));
    TRY(dbuf_new(&dk, (size_t)n1 * kvd * 4, &err));
    TRY(dbuf_new(&dv, (size_t)n1 * kvd * 4, &err));
    TRY(dbuf_new(&dout, (size_t)n1 * qd * 4, &err));
    TRY(dbuf_new(&dpos, sizeof pos, &err));
    TRY(dbuf_new(&dtoff, sizeof toff, &err));
    TRY(dbuf_new(&dtabs, sizeof tabs, &err));
    TRY(dbuf_put(&dtabs, tabs, &err));
    for (int step = 0; step < 2; step++) {
        const int n = step ? n2 : n1;
        for (int t = 0; t < n; t++) {
            const int isA = step ? t == 0 : t < 40;
            pos[t] = step ? (isA ? 40 : 21) : (isA ? t : t - 40);
            toff[t] = isA ? 0 : 8;
            tables[t] = isA ? tabA : tabB;
        }
        fill(q, (size_t)n * qd, 1.5f);
        fill(k, (size_t)n * kvd, 1.5f);
        fill(v, (size_t)n * kvd, 1.0f);
        /* dbuf payload sizes are of the larger step; write only n rows */
        TRY(pgr_cu_h2d(dptr(&dq), q, (size_t)n * qd * 4, &err));
        TRY(pgr_cu_h2d(dptr(&dk), k, (size_t)n * kvd * 4, &err));
        TRY(pgr_cu_h2d(dptr(&dv), v, (size_t)n * kvd * 4, &err));
        TRY(pgr_cu_h2d(dptr(&dpos), pos, (size_t)n * 4, &err));
        TRY(pgr_cu_h2d(dptr(&dtoff), toff, (size_t)n * 4, &err));
        TRY(pgr_cu_kv_store(dkc, dvc, dptr(&dk), dptr(&dv), n, dptr(&dpos),
                            dptr(&dtoff), dptr(&dtabs), bs, kvd, NULL, &err));
        TRY(pgr_cu_attention(dptr(&dq), dptr(&dout), n, dptr(&dpos), dptr(&dtoff), dptr(&dtabs),
                             dkc, dvc, bs, nh, nkv, hd, 0.125f, NULL, &err));
        TRY(pgr_cu_sync(&err));
        pgr_kernels_ref()->kv_store(ctx, kc, vc, k, v, n, pos, tables, bs, kvd);
        pgr_kernels_ref()->attention(ctx, q, ref, n, pos, tables, kc, vc, bs, nh, nkv, hd,
                                     0.125f);
        TRY(pgr_cu_d2h(gkc, dkc, cache_h * 2, &err));
        TRY(pgr_cu_d2h(gvc, dvc, cache_h * 2, &err));
        CHECK_MSG(memcmp(gkc, kc, cache_h * 2) == 0 && memcmp(gvc, vc, cache_h * 2) == 0,
                  "kv_store: device cache differs from the reference (step %d)", step);
        {
            int g = dbuf_get(&dout, got, &err);
            CHECK_MSG(g == 0, "attention: %d guard words damaged", g);
        }
        CHECK_MSG(unwritten(got, (size_t)n * qd) == 0, "attention: outputs unwritten");
        CHECK_MSG(compare("attention", got, ref, (size_t)n * qd, 2e-3, 1e-2) == 0,
                  "attention step %d (%d/%d heads of %d)", step, nh, nkv, hd);
    }
    /* padding tokens (pos -1) write zeros and touch no cache entry */
    {
        int32_t p1[2] = {-1, -1};
        TRY(pgr_cu_h2d(dptr(&dpos), p1, sizeof p1, &err));
        TRY(pgr_cu_kv_store(dkc, dvc, dptr(&dk), dptr(&dv), 2, dptr(&dpos),
                            dptr(&dtoff), dptr(&dtabs), bs, kvd, NULL, &err));
        TRY(pgr_cu_attention(dptr(&dq), dptr(&dout), 2, dptr(&dpos), dptr(&dtoff), dptr(&dtabs),
                             dkc, dvc, bs, nh, nkv, hd, 0.125f, NULL, &err));
        TRY(pgr_cu_sync(&err));
        TRY(pgr_cu_d2h(gkc, dkc, cache_h * 2, &err));
        TRY(pgr_cu_d2h(got, dptr(&dout), 2 * qd * 4, &err));
        CHECK_MSG(memcmp(gkc, kc, cache_h * 2) == 0, "kv_store wrote a padding token");
        for (int i = 0; i < 2 * qd; i++)
            CHECK_MSG(got[i] == 0.0f, "attention of a padding token: %g at %d", got[i], i);
    }
    pgr_cu_free(dkc), pgr_cu_free(dvc);
    dbuf_free(&dq), dbuf_free(&dk), dbuf_free(&dv), dbuf_free(&dout);
    dbuf_free(&dpos), dbuf_free(&dtoff), dbuf_free(&dtabs);
    pgr_kctx_free(ctx);
    free(kc), free(vc), free(gkc), free(gvc), free(q), free(k), free(v), free(ref), free(got);
}

/* The grouped kernel's shapes (SmolLM2: 3 query heads a kv head, 64 dims;
 * Llama-3.1-8B: 4 of 128; 8 of 256) and the general kernel's (5 of 96). */
static void test_kv_attention(void)
{
    NEED_CUDA();
    kv_attention_case(NH, NKV, HD);
    kv_attention_case(32, 8, 128);
    kv_attention_case(8, 1, 256);
    kv_attention_case(10, 2, 96);
}

/* Uploads na LoRA adapters (A (rank, in), Bt (rank, out) on the host) and
 * their descriptor table: dtabs[a] points to adapter a's one site. */
static int lora_upload(int na, const int *ranks, const float *scales, int in, int out,
                       float *const *A, float *const *Bt, void **dA, void **dBt, void **ddesc,
                       void **dtabs, pgr_err *err)
{
    for (int a = 0; a < na; a++) {
        const int r = ranks[a];
        pgr_cu_lora desc;
        if (pgr_cu_malloc(&dA[a], (size_t)r * in * 4, err) ||
            pgr_cu_malloc(&dBt[a], (size_t)r * out * 4, err) ||
            pgr_cu_h2d(dA[a], A[a], (size_t)r * in * 4, err) ||
            pgr_cu_h2d(dBt[a], Bt[a], (size_t)r * out * 4, err))
            return -1;
        desc = (pgr_cu_lora){dA[a], dBt[a], r, scales[a]};
        if (pgr_cu_malloc(&ddesc[a], sizeof desc, err) ||
            pgr_cu_h2d(ddesc[a], &desc, sizeof desc, err))
            return -1;
    }
    if (pgr_cu_malloc(dtabs, (size_t)na * sizeof(void *), err) ||
        pgr_cu_h2d(*dtabs, ddesc, (size_t)na * sizeof(void *), err))
        return -1;
    return 0;
}

static void lora_free(int na, void **dA, void **dBt, void **ddesc, void *dtabs)
{
    for (int a = 0; a < na; a++)
        pgr_cu_free(dA[a]), pgr_cu_free(dBt[a]), pgr_cu_free(ddesc[a]);
    pgr_cu_free(dtabs);
}

/* The double-precision reference: ref[t] += scale (x[t] . A^T) . Bt for
 * each token t with slot[t] >= 0 (ref holds y on entry). */
static void lora_ref(int nt, const int32_t *slot, const int *ranks, const float *scales, int in,
                     int out, const float *x, float *const *A, float *const *Bt, float *ref)
{
    for (int t = 0; t < nt; t++) {
        const int a = slot[t];
        double v[64];
        if (a < 0)
            continue;
        for (int j = 0; j < ranks[a]; j++) {
            double sum = 0;
            for (int i = 0; i < in; i++)
                sum += (double)x[(size_t)t * in + i] * A[a][(size_t)j * in + i];
            v[j] = scales[a] * sum;
        }
        for (int o = 0; o < out; o++) {
            double sum = 0;
            for (int j = 0; j < ranks[a]; j++)
                sum += v[j] * Bt[a][(size_t)j * out + o];
            ref[(size_t)t * out + o] += (float)sum;
        }
    }
}

/* SGMV segments: tokens grouped by slot (one segment per adapter, batch
 * order inside). Returns the segmented tokens; *max_len the longest. */
static int lora_segments(int na, int nt, const int32_t *slot, int32_t *seg_start,
                         int32_t *seg_tok, int32_t *seg_slot, int *max_len)
{
    int n_act = 0;
    *max_len = 0;
    for (int a = 0; a < na; a++) {
        seg_start[a] = n_act;
        seg_slot[a] = a;
        for (int t = 0; t < nt; t++)
            if (slot[t] == a)
                seg_tok[n_act++] = t;
        if (n_act - seg_start[a] > *max_len)
            *max_len = n_act - seg_start[a];
    }
    seg_start[na] = n_act;
    return n_act;
}

/* na LoRA adapters at one site, nt tokens with slots (-1 = none): BGMV (when
 * bgmv) and SGMV against a double reference, untouched rows bitwise
 * unchanged. */
static void lora_case(const char *name, int na, int nt, int in, int out, const int *ranks,
                      const float *scales, const int32_t *slot, int bgmv)
{
    pgr_err err = {0};
    int max_rank = 0, max_len, n_act;
    float *A[8], *Bt[8];
    void *dA[8] = {0}, *dBt[8] = {0}, *ddesc[8] = {0}, *dtabs = NULL;
    float *x = malloc((size_t)nt * in * 4), *y = malloc((size_t)nt * out * 4),
          *ref = malloc((size_t)nt * out * 4), *got = malloc((size_t)nt * out * 4);
    int32_t *seg_start = malloc((size_t)(na + 1) * 4), *seg_tok = malloc((size_t)nt * 4),
            *seg_slot = malloc((size_t)na * 4);
    dbuf dx, dy, dslot, dss, dst, dsl, dtmp;
    fill(x, (size_t)nt * in, 1.0f);
    fill(y, (size_t)nt * out, 1.0f);
    for (int i = 0; i < na; i++) {
        const int r = ranks[i];
        max_rank = r > max_rank ? r : max_rank;
        A[i] = malloc((size_t)r * in * 4), Bt[i] = malloc((size_t)r * out * 4);
        fill(A[i], (size_t)r * in, 0.05f);
        fill(Bt[i], (size_t)r * out, 0.05f);
    }
    TRY(lora_upload(na, ranks, scales, in, out, A, Bt, dA, dBt, ddesc, &dtabs, &err));
    memcpy(ref, y, (size_t)nt * out * 4);
    lora_ref(nt, slot, ranks, scales, in, out, x, A, Bt, ref);
    n_act = lora_segments(na, nt, slot, seg_start, seg_tok, seg_slot, &max_len);
    TRY(dbuf_new(&dx, (size_t)nt * in * 4, &err));
    TRY(dbuf_new(&dy, (size_t)nt * out * 4, &err));
    TRY(dbuf_new(&dslot, (size_t)nt * 4, &err));
    TRY(dbuf_new(&dss, (size_t)(na + 1) * 4, &err));
    TRY(dbuf_new(&dst, (size_t)nt * 4, &err));
    TRY(dbuf_new(&dsl, (size_t)na * 4, &err));
    TRY(dbuf_new(&dtmp, (size_t)n_act * max_rank * 4, &err));
    TRY(dbuf_put(&dx, x, &err));
    TRY(dbuf_put(&dslot, slot, &err));
    TRY(dbuf_put(&dss, seg_start, &err));
    TRY(dbuf_put(&dst, seg_tok, &err));
    TRY(dbuf_put(&dsl, seg_slot, &err));
    for (int variant = bgmv ? 0 : 1; variant < 2; variant++) {
        TRY(dbuf_put(&dy, y, &err));
        if (variant == 0)
            TRY(pgr_cu_lora_bgmv(dptr(&dx), in, dptr(&dy), out, nt, dptr(&dslot), dtabs, 0,
                                 max_rank, NULL, &err));
        else
            TRY(pgr_cu_lora_sgmv(dptr(&dx), in, dptr(&dy), out, na, max_len, dptr(&dss),
                                 dptr(&dst), dptr(&dsl), dtabs, 0, max_rank, dptr(&dtmp), NULL,
                                 &err));
        TRY(pgr_cu_sync(&err));
        GET_OUT(dy, got, (size_t)nt * out);
        CHECK_MSG(compare(variant ? "sgmv" : "bgmv", got, ref, (size_t)nt * out, 1e-5, 1e-4) == 0,
                  "%s: %s", name, variant ? "sgmv" : "bgmv");
        for (int t = 0; t < nt; t++)
            if (slot[t] < 0)
                CHECK_MSG(memcmp(got + (size_t)t * out, y + (size_t)t * out, out * 4) == 0,
                          "%s: token %d has no adapter but changed", name, t);
    }
    /* rank over the limit: refused, nothing launched */
    CHECK(pgr_cu_lora_sgmv(dptr(&dx), in, dptr(&dy), out, na, max_len, dptr(&dss), dptr(&dst),
                           dptr(&dsl), dtabs, 0, 257, dptr(&dtmp), NULL, &err) == -1);
    CHECK_INT(err.code, PGR_EINVAL);
    dbuf_free(&dx), dbuf_free(&dy), dbuf_free(&dslot), dbuf_free(&dss), dbuf_free(&dst);
    dbuf_free(&dsl), dbuf_free(&dtmp);
    lora_free(na, dA, dBt, ddesc, dtabs);
    for (int i = 0; i < na; i++)
        free(A[i]), free(Bt[i]);
    free(x), free(y), free(ref), free(got), free(seg_start), free(seg_tok), free(seg_slot);
}

/* Three adapters at the q projection's shape (in DIM, out NH*HD), 12
 * tokens: BGMV and SGMV. */
static void test_lora(void)
{
    NEED_CUDA();
    const int ranks[3] = {8, 16, 4};
    const float scales[3] = {2.0f, 0.5f, 4.0f};
    const int32_t slot[12] = {0, 0, 0, 1, 1, -1, 2, 0, 1, -1, 2, 2};
    lora_case("q shape", 3, 12, DIM, NH * HD, ranks, scales, slot, 1);
}

/* SGMV's tiled path: segments longer than a tile (32 tokens) and of one
 * token, ranks over one 16-rank chunk and not a multiple of it, input and
 * output widths that are not multiples of the 128-column stage or of 256;
 * tokens interleaved across segments, some without an adapter. */
static void test_sgmv_tiles(void)
{
    NEED_CUDA();
    const int ranks[3] = {40, 16, 3};
    const float scales[3] = {0.5f, 2.0f, 1.0f};
    int32_t slot[150];
    for (int t = 0; t < 150; t++) /* 0: 97 tokens (4 tiles), 1: 50 (2), 2: one, -1: two */
        slot[t] = t == 77 ? 2 : t == 5 || t == 6 ? -1 : t % 3 == 1 ? 1 : 0;
    lora_case("tiles", 3, 150, 200, 300, ranks, scales, slot, 0);
}

/* LoReFT (rank 4) and DiReFT (rank 8) on the residual stream. */
static void test_reft(void)
{
    NEED_CUDA();
    pgr_err err = {0};
    enum { NA = 2, NT = 6 };
    const int ranks[NA] = {4, 8}, loreft[NA] = {1, 0}, max_rank = 8;
    const int32_t slot[NT] = {1, -1, 0, 0, 1, 1};
    float *R[NA], *W[NA], *bb[NA];
    void *dmem[NA], *ddesc[NA], *dtabs = NULL;
    float *h = malloc((size_t)NT * DIM * 4), *ref = malloc((size_t)NT * DIM * 4),
          *got = malloc((size_t)NT * DIM * 4);
    fill(h, (size_t)NT * DIM, 2.0f);
    memcpy(ref, h, (size_t)NT * DIM * 4);
    for (int a = 0; a < NA; a++) {
        const int r = ranks[a];
        R[a] = malloc((size_t)r * DIM * 4), W[a] = malloc((size_t)r * DIM * 4);
        bb[a] = malloc((size_t)r * 4);
        fill(R[a], (size_t)r * DIM, 0.04f);
        fill(W[a], (size_t)r * DIM, 0.04f);
        fill(bb[a], (size_t)r, 0.1f);
        TRY(pgr_cu_malloc(&dmem[a], (size_t)r * (2 * DIM + 1) * 4, &err));
        float *dm = dmem[a];
        TRY(pgr_cu_h2d(dm, R[a], (size_t)r * DIM * 4, &err));
        TRY(pgr_cu_h2d(dm + (size_t)r * DIM, W[a], (size_t)r * DIM * 4, &err));
        TRY(pgr_cu_h2d(dm + (size_t)2 * r * DIM, bb[a], (size_t)r * 4, &err));
        pgr_cu_reft d = {dm, dm + (size_t)r * DIM, dm + (size_t)2 * r * DIM, r, loreft[a]};
        TRY(pgr_cu_malloc(&ddesc[a], sizeof d, &err));
        TRY(pgr_cu_h2d(ddesc[a], &d, sizeof d, &err));
    }
    TRY(pgr_cu_malloc(&dtabs, sizeof ddesc, &err));
    TRY(pgr_cu_h2d(dtabs, ddesc, sizeof ddesc, &err));
    for (int t = 0; t < NT; t++) {
        const int a = slot[t];
        if (a < 0)
            continue;
        float *x = ref + (size_t)t * DIM;
        double u[8];
        for (int j = 0; j < ranks[a]; j++) {
            double wh = bb[a][j], rh = 0;
            for (int d = 0; d < DIM; d++) {
                wh += (double)W[a][(size_t)j * DIM + d] * x[d];
                rh += (double)R[a][(size_t)j * DIM + d] * x[d];
            }
            u[j] = loreft[a] ? wh - rh : wh;
        }
        for (int d = 0; d < DIM; d++) {
            double s = x[d];
            for (int j = 0; j < ranks[a]; j++)
                s += u[j] * R[a][(size_t)j * DIM + d];
            x[d] = (float)s;
        }
    }
    dbuf dh, dslot;
    TRY(dbuf_new(&dh, (size_t)NT * DIM * 4, &err));
    TRY(dbuf_new(&dslot, sizeof slot, &err));
    TRY(dbuf_put(&dh, h, &err));
    TRY(dbuf_put(&dslot, slot, &err));
    TRY(pgr_cu_reft_apply(dptr(&dh), DIM, NT, dptr(&dslot), dtabs, 0, max_rank, NULL, &err));
    TRY(pgr_cu_sync(&err));
    GET_OUT(dh, got, (size_t)NT * DIM);
    CHECK(compare("reft", got, ref, (size_t)NT * DIM, 1e-5, 1e-5) == 0);
    CHECK(memcmp(got + DIM, h + DIM, DIM * 4) == 0); /* token 1: no adapter */
    dbuf_free(&dh), dbuf_free(&dslot);
    for (int a = 0; a < NA; a++) {
        pgr_cu_free(dmem[a]), pgr_cu_free(ddesc[a]);
        free(R[a]), free(W[a]), free(bb[a]);
    }
    pgr_cu_free(dtabs);
    free(h), free(ref), free(got);
}

/* CPU twin of topk_topp_kernel (sample.cu). */
static int ref_sample(const float *x, int vocab, int k, float top_p, float temp, float u)
{
    float v[256];
    int idx[256];
    float *s = malloc((size_t)vocab * 4);
    memcpy(s, x, (size_t)vocab * 4);
    for (int j = 0; j < k; j++) {
        int b = 0;
        for (int i = 1; i < vocab; i++)
            if (s[i] > s[b])
                b = i;
        v[j] = s[b], idx[j] = b;
        s[b] = -INFINITY;
    }
    free(s);
    float sum = 0;
    for (int j = 0; j < k; j++) {
        v[j] = expf((v[j] - v[0]) / temp);
        sum += v[j];
    }
    int n = 0;
    float mass = 0;
    while (n < k) {
        mass += v[n] / sum;
        n++;
        if (mass >= top_p)
            break;
    }
    float target = u * mass * sum, c = 0;
    for (int j = 0; j < n; j++) {
        c += v[j];
        if (c > target)
            return idx[j];
    }
    return idx[n - 1];
}

static void test_argmax_sample(void)
{
    NEED_CUDA();
    pgr_err err = {0};
    enum { NR = 5 };
    float *lg = malloc((size_t)NR * VOCAB * 4);
    float u[NR] = {0.0f, 0.31f, 0.77f, 0.5f, 0.999f};
    int32_t got[NR];
    fill(lg, (size_t)NR * VOCAB, 8.0f);
    /* row 2: a tie at the maximum; argmax takes the lower index */
    lg[2 * VOCAB + 40000] = 20.0f;
    lg[2 * VOCAB + 123] = 20.0f;
    dbuf dl, dout, du, dscr;
    TRY(dbuf_new(&dl, (size_t)NR * VOCAB * 4, &err));
    TRY(dbuf_new(&dout, sizeof got, &err));
    TRY(dbuf_new(&du, sizeof u, &err));
    TRY(dbuf_new(&dscr, (size_t)NR * VOCAB * 4, &err));
    TRY(dbuf_put(&dl, lg, &err));
    TRY(dbuf_put(&du, u, &err));
    TRY(pgr_cu_argmax(dptr(&dl), NR, VOCAB, dptr(&dout), NULL, &err));
    TRY(pgr_cu_sync(&err));
    CHECK(dbuf_get(&dout, got, &err) == 0);
    for (int r = 0; r < NR; r++) {
        int b = 0;
        for (int i = 1; i < VOCAB; i++)
            if (lg[(size_t)r * VOCAB + i] > lg[(size_t)r * VOCAB + b])
                b = i;
        CHECK_MSG(got[r] == b, "argmax row %d: %d, want %d", r, got[r], b);
    }
    CHECK_INT(got[2], 123);
    const int ks[3] = {1, 40, 256};
    const float ps[3] = {1.0f, 0.9f, 0.5f}, temps[2] = {0.7f, 1.3f};
    for (int ki = 0; ki < 3; ki++)
        for (int pi = 0; pi < 3; pi++)
            for (int ti = 0; ti < 2; ti++) {
                TRY(pgr_cu_sample_topk_topp(dptr(&dl), NR, VOCAB, ks[ki], ps[pi], temps[ti],
                                            dptr(&du), dptr(&dscr), dptr(&dout), NULL, &err));
                TRY(pgr_cu_sync(&err));
                CHECK(dbuf_get(&dout, got, &err) == 0);
                for (int r = 0; r < NR; r++) {
                    int want = ref_sample(lg + (size_t)r * VOCAB, VOCAB, ks[ki], ps[pi],
                                          temps[ti], u[r]);
                    CHECK_MSG(got[r] == want, "sample k %d p %g T %g row %d: %d, want %d",
                              ks[ki], (double)ps[pi], (double)temps[ti], r, got[r], want);
                }
            }
    dbuf_free(&dl), dbuf_free(&dout), dbuf_free(&du), dbuf_free(&dscr);
    free(lg);
}
#else
/* Not compiled in (sanitizer and fuzz builds, no nvcc): each kernel test is
 * reported as skipped, by name. */
#define SKIPPED_TEST(name)                                                                 \
    static void name(void) { NEED_CUDA(); }
SKIPPED_TEST(test_dequant_and_embed)
SKIPPED_TEST(test_rmsnorm)
SKIPPED_TEST(test_rope)
SKIPPED_TEST(test_rope_kv_store)
SKIPPED_TEST(test_swiglu_add_gather)
SKIPPED_TEST(test_qmatvec)
SKIPPED_TEST(test_gemm_bf16)
SKIPPED_TEST(test_gemv_bf16)
SKIPPED_TEST(test_kv_attention)
SKIPPED_TEST(test_lora)
SKIPPED_TEST(test_sgmv_tiles)
SKIPPED_TEST(test_reft)
SKIPPED_TEST(test_argmax_sample)
#endif /* PEERGRAPH_CUDA */

/* Runs everywhere: without a device the backend says so, and cleanly. */
static void test_no_device_is_an_error(void)
{
    char why[1024];
    if (cuda_ready(why, sizeof why))
        SKIP("a CUDA device is present: nothing to check here");
    pgr_err err = {0};
    pgr_cuda_engine *ce = (pgr_cuda_engine *)1;
    CHECK(pgr_cuda_engine_new(NULL, &ce, &err) == -1);
    CHECK(ce == NULL);
    CHECK_INT(err.code, PGR_EUNSUPPORTED);
    CHECK(strlen(err.msg) > 10);
}

int main(void)
{
    RUN(test_no_device_is_an_error);
    RUN(test_dequant_and_embed);
    RUN(test_rmsnorm);
    RUN(test_rope);
    RUN(test_rope_kv_store);
    RUN(test_swiglu_add_gather);
    RUN(test_qmatvec);
    RUN(test_gemm_bf16);
    RUN(test_gemv_bf16);
    RUN(test_kv_attention);
    RUN(test_lora);
    RUN(test_sgmv_tiles);
    RUN(test_reft);
    RUN(test_argmax_sample);
    return check_summary("test_cuda_kernels");
}
