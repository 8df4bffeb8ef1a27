/* kernels sgmv (the adapters' segmented low-rank update): the cpu table
 * (AVX2/FMA when present, threads) against the ref table (scalar, the
 * oracle) within tolerance, with sentinels around every output row; the cpu
 * result of a row alone is bitwise its result inside a large mixed call
 * (what "a request gets its solo tokens" rests on); x == y in place (ReFT);
 * exact zeros stay exact (LoRA B = 0, LoReFT W = R, b = 0). Then a small
 * timing of both tables. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/util.h"
#include "kernels/kernels.h"
#include "tests/check.h"

static uint64_t rng = 88172645463325252ull;
static float frand(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((rng >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}
static float *rand_vec(size_t n, float s)
{
    float *v = malloc(n * sizeof(float) + 1);
    for (size_t i = 0; i < n; i++)
        v[i] = s * frand();
    return v;
}

enum { MAXSEG = 8 };
typedef struct setup {
    int n_seg, n, in_dim, out_dim, in_place;
    pgr_sgmv_seg seg[MAXSEG];
    int32_t rows[256];
    float *x;     /* (n_tok, in_dim) */
    float *y0;    /* (n_tok, out_dim + 2 sentinels) initial */
    float *owned[4 * MAXSEG];
    int n_owned;
} setup;

static const float SENT = 12345.0f;
static int force_rank; /* nonzero: every segment has this rank */

/* Segments of varied rank (1, 3, 8, 16, 13, ...) over a shuffled row list;
 * segment g has lens[g] rows, or per_seg + g % 3 when lens is NULL. */
static void make_lens(setup *s, int n_seg, int per_seg, const int *lens, int in_dim, int out_dim,
                      int b_rows, int reft)
{
    memset(s, 0, sizeof *s);
    s->n_seg = n_seg, s->in_dim = in_dim, s->out_dim = out_dim, s->in_place = reft;
    static const int ranks[] = {1, 3, 8, 16, 13, 24, 4, 32};
    int n = 0;
    for (int g = 0; g < n_seg; g++) {
        pgr_sgmv_seg *q = &s->seg[g];
        q->begin = n;
        n += lens ? lens[g] : per_seg + g % 3;
        q->end = n;
        q->rank = force_rank ? force_rank : ranks[g % 8];
        q->a = s->owned[s->n_owned++] = rand_vec((size_t)q->rank * in_dim, 0.1f);
        if (reft) {
            q->a2 = s->owned[s->n_owned++] = rand_vec((size_t)q->rank * in_dim, 0.1f);
            q->bias = s->owned[s->n_owned++] = rand_vec((size_t)q->rank, 0.1f);
        }
        q->scale = reft ? 1.0f : 2.0f;
        q->b = s->owned[s->n_owned++] = rand_vec((size_t)q->rank * out_dim, 0.1f);
        q->b_rows = b_rows;
    }
    s->n = n;
    for (int i = 0; i < n; i++) /* rows in scrambled order: segments are not contiguous */
        s->rows[i] = (int32_t)((i * 37 + 11) % n);
    s->x = rand_vec((size_t)n * in_dim, 1.0f);
    s->y0 = malloc(sizeof(float) * (size_t)n * (out_dim + 2));
    for (int t = 0; t < n; t++) {
        float *r = s->y0 + (size_t)t * (out_dim + 2);
        r[0] = r[out_dim + 1] = SENT;
        for (int q = 0; q < out_dim; q++)
            r[q + 1] = reft ? s->x[(size_t)t * in_dim + q] : frand();
    }
}

static void make(setup *s, int n_seg, int per_seg, int in_dim, int out_dim, int b_rows, int reft)
{
    make_lens(s, n_seg, per_seg, NULL, in_dim, out_dim, b_rows, reft);
}

static void unmake(setup *s)
{
    for (int i = 0; i < s->n_owned; i++)
        free(s->owned[i]);
    free(s->x), free(s->y0);
}

/* Runs the table's sgmv on a copy of y0 (rows strided with sentinels: the
 * op sees out_dim-wide rows, so we pack, run, unpack). */
static float *run(const pgr_kernels *K, pgr_kctx *ctx, const setup *s, int n_seg,
                  const pgr_sgmv_seg *seg)
{
    size_t od = (size_t)s->out_dim;
    float *y = malloc(sizeof(float) * (size_t)s->n * (od + 2));
    memcpy(y, s->y0, sizeof(float) * (size_t)s->n * (od + 2));
    float *packed = malloc(sizeof(float) * (size_t)s->n * od + 1);
    for (int t = 0; t < s->n; t++)
        memcpy(packed + (size_t)t * od, y + (size_t)t * (od + 2) + 1, od * sizeof(float));
    const float *x = s->in_place ? packed : s->x;
    K->sgmv(ctx, n_seg, seg, s->rows, x, s->in_dim, packed, s->out_dim);
    for (int t = 0; t < s->n; t++)
        memcpy(y + (size_t)t * (od + 2) + 1, packed + (size_t)t * od, od * sizeof(float));
    free(packed);
    return y;
}

static void compare(const char *what, const setup *s, const float *ref, const float *got)
{
    size_t od = (size_t)s->out_dim;
    int bad = 0;
    double worst = 0;
    for (int t = 0; t < s->n && bad < 5; t++) {
        const float *r = ref + (size_t)t * (od + 2), *g = got + (size_t)t * (od + 2);
        if (g[0] != SENT || g[od + 1] != SENT) {
            CHECK_MSG(0, "%s: row %d: sentinel overwritten", what, t);
            bad++;
        }
        for (size_t q = 1; q <= od; q++) {
            double tol = 1e-5 + 1e-4 * fabs(r[q]);
            double d = fabs((double)g[q] - r[q]);
            if (!isfinite(g[q]) || d > tol) {
                if (bad++ < 5)
                    CHECK_MSG(0, "%s: row %d col %zu: %g vs ref %g", what, t, q - 1, g[q], r[q]);
            }
            worst = d > worst ? d : worst;
        }
    }
    printf("    %s: max |cpu - ref| %.2e\n", what, worst);
}

static void test_cpu_matches_ref(void)
{
    pgr_kctx *ctx = pgr_kctx_new(2);
    CHECK(ctx != NULL);
    static const struct {
        int n_seg, per, in, out, b_rows, reft;
        const char *name;
    } cases[] = {
        {5, 3, 576, 576, 0, 0, "lora q 576->576"},
        {7, 1, 576, 1536, 0, 0, "lora up 576->1536, one token each"},
        {3, 9, 1536, 576, 0, 0, "lora down 1536->576"},
        {4, 2, 100, 37, 0, 0, "lora odd dims"},
        {6, 4, 576, 576, 1, 1, "loreft in place"},
        {2, 5, 45, 45, 1, 1, "loreft odd dim"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        setup s;
        make(&s, cases[c].n_seg, cases[c].per, cases[c].in, cases[c].out, cases[c].b_rows,
             cases[c].reft);
        float *ref = run(pgr_kernels_ref(), ctx, &s, s.n_seg, s.seg);
        float *got = run(pgr_kernels_cpu(), ctx, &s, s.n_seg, s.seg);
        compare(cases[c].name, &s, ref, got);
        /* each row alone (its own one-row segment) is bitwise what it got in the
         * big call: the row list and the neighbours never matter */
        int mism = 0;
        for (int g = 0; g < s.n_seg; g++)
            for (int i = s.seg[g].begin; i < s.seg[g].end; i++) {
                setup one = s;
                one.rows[0] = s.rows[i];
                pgr_sgmv_seg sg = s.seg[g];
                sg.begin = 0, sg.end = 1;
                float *alone = run(pgr_kernels_cpu(), ctx, &one, 1, &sg);
                size_t at = (size_t)s.rows[i] * (s.out_dim + 2);
                if (memcmp(alone + at, got + at, sizeof(float) * (size_t)(s.out_dim + 2)) != 0)
                    mism++;
                free(alone);
            }
        CHECK_MSG(mism == 0, "%s: %d rows differ alone vs batched", cases[c].name, mism);
        free(ref), free(got);
        unmake(&s);
    }
    pgr_kctx_free(ctx);
}

/* The cpu kernel blocks a chunk's rows by segment (A and B read once per
 * block). Segments of odd lengths (1, 7, 8, 9, 13, 2, 17, 3 rows: blocks of
 * every size, runs that cross chunk boundaries, chunks that hold several
 * segments), ranks that are and are not multiples of 8, odd dims: the result
 * is bitwise the same when every segment is cut into one-row segments (each
 * row its own block) and when each is cut into pieces of 1, 2, 3... rows
 * (other block boundaries), and within tolerance of the reference. */
static void test_blocks_bitwise(void)
{
    pgr_kctx *ctx = pgr_kctx_new(2);
    static const int lens[MAXSEG] = {1, 7, 8, 9, 13, 2, 17, 3};
    static const struct {
        int in, out, b_rows, reft, rank;
        const char *name;
    } cases[] = {
        {576, 1536, 0, 0, 16, "lora 576->1536 rank 16"},
        {1536, 576, 0, 0, 0, "lora 1536->576 mixed ranks"},
        {100, 37, 0, 0, 13, "lora odd dims rank 13"},
        {576, 576, 1, 1, 8, "loreft in place rank 8"},
        {45, 45, 1, 1, 0, "loreft odd dim mixed ranks"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        setup s;
        force_rank = cases[c].rank;
        make_lens(&s, MAXSEG, 0, lens, cases[c].in, cases[c].out, cases[c].b_rows, cases[c].reft);
        force_rank = 0;
        float *got = run(pgr_kernels_cpu(), ctx, &s, s.n_seg, s.seg);
        float *ref = run(pgr_kernels_ref(), ctx, &s, s.n_seg, s.seg);
        compare(cases[c].name, &s, ref, got);
        size_t bytes = sizeof(float) * (size_t)s.n * (size_t)(s.out_dim + 2);
        for (int cut = 1; cut <= 3; cut++) {
            /* cut 1: one-row segments; cut 2, 3: pieces of 1, 2 / 1, 2, 3 rows in turn */
            pgr_sgmv_seg pieces[256];
            int np = 0;
            for (int g = 0; g < s.n_seg; g++)
                for (int i = s.seg[g].begin, k = 0; i < s.seg[g].end; k++) {
                    int len = cut == 1 ? 1 : 1 + k % cut;
                    pieces[np] = s.seg[g];
                    pieces[np].begin = i;
                    pieces[np].end = i + len < s.seg[g].end ? i + len : s.seg[g].end;
                    i = pieces[np++].end;
                }
            float *cutr = run(pgr_kernels_cpu(), ctx, &s, np, pieces);
            CHECK_MSG(memcmp(cutr, got, bytes) == 0, "%s: cut %d (%d segments) differs bitwise",
                      cases[c].name, cut, np);
            free(cutr);
        }
        free(got), free(ref);
        unmake(&s);
    }
    pgr_kctx_free(ctx);
}

/* LoRA with B = 0 and LoReFT with W = R, b = 0 add exact zeros. */
static void test_zero_updates(void)
{
    pgr_kctx *ctx = pgr_kctx_new(2);
    for (int reft = 0; reft < 2; reft++)
        for (int table = 0; table < 2; table++) {
            setup s;
            make(&s, 4, 3, 576, 576, reft, reft);
            for (int g = 0; g < s.n_seg; g++) {
                pgr_sgmv_seg *q = &s.seg[g];
                if (reft) {
                    memcpy((float *)q->a, q->a2, sizeof(float) * (size_t)q->rank * 576);
                    memset((float *)q->bias, 0, sizeof(float) * (size_t)q->rank);
                } else {
                    memset((float *)q->b, 0, sizeof(float) * (size_t)q->rank * 576);
                }
            }
            float *got = run(table ? pgr_kernels_cpu() : pgr_kernels_ref(), ctx, &s, s.n_seg, s.seg);
            CHECK_MSG(memcmp(got, s.y0, sizeof(float) * (size_t)s.n * 578) == 0,
                      "%s %s: output changed", reft ? "loreft W=R" : "lora B=0",
                      table ? "cpu" : "ref");
            free(got);
            unmake(&s);
        }
    pgr_kctx_free(ctx);
}

/* GFLOP/s of both tables on a decode-like call: 64 rows, 64 adapters of
 * rank 16, 576 -> 1536 (printed, not checked: the machine is shared). */
static void test_speed(void)
{
    pgr_kctx *ctx = pgr_kctx_new(2);
    setup s;
    force_rank = 16;
    make(&s, 8, 8, 576, 1536, 0, 0);
    force_rank = 0;
    double flop = 0;
    for (int g = 0; g < s.n_seg; g++)
        flop += 2.0 * (s.seg[g].end - s.seg[g].begin) * 16 * (576 + 1536);
    for (int table = 0; table < 2; table++) {
        const pgr_kernels *K = table ? pgr_kernels_cpu() : pgr_kernels_ref();
        int reps = 50;
        uint64_t t0 = pgr_now_us();
        for (int r = 0; r < reps; r++)
            free(run(K, ctx, &s, s.n_seg, s.seg));
        double us = (double)(pgr_now_us() - t0) / reps;
        printf("    sgmv %s: %d rows, rank 16, 576->1536: %.1f us, %.2f GFLOP/s\n", K->name, s.n,
               us, flop / us / 1e3);
    }
    unmake(&s);
    pgr_kctx_free(ctx);
}

int main(void)
{
    RUN(test_cpu_matches_ref);
    RUN(test_blocks_bitwise);
    RUN(test_zero_updates);
    RUN(test_speed);
    return check_summary("test_sgmv");
}
