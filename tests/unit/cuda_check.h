#ifndef PEERGRAPH_TEST_CUDA_CHECK_H
#define PEERGRAPH_TEST_CUDA_CHECK_H
/* Shared by the CUDA kernel tests (tests/unit/test_cuda_kernels.c,
 * test_cuda_train.c), llm.c / ggml style: random inputs, device buffers
 * framed by sentinel words and poisoned before a launch (an unwritten element
 * or a write out of bounds fails), comparison with tolerance abs + rel * |ref|
 * reporting the first mismatches by index. Include after check.h and
 * cuda_kernels.h, in a PEERGRAPH_CUDA build. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* SmolLM2-135M's shapes */
#define DIM 576
#define NH 9
#define NKV 3
#define HD 64
#define FFN 1536
#define VOCAB 49152

static uint64_t rng = 0x1234567;
static float frand(void) /* uniform in [-1, 1) */
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (float)(z >> 40) / 8388608.0f - 1.0f;
}
static void fill(float *x, size_t n, float scale)
{
    for (size_t i = 0; i < n; i++)
        x[i] = scale * frand();
}

/* ---- device buffers with sentinels ---- */
#define GUARD 64                          /* 32-bit words before and after */
static const uint32_t SENT = 0x7fbadbadu; /* a NaN no kernel produces */

typedef struct dbuf {
    uint8_t *base; /* device */
    size_t bytes;  /* payload */
} dbuf;

/* A device buffer whose payload and guards are all sentinel words. */
static int dbuf_new(dbuf *b, size_t bytes, pgr_err *err)
{
    size_t words = GUARD * 2 + (bytes + 3) / 4;
    uint32_t *h = malloc(words * 4);
    int rc = -1;
    b->bytes = bytes;
    b->base = NULL;
    if (!h)
        return -1;
    for (size_t i = 0; i < words; i++)
        h[i] = SENT;
    if (pgr_cu_malloc((void **)&b->base, words * 4, err) == 0 &&
        pgr_cu_h2d(b->base, h, words * 4, err) == 0)
        rc = 0;
    free(h);
    return rc;
}
static void *dptr(const dbuf *b)
{
    return b->base + GUARD * 4;
}
static int dbuf_put(dbuf *b, const void *h, pgr_err *err)
{
    return pgr_cu_h2d(dptr(b), h, b->bytes, err);
}
/* Copies the payload back; returns the number of damaged guard words (and
 * -1 on a CUDA error). */
static int dbuf_get(const dbuf *b, void *h, pgr_err *err)
{
    size_t words = GUARD * 2 + (b->bytes + 3) / 4;
    uint32_t *all = malloc(words * 4);
    int bad = 0;
    if (!all || pgr_cu_d2h(all, b->base, words * 4, err) != 0) {
        free(all);
        return -1;
    }
    memcpy(h, all + GUARD, b->bytes);
    for (size_t i = 0; i < GUARD; i++)
        bad += all[i] != SENT;
    for (size_t i = GUARD + (b->bytes + 3) / 4; i < words; i++)
        bad += all[i] != SENT;
    free(all);
    return bad;
}
static void dbuf_free(dbuf *b)
{
    pgr_cu_free(b->base);
}

/* Unwritten float outputs still hold the sentinel. */
static size_t unwritten(const float *x, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        c += u == SENT;
    }
    return c;
}

/* llm.c validate_result: |got - ref| <= atol + rtol |ref|, NaN never passes. */
static int compare(const char *what, const float *got, const float *ref, size_t n, double atol,
                   double rtol)
{
    int bad = 0;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)ref[i]);
        if (!isfinite(got[i]) || !(d <= atol + rtol * fabs((double)ref[i]))) {
            if (bad < 5)
                fprintf(stderr, "    %s[%zu]: got %.7g, want %.7g\n", what, i, (double)got[i],
                        (double)ref[i]);
            bad++;
        }
        if (d > worst)
            worst = d;
    }
    if (bad)
        fprintf(stderr, "    %s: %d of %zu mismatches (worst |diff| %.3g)\n", what, bad, n, worst);
    return bad;
}

#define TRY(x)                                                                                     \
    do {                                                                                           \
        if ((x) != 0)                                                                              \
            CHECK_FAIL_("%s: %s", #x, err.msg);                                                    \
    } while (0)

/* Runs a test body with fresh buffers; GOOD_OUT checks guards and writes. */
#define GET_OUT(buf, host, n)                                                                      \
    do {                                                                                           \
        int g_ = dbuf_get(&(buf), (host), &err);                                                   \
        CHECK_MSG(g_ == 0, "%s: %d guard words damaged (or CUDA error: %s)", #buf, g_, err.msg);   \
        CHECK_MSG(unwritten((const float *)(host), (n)) == 0, "%s: %zu outputs unwritten", #buf,   \
                  unwritten((const float *)(host), (n)));                                          \
    } while (0)

#endif
