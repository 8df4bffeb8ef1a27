/* Segmented low-rank updates for adapters (Punica's SGMV: shrink then expand
 * over each adapter's segment of the batch), see kernels.h.
 *
 * ref: scalar, one thread, the oracle. cpu: the same per-row arithmetic
 * shape with AVX2/FMA when the CPU has it, spread over the pool in two
 * phases: every row's u first (shrink), then every row's update (expand),
 * so x may be y (ReFT updates the residual stream in place).
 *
 * Batch independence: a row's result is computed by the same instructions in
 * the same order whatever else is in the batch and however the rows are cut
 * into chunks (chunks hold whole rows; column blocks are multiples of 8 and
 * never change which outputs are summed together), so a request gets bitwise
 * the same output alone or batched. */
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

AVX2 static void shrink_row_avx2(const pgr_sgmv_seg *s, const float *x, int in, float *u)
{
    for (int j = 0; j < s->rank; j++) {
        float v = s->scale * dot_avx2(s->a + (size_t)j * in, x, in);
        if (s->a2)
            v -= dot_avx2(s->a2 + (size_t)j * in, x, in);
        if (s->bias)
            v += s->bias[j];
        u[j] = v;
    }
}

/* y[q0..q1) += B u. b (out, r) with r % 8 == 0: eight outputs at a time,
 * their eight partial vectors reduced together by a hadd tree; b (r, out):
 * y += u[j] * b[j] in order of j, eight outputs per FMA. */
AVX2 static void expand_row_avx2(const pgr_sgmv_seg *s, const float *u, float *y, int q0, int q1,
                                 int out)
{
    const int r = s->rank;
    int q = q0;
    if (s->b_rows) {
        for (; q + 8 <= q1; q += 8) {
            __m256 acc = _mm256_loadu_ps(y + q);
            for (int j = 0; j < r; j++)
                acc = _mm256_fmadd_ps(_mm256_set1_ps(u[j]),
                                      _mm256_loadu_ps(s->b + (size_t)j * out + q), acc);
            _mm256_storeu_ps(y + q, acc);
        }
        for (; q < q1; q++) {
            float acc = y[q];
            for (int j = 0; j < r; j++)
                acc = fmaf(u[j], s->b[(size_t)j * out + q], acc);
            y[q] = acc;
        }
        return;
    }
    if (r % 8 == 0) {
        for (; q + 8 <= q1; q += 8) {
            __m256 v[8];
            for (int k = 0; k < 8; k++) {
                const float *b = s->b + (size_t)(q + k) * r;
                __m256 a = _mm256_mul_ps(_mm256_loadu_ps(b), _mm256_loadu_ps(u));
                for (int j = 8; j < r; j += 8)
                    a = _mm256_fmadd_ps(_mm256_loadu_ps(b + j), _mm256_loadu_ps(u + j), a);
                v[k] = a;
            }
            __m256 s01 = _mm256_hadd_ps(v[0], v[1]), s23 = _mm256_hadd_ps(v[2], v[3]);
            __m256 s45 = _mm256_hadd_ps(v[4], v[5]), s67 = _mm256_hadd_ps(v[6], v[7]);
            __m256 lo = _mm256_hadd_ps(s01, s23), hi = _mm256_hadd_ps(s45, s67);
            __m256 sum = _mm256_add_ps(_mm256_permute2f128_ps(lo, hi, 0x20),
                                       _mm256_permute2f128_ps(lo, hi, 0x31));
            _mm256_storeu_ps(y + q, _mm256_add_ps(_mm256_loadu_ps(y + q), sum));
        }
    }
    for (; q < q1; q++)
        y[q] += dot_avx2(s->b + (size_t)q * r, u, r);
}
#define HAVE_AVX2_SGMV 1
#endif

/* ---- the threaded driver -------------------------------------------------------------- */
enum { ROWS_PER_CHUNK = 4, COLS_PER_CHUNK = 512 };

typedef struct sgmv_job {
    const pgr_sgmv_seg *seg;
    const int32_t *rows;
    const int *seg_of; /* (n) segment of row i */
    const float *x;
    float *y;
    float *u; /* (n, max_rank) */
    int n, in_dim, out_dim, max_rank, col_chunks, avx2;
} sgmv_job;

static void shrink_task(void *arg, int chunk, int ith)
{
    (void)ith;
    const sgmv_job *j = arg;
    int i1 = (chunk + 1) * ROWS_PER_CHUNK < j->n ? (chunk + 1) * ROWS_PER_CHUNK : j->n;
    for (int i = chunk * ROWS_PER_CHUNK; i < i1; i++) {
        const pgr_sgmv_seg *s = &j->seg[j->seg_of[i]];
        const float *x = j->x + (size_t)j->rows[i] * j->in_dim;
        float *u = j->u + (size_t)i * j->max_rank;
#ifdef HAVE_AVX2_SGMV
        if (j->avx2) {
            shrink_row_avx2(s, x, j->in_dim, u);
            continue;
        }
#endif
        shrink_row_ref(s, x, j->in_dim, u);
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
    for (int i = rc * ROWS_PER_CHUNK; i < i1; i++) {
        const pgr_sgmv_seg *s = &j->seg[j->seg_of[i]];
        float *y = j->y + (size_t)j->rows[i] * j->out_dim;
        const float *u = j->u + (size_t)i * j->max_rank;
#ifdef HAVE_AVX2_SGMV
        if (j->avx2) {
            expand_row_avx2(s, u, y, q0, q1, j->out_dim);
            continue;
        }
#endif
        expand_row_ref(s, u, y, q0, q1, j->out_dim);
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
