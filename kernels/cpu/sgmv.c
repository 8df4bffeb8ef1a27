/* Segmented low-rank updates for adapters (Punica's SGMV: shrink then expand
 * over each adapter's segment of the batch), see kernels.h.
 *
 * ref: scalar, one thread, the oracle. cpu: the same per-row arithmetic
 * shape with AVX2/FMA when the CPU has it, spread over the pool in two
 * phases: every row's u first (shrink), then every row's update (expand),
 * so x may be y (ReFT updates the residual stream in place).
 *
 * Blocking: a chunk's consecutive rows of one segment (one adapter) are a
 * block. Shrink walks A's rows outermost and the block's rows inside, so
 * each row of A (in floats) comes from L2 once per block and from L1 for the
 * other rows; expand walks 8-output groups outermost, so each group's slice
 * of B is loaded once per block. Only the loop order changes: every row's
 * u[j] and y[q] are still computed by the same instructions in the same
 * order as for that row alone.
 *
 * Batch independence: a row's result is computed by the same instructions in
 * the same order whatever else is in the batch and however the rows are cut
 * into chunks and blocks (chunks hold whole rows; column blocks are
 * multiples of 8 and never change which outputs are summed together), so a
 * request gets bitwise the same output alone or batched. */
#include <math.h>
#include <string.h>

#include "kernels/cpu/cpu_impl.h"

/* ---- reference ---------------------------------------------------------------- */
static void shrink_row_ref(const pgr_sgmv_seg *s, const float *x, int in, float *u)
{
    for (int j = 0; j < s->rank; j++) {
        const float *a = s->a + (size_t)j * in;
        float acc = 0;
        for (int i = 0; i < in; i++)
            acc += a[i] * x[i];
        float v = s->scale * acc;
        if (s->a2) {
            const float *a2 = s->a2 + (size_t)j * in;
            float acc2 = 0;
            for (int i = 0; i < in; i++)
                acc2 += a2[i] * x[i];
            v -= acc2;
        }
        if (s->bias)
            v += s->bias[j];
        u[j] = v;
    }
}

static void expand_row_ref(const pgr_sgmv_seg *s, const float *u, float *y, int q0, int q1,
                           int out)
{
    const int r = s->rank;
    if (s->b_rows) { /* b (r, out): y += sum_j u[j] * b[j] */
        for (int j = 0; j < r; j++) {
            const float *b = s->b + (size_t)j * out;
            for (int q = q0; q < q1; q++)
                y[q] += u[j] * b[q];
        }
    } else { /* b (out, r): y[q] += b[q] . u */
        for (int q = q0; q < q1; q++) {
            const float *b = s->b + (size_t)q * r;
            float acc = 0;
            for (int j = 0; j < r; j++)
                acc += b[j] * u[j];
            y[q] += acc;
        }
    }
}

static void ref_sgmv(pgr_kctx *ctx, int n_seg, const pgr_sgmv_seg *seg, const int32_t *rows,
                     const float *x, int in_dim, float *y, int out_dim)
{
    (void)ctx;
    float u[PGR_SGMV_MAX_RANK];
    for (int s = 0; s < n_seg; s++)
        for (int i = seg[s].begin; i < seg[s].end; i++) {
            shrink_row_ref(&seg[s], x + (size_t)rows[i] * in_dim, in_dim, u);
            expand_row_ref(&seg[s], u, y + (size_t)rows[i] * out_dim, 0, out_dim, out_dim);
        }
}

/* ---- fast (AVX2/FMA) rows ---------------------------------------------------------- */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define AVX2 __attribute__((target("avx2,fma")))

AVX2 static inline float hsum8(__m256 v)
{
    __m128 r = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
    r = _mm_add_ps(r, _mm_movehl_ps(r, r));
    r = _mm_add_ss(r, _mm_movehdup_ps(r));
    return _mm_cvtss_f32(r);
}

/* a . x over n: four 8-lane accumulators over 32-wide steps, then 8-wide,
 * then a scalar tail; the order depends on n only. */
AVX2 static float dot_avx2(const float *a, const float *x, int n)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(x + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(x + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(x + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(x + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8)
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(x + i), s0);
    float acc = hsum8(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++)
        acc += a[i] * x[i];
    return acc;
}

/* u_r = shrink(x_r) for the nr rows of a block (one segment): row j of A
 * (and of a2) is read from memory once for all nr rows. */
AVX2 static void shrink_block_avx2(const pgr_sgmv_seg *s, const float *const *x, int nr, int in,
                                   float *const *u)
{
    for (int j = 0; j < s->rank; j++) {
        const float *a = s->a + (size_t)j * in;
        const float *a2 = s->a2 ? s->a2 + (size_t)j * in : NULL;
        for (int r = 0; r < nr; r++) { /* one row's expression, as for the row alone */
            float v = s->scale * dot_avx2(a, x[r], in);
            if (a2)
                v -= dot_avx2(a2, x[r], in);
            if (s->bias)
                v += s->bias[j];
            u[r][j] = v;
        }
    }
}

/* y_r[q0..q1) += B u_r for the nr rows of a block (one segment), eight
 * outputs at a time for every row before the next eight, so each group's
 * slice of B is read from memory once per block. b (out, r) with
 * r % 8 == 0: a row's eight partial vectors are reduced together by a hadd
 * tree; b (r, out): y += u[j] * b[j] in order of j, eight outputs per FMA;
 * the rest one output at a time. */
AVX2 static void expand_block_avx2(const pgr_sgmv_seg *s, const float *const *u, float *const *y,
                                   int nr, int q0, int q1, int out)
{
    const int r = s->rank;
    int q = q0;
    if (s->b_rows) {
        for (; q + 8 <= q1; q += 8)
            for (int i = 0; i < nr; i++) {
                __m256 acc = _mm256_loadu_ps(y[i] + q);
                for (int j = 0; j < r; j++)
                    acc = _mm256_fmadd_ps(_mm256_set1_ps(u[i][j]),
                                          _mm256_loadu_ps(s->b + (size_t)j * out + q), acc);
                _mm256_storeu_ps(y[i] + q, acc);
            }
        for (; q < q1; q++)
            for (int i = 0; i < nr; i++) {
                float acc = y[i][q];
                for (int j = 0; j < r; j++)
                    acc = fmaf(u[i][j], s->b[(size_t)j * out + q], acc);
                y[i][q] = acc;
            }
        return;
    }
    if (r % 8 == 0) {
        for (; q + 8 <= q1; q += 8)
            for (int i = 0; i < nr; i++) {
                const float *ui = u[i];
                __m256 v[8];
                for (int k = 0; k < 8; k++) {
                    const float *b = s->b + (size_t)(q + k) * r;
                    __m256 a = _mm256_mul_ps(_mm256_loadu_ps(b), _mm256_loadu_ps(ui));
                    for (int j = 8; j < r; j += 8)
                        a = _mm256_fmadd_ps(_mm256_loadu_ps(b + j), _mm256_loadu_ps(ui + j), a);
                    v[k] = a;
                }
                __m256 s01 = _mm256_hadd_ps(v[0], v[1]), s23 = _mm256_hadd_ps(v[2], v[3]);
                __m256 s45 = _mm256_hadd_ps(v[4], v[5]), s67 = _mm256_hadd_ps(v[6], v[7]);
                __m256 lo = _mm256_hadd_ps(s01, s23), hi = _mm256_hadd_ps(s45, s67);
                __m256 sum = _mm256_add_ps(_mm256_permute2f128_ps(lo, hi, 0x20),
                                           _mm256_permute2f128_ps(lo, hi, 0x31));
                _mm256_storeu_ps(y[i] + q, _mm256_add_ps(_mm256_loadu_ps(y[i] + q), sum));
            }
    }
    for (; q < q1; q++)
        for (int i = 0; i < nr; i++)
            y[i][q] += dot_avx2(s->b + (size_t)q * r, u[i], r);
}
#define HAVE_AVX2_SGMV 1
#endif

/* ---- the threaded driver -------------------------------------------------------------- */
/* A chunk's rows are blocked by segment, so ROWS_PER_CHUNK is also the most
 * rows that share one read of A and B: 8 rows of x (576..1536 floats each)
 * and one row of A stay in L1/L2 together. */
enum { ROWS_PER_CHUNK = 8, COLS_PER_CHUNK = 512 };

typedef struct sgmv_job {
    const pgr_sgmv_seg *seg;
    const int32_t *rows;
    const int *seg_of; /* (n) segment of row i */
    const float *x;
    float *y;
    float *u; /* (n, max_rank) */
    int n, in_dim, out_dim, max_rank, col_chunks, avx2;
} sgmv_job;

/* The end of the block that starts at row i0 of a chunk ending at i1: the
 * run of rows in i0's segment. */
static int block_end(const sgmv_job *j, int i0, int i1)
{
    int e = i0 + 1;
    while (e < i1 && j->seg_of[e] == j->seg_of[i0])
        e++;
    return e;
}

static void shrink_task(void *arg, int chunk, int ith)
{
    (void)ith;
    const sgmv_job *j = arg;
    int i1 = (chunk + 1) * ROWS_PER_CHUNK < j->n ? (chunk + 1) * ROWS_PER_CHUNK : j->n;
    for (int i = chunk * ROWS_PER_CHUNK, e; i < i1; i = e) {
        e = block_end(j, i, i1);
        const pgr_sgmv_seg *s = &j->seg[j->seg_of[i]];
        const float *x[ROWS_PER_CHUNK];
        float *u[ROWS_PER_CHUNK];
        for (int k = i; k < e; k++) {
            x[k - i] = j->x + (size_t)j->rows[k] * j->in_dim;
            u[k - i] = j->u + (size_t)k * j->max_rank;
        }
#ifdef HAVE_AVX2_SGMV
        if (j->avx2) {
            shrink_block_avx2(s, x, e - i, j->in_dim, u);
            continue;
        }
#endif
        for (int k = 0; k < e - i; k++)
            shrink_row_ref(s, x[k], j->in_dim, u[k]);
    }
}

static void expand_task(void *arg, int chunk, int ith)
{
    (void)ith;
    const sgmv_job *j = arg;
    int rc = chunk / j->col_chunks, cc = chunk % j->col_chunks;
    int q0 = cc * COLS_PER_CHUNK;
    int q1 = q0 + COLS_PER_CHUNK < j->out_dim ? q0 + COLS_PER_CHUNK : j->out_dim;
    int i1 = (rc + 1) * ROWS_PER_CHUNK < j->n ? (rc + 1) * ROWS_PER_CHUNK : j->n;
    for (int i = rc * ROWS_PER_CHUNK, e; i < i1; i = e) {
        e = block_end(j, i, i1);
        const pgr_sgmv_seg *s = &j->seg[j->seg_of[i]];
        const float *u[ROWS_PER_CHUNK];
        float *y[ROWS_PER_CHUNK];
        for (int k = i; k < e; k++) {
            y[k - i] = j->y + (size_t)j->rows[k] * j->out_dim;
            u[k - i] = j->u + (size_t)k * j->max_rank;
        }
#ifdef HAVE_AVX2_SGMV
        if (j->avx2) {
            expand_block_avx2(s, u, y, e - i, q0, q1, j->out_dim);
            continue;
        }
#endif
        for (int k = 0; k < e - i; k++)
            expand_row_ref(s, u[k], y[k], q0, q1, j->out_dim);
    }
}

void pgr_cpu_sgmv(pgr_kctx *ctx, int n_seg, const pgr_sgmv_seg *seg, const int32_t *rows,
                  const float *x, int in_dim, float *y, int out_dim)
{
    int n = 0, max_rank = 1;
    for (int s = 0; s < n_seg; s++) {
        n = seg[s].end > n ? seg[s].end : n;
        max_rank = seg[s].rank > max_rank ? seg[s].rank : max_rank;
    }
    if (n == 0)
        return;
    /* scratch: u (n, max_rank) floats, then seg_of (n) ints */
    size_t ubytes = (size_t)n * (size_t)max_rank * sizeof(float);
    uint8_t *scratch = pgr_kctx_scratch(ctx, ubytes + (size_t)n * sizeof(int));
    if (!scratch) { /* out of memory for scratch: the reference needs none */
        ref_sgmv(ctx, n_seg, seg, rows, x, in_dim, y, out_dim);
        return;
    }
    int *seg_of = (int *)(scratch + ubytes);
    for (int s = 0; s < n_seg; s++)
        for (int i = seg[s].begin; i < seg[s].end; i++)
            seg_of[i] = s;
    sgmv_job j = {seg, rows, seg_of, x, y, (float *)scratch, n, in_dim, out_dim, max_rank,
                  (out_dim + COLS_PER_CHUNK - 1) / COLS_PER_CHUNK, pgr_use_avx2()};
    int row_chunks = (n + ROWS_PER_CHUNK - 1) / ROWS_PER_CHUNK;
    pgr_pool_run(ctx->pool, shrink_task, &j, row_chunks);
    pgr_pool_run(ctx->pool, expand_task, &j, row_chunks * j.col_chunks);
}

void pgr_ref_sgmv(pgr_kctx *ctx, int n_seg, const pgr_sgmv_seg *seg, const int32_t *rows,
                  const float *x, int in_dim, float *y, int out_dim)
{
    ref_sgmv(ctx, n_seg, seg, rows, x, in_dim, y, out_dim);
}
