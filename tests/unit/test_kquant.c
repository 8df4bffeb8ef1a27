/* Q5_0 and the k-quants (Q4_K, Q6_K; Q8_K activations) against ggml itself
 * and against our own reference:
 *
 * - golden rows from tests/data/golden/kquant.bin (written by
 *   tests/golden/make_kquant_golden.py through llama-cpp-python's ggml):
 *   our model-file quantiser gives ggml's bytes exactly, our dequantisation
 *   gives ggml's floats exactly, our activation quantiser gives the CPU
 *   backend's bytes exactly, and our dot products equal its vec_dot;
 * - the AVX2 row kernels equal the reference bit for bit, and the threaded
 *   matmul equals the reference table on the model's shapes;
 * - the types' sizes and the row-length checks. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "graph/util.h"
#include "kernels/cpu/cpu_impl.h"
#include "kernels/kernels.h"

#define GOLDEN "tests/data/golden/kquant.bin"

static uint64_t rng = 0x2545f4914f6cdd1dull;
static float frand(void) /* uniform in [-1, 1) */
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 40) & 0xffffff) / 8388608.0f - 1.0f;
}

typedef struct {
    uint32_t wtype, atype, n, rows, rb, arb;
    const float *src, *deq, *act, *dot; /* (rows, n), (rows, n), (n), (rows) */
    const uint8_t *q, *aq;              /* (rows, rb), (arb) */
} gcase;

static char *gdata;
static size_t glen;
static gcase cases[16];
static int n_cases;

/* Parses the golden file, every length checked against what remains. */
static int load_golden(void)
{
    pgr_err err = {0};
    if (pgr_read_file(GOLDEN, &gdata, &glen, &err) != 0) {
        fprintf(stderr, "    %s\n", err.msg);
        return -1;
    }
    size_t off = 12;
    uint32_t hdr[2];
    if (glen < off || memcmp(gdata, "PGKQ", 4) != 0)
        return -1;
    memcpy(hdr, gdata + 4, 8);
    if (hdr[0] != 1 || hdr[1] > 16)
        return -1;
    for (uint32_t c = 0; c < hdr[1]; c++) {
        gcase *g = &cases[c];
        uint32_t h[6];
        if (glen - off < sizeof h)
            return -1;
        memcpy(h, gdata + off, sizeof h);
        off += sizeof h;
        g->wtype = h[0], g->atype = h[1], g->n = h[2], g->rows = h[3], g->rb = h[4], g->arb = h[5];
        if (g->n == 0 || g->n > 65536 || g->rows == 0 || g->rows > 64 || g->rb > 1u << 20 ||
            g->arb > 1u << 20)
            return -1;
        size_t fl = (size_t)g->rows * g->n * 4;
        size_t need = fl + (size_t)g->rows * g->rb + fl + (size_t)g->n * 4 + g->arb + g->rows * 4;
        if (glen - off < need)
            return -1;
        /* floats at 4-byte multiples from a malloc'd base: aligned enough */
        g->src = (const float *)(gdata + off), off += fl;
        g->q = (const uint8_t *)(gdata + off), off += (size_t)g->rows * g->rb;
        g->deq = (const float *)(gdata + off), off += fl;
        g->act = (const float *)(gdata + off), off += (size_t)g->n * 4;
        g->aq = (const uint8_t *)(gdata + off), off += g->arb;
        g->dot = (const float *)(gdata + off), off += (size_t)g->rows * 4;
    }
    n_cases = (int)hdr[1];
    return off == glen ? 0 : -1;
}

static void test_golden_loads(void)
{
    CHECK_MSG(load_golden() == 0, "%s is missing or malformed", GOLDEN);
    CHECK(n_cases == 6);
}

/* our row size must be ggml's for every golden type */
static void test_sizes(void)
{
    for (int c = 0; c < n_cases; c++) {
        size_t rb, arb;
        CHECK(pgr_kt_row_bytes((int)cases[c].wtype, cases[c].n, &rb) == 0);
        CHECK_INT(rb, cases[c].rb);
        CHECK(pgr_kt_row_bytes((int)cases[c].atype, cases[c].n, &arb) == 0);
        CHECK_INT(arb, cases[c].arb);
        CHECK_INT(pgr_act_type((int)cases[c].wtype), cases[c].atype);
    }
    size_t rb;
    CHECK(pgr_kt_row_bytes(PGR_KT_Q4_K, 1536, &rb) == 0 && rb == 6 * 144);
    CHECK(pgr_kt_row_bytes(PGR_KT_Q6_K, 4096, &rb) == 0 && rb == 16 * 210);
    CHECK(pgr_kt_row_bytes(PGR_KT_Q4_K, 576, &rb) == -1); /* 576 is not a multiple of 256 */
    CHECK(pgr_kt_row_bytes(PGR_KT_Q5_0, 576, &rb) == 0 && rb == 18 * 22);
    float x[256] = {0};
    uint8_t buf[512];
    CHECK(pgr_quant_row(PGR_KT_Q6_K, x, buf, 128) == -1);
    CHECK(pgr_quant_row_ggml(PGR_KT_Q8_K, x, buf, 256) == -1); /* never in files */
    CHECK_STR(pgr_kt_name(PGR_KT_Q4_K), "Q4_K");
}

static void test_quantise_like_ggml(void)
{
    if (!n_cases)
        SKIP("no golden data");
    for (int c = 0; c < n_cases; c++) {
        const gcase *g = &cases[c];
        uint8_t *q = malloc(g->rb);
        for (uint32_t r = 0; r < g->rows; r++) {
            CHECK(pgr_quant_row_ggml((int)g->wtype, g->src + (size_t)r * g->n, q, g->n) == 0);
            size_t first = 0;
            while (first < g->rb && q[first] == g->q[(size_t)r * g->rb + first])
                first++;
            if (first != g->rb) {
                const unsigned ours = q[first], theirs = g->q[(size_t)r * g->rb + first];
                free(q);
                CHECK_MSG(0, "%s row %u: byte %zu differs from ggml's (ours 0x%02x, ggml 0x%02x)",
                          pgr_kt_name((int)g->wtype), r, first, ours, theirs);
            }
        }
        free(q);
    }
}

static void test_dequantise_like_ggml(void)
{
    if (!n_cases)
        SKIP("no golden data");
    for (int c = 0; c < n_cases; c++) {
        const gcase *g = &cases[c];
        float *y = malloc(sizeof(float) * g->n);
        for (uint32_t r = 0; r < g->rows; r++) {
            CHECK(pgr_dequant_row((int)g->wtype, g->q + (size_t)r * g->rb, y, g->n) == 0);
            uint32_t i = 0;
            while (i < g->n && y[i] == g->deq[(size_t)r * g->n + i])
                i++;
            if (i < g->n) {
                const float ours = y[i], theirs = g->deq[(size_t)r * g->n + i];
                free(y);
                CHECK_MSG(0, "%s row %u: element %u is %.9g, ggml %.9g",
                          pgr_kt_name((int)g->wtype), r, i, ours, theirs);
            }
        }
        free(y);
    }
}

/* activations: the fast and the reference quantiser both give the CPU
 * backend's bytes; dot products give its vec_dot (exactly for the types whose
 * lanes we follow, to rounding for the older ones) */
static void test_activations_and_dots_like_ggml(void)
{
    if (!n_cases)
        SKIP("no golden data");
    if (!pgr_cpu_has_avx2())
        SKIP("the golden dot products come from llama.cpp's AVX2 build");
    for (int portable = 0; portable <= 1; portable++) {
        pgr_kernels_cpu_force_portable(portable);
        for (int c = 0; c < n_cases; c++) {
            const gcase *g = &cases[c];
            pgr_type_ops ref, fast;
            pgr_type_ops_ref((int)g->wtype, &ref);
            pgr_type_ops_fast((int)g->wtype, &fast);
            uint8_t *a = malloc(g->arb);
            fast.quant(g->act, a, g->n);
            int same = memcmp(a, g->aq, g->arb) == 0;
            ref.quant(g->act, a, g->n);
            same = same && memcmp(a, g->aq, g->arb) == 0;
            free(a);
            CHECK_MSG(same, "%s activations differ from ggml's", pgr_kt_name((int)g->atype));
            const int exact = g->wtype == PGR_KT_Q5_0 || g->wtype == PGR_KT_Q4_K ||
                              g->wtype == PGR_KT_Q6_K;
            for (uint32_t r = 0; r < g->rows; r++) {
                const uint8_t *w = g->q + (size_t)r * g->rb;
                const float want = g->dot[r], dr = ref.dot(w, g->aq, g->n),
                            df = fast.dot(w, g->aq, g->n);
                const double tol = exact ? 0 : 1e-5 * (fabs(want) + 1);
                CHECK_MSG(fabs(dr - want) <= tol && fabs(df - want) <= tol,
                          "%s row %u: ggml %.9g, ref %.9g, %s %.9g", pgr_kt_name((int)g->wtype), r,
                          want, dr, pgr_kernels_cpu_isa(), df);
            }
        }
    }
    pgr_kernels_cpu_force_portable(0);
}

/* every quantiser's round trip stays within its type's resolution */
static void test_roundtrip(void)
{
    const int types[] = {PGR_KT_Q5_0, PGR_KT_Q4_K, PGR_KT_Q6_K, PGR_KT_Q8_K};
    const double tol[] = {0.035, 0.07, 0.02, 0.006};
    float x[1024], y[1024];
    uint8_t buf[1200];
    for (int i = 0; i < 1024; i++)
        x[i] = frand() * (i % 97 == 0 ? 1.0f : 0.5f);
    for (size_t k = 0; k < sizeof types / sizeof *types; k++) {
        CHECK(pgr_quant_row(types[k], x, buf, 1024) == 0);
        CHECK(pgr_dequant_row(types[k], buf, y, 1024) == 0);
        double worst = 0;
        for (int i = 0; i < 1024; i++)
            worst = fmax(worst, fabs(x[i] - y[i]));
        CHECK_MSG(worst <= tol[k], "%s round trip: max error %g > %g", pgr_kt_name(types[k]), worst,
                  tol[k]);
    }
}

/* AVX2 row kernels == reference, bit for bit, on random rows */
static void test_fast_equals_ref(void)
{
    if (!pgr_cpu_has_avx2())
        SKIP("no AVX2 on this CPU: the fast table is the reference");
    const int types[] = {PGR_KT_Q5_0, PGR_KT_Q4_K, PGR_KT_Q6_K};
    const size_t n = 2048;
    float *x = malloc(n * sizeof(float)), *a = malloc(n * sizeof(float));
    uint8_t *w = malloc(n * 2), *q = malloc(n * 2);
    for (size_t k = 0; k < sizeof types / sizeof *types; k++)
        for (int trial = 0; trial < 20; trial++) {
            for (size_t i = 0; i < n; i++) {
                x[i] = frand() * 0.1f * (trial % 3 == 0 && i % 50 == 0 ? 10 : 1);
                a[i] = frand() * 3.0f;
            }
            pgr_type_ops ref, fast;
            pgr_type_ops_ref(types[k], &ref);
            pgr_type_ops_fast(types[k], &fast);
            CHECK(pgr_quant_row(types[k], x, w, n) == 0);
            ref.quant(a, q, n);
            const float dr = ref.dot(w, q, n), df = fast.dot(w, q, n);
            CHECK_MSG(dr == df, "%s trial %d: ref %.9g avx2 %.9g", pgr_kt_name(types[k]), trial, dr,
                      df);
        }
    free(x);
    free(a);
    free(w);
    free(q);
}

/* the threaded matmul on the shapes these types take in SmolLM2's Q4_K_M */
static void test_matmul(void)
{
    const struct {
        int type, rows, cols, ntok;
    } mm[] = {{PGR_KT_Q4_K, 576, 1536, 1}, {PGR_KT_Q4_K, 576, 1536, 37}, {PGR_KT_Q6_K, 576, 1536, 5},
              {PGR_KT_Q5_0, 1536, 576, 1}, {PGR_KT_Q5_0, 192, 576, 70}, {PGR_KT_Q6_K, 256, 512, 64}};
    for (size_t k = 0; k < sizeof mm / sizeof *mm; k++) {
        size_t rb;
        CHECK(pgr_kt_row_bytes(mm[k].type, (size_t)mm[k].cols, &rb) == 0);
        uint8_t *wd = malloc(rb * (size_t)mm[k].rows);
        float *row = malloc(sizeof(float) * (size_t)mm[k].cols);
        for (int r = 0; r < mm[k].rows; r++) {
            for (int i = 0; i < mm[k].cols; i++)
                row[i] = frand() * 0.05f;
            pgr_quant_row(mm[k].type, row, wd + (size_t)r * rb, (size_t)mm[k].cols);
        }
        const pgr_wmat w = {.type = mm[k].type, .rows = mm[k].rows, .cols = mm[k].cols,
                            .row_bytes = rb, .data = wd};
        const pgr_wmat *ws[1] = {&w};
        const size_t ny = (size_t)mm[k].ntok * mm[k].rows;
        float *x = malloc(sizeof(float) * (size_t)mm[k].ntok * mm[k].cols);
        float *yr = malloc(sizeof(float) * (ny + 1)), *yf = malloc(sizeof(float) * (ny + 1));
        for (size_t i = 0; i < (size_t)mm[k].ntok * mm[k].cols; i++)
            x[i] = frand() * 2;
        yf[ny] = -7.5f; /* sentinel */
        pgr_kctx *c1 = pgr_kctx_new(1), *c2 = pgr_kctx_new(2);
        pgr_kernels_ref()->matmul(c1, 1, ws, x, &yr, mm[k].ntok);
        pgr_kernels_cpu()->matmul(c2, 1, ws, x, &yf, mm[k].ntok);
        size_t bad = ny;
        for (size_t i = 0; i < ny && bad == ny; i++)
            if (yr[i] != yf[i])
                bad = i;
        const int sent = yf[ny] == -7.5f;
        pgr_kctx_free(c1);
        pgr_kctx_free(c2);
        const float r_bad = bad < ny ? yr[bad] : 0, f_bad = bad < ny ? yf[bad] : 0;
        free(wd), free(row), free(x), free(yr), free(yf);
        CHECK_MSG(bad == ny && sent, "%s %dx%d n_tok=%d: element %zu ref %.9g cpu %.9g%s",
                  pgr_kt_name(mm[k].type), mm[k].rows, mm[k].cols, mm[k].ntok, bad, r_bad, f_bad,
                  sent ? "" : " (sentinel overwritten)");
    }
}

int main(void)
{
    RUN(test_golden_loads);
    RUN(test_sizes);
    RUN(test_quantise_like_ggml);
    RUN(test_dequantise_like_ggml);
    RUN(test_activations_and_dots_like_ggml);
    RUN(test_roundtrip);
    RUN(test_fast_equals_ref);
    RUN(test_matmul);
    free(gdata);
    return check_summary("test_kquant");
}
