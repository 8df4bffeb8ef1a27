/* The product with a transposed weight, for backward passes through frozen
 * quantised weights (inference/train.c): dx (n_tok, cols) += dy (n_tok, rows) · W.
 *
 * Why not dequantise whole matrices: the default model's weights are 93 MB
 * quantised and ~540 MB as float; a training step touches every matrix, so we
 * dequantise 64-row x 64-column tiles into per-thread scratch as we go (cost
 * rows*cols per call, against rows*cols*n_tok multiply-adds). Threads split
 * the columns (64 at a time), so no two threads write one dx element and the
 * result does not depend on the thread count. */
#include <string.h>

#include "kernels/cpu/cpu_impl.h"

#define MT_COLS 64 /* columns per chunk (a multiple of every block size: 32) */
#define MT_ROWS 64 /* rows per dequantised tile */

struct mt_job {
    const pgr_wmat *w;
    const float *dy;
    float *dx;
    int n_tok;
    float *scratch; /* (threads, MT_ROWS * MT_COLS) */
    size_t be, bb;  /* block elems, block bytes of w's type */
};

/* acc (wd) += sum_r dy[r] * tile[r] (wd) for r < nr */
static void axpy_tile_ref(float *acc, const float *tile, const float *dy, int nr, int wd)
{
    for (int r = 0; r < nr; r++) {
        const float a = dy[r];
        if (a == 0.0f)
            continue;
        const float *tr = tile + (size_t)r * MT_COLS;
        for (int c = 0; c < wd; c++)
            acc[c] += a * tr[c];
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
/* wd == MT_COLS: eight 8-wide accumulators held in registers over the tile */
__attribute__((target("avx2,fma"))) static void axpy_tile_avx2(float *acc, const float *tile,
                                                               const float *dy, int nr)
{
    __m256 s[8];
    for (int i = 0; i < 8; i++)
        s[i] = _mm256_loadu_ps(acc + 8 * i);
    for (int r = 0; r < nr; r++) {
        const __m256 a = _mm256_set1_ps(dy[r]);
        const float *tr = tile + (size_t)r * MT_COLS;
        for (int i = 0; i < 8; i++)
            s[i] = _mm256_fmadd_ps(a, _mm256_loadu_ps(tr + 8 * i), s[i]);
    }
    for (int i = 0; i < 8; i++)
        _mm256_storeu_ps(acc + 8 * i, s[i]);
}
#define HAVE_AVX2_AXPY 1
#endif

static void mt_task(void *arg, int chunk, int ith)
{
    struct mt_job *j = arg;
    const pgr_wmat *w = j->w;
    const int c0 = chunk * MT_COLS;
    const int wd = w->cols - c0 < MT_COLS ? w->cols - c0 : MT_COLS;
    float *tile = j->scratch + (size_t)ith * MT_ROWS * MT_COLS;
    const size_t src_off = (size_t)c0 / j->be * j->bb;
#ifdef HAVE_AVX2_AXPY
    const int fast = wd == MT_COLS && pgr_use_avx2();
#endif
    for (int r0 = 0; r0 < w->rows; r0 += MT_ROWS) {
        const int nr = w->rows - r0 < MT_ROWS ? w->rows - r0 : MT_ROWS;
        for (int r = 0; r < nr; r++) {
            const uint8_t *src = (const uint8_t *)w->data + (size_t)(r0 + r) * w->row_bytes + src_off;
            pgr_dequant_row(w->type, src, tile + (size_t)r * MT_COLS, (size_t)wd);
        }
        for (int t = 0; t < j->n_tok; t++) {
            float *acc = j->dx + (size_t)t * w->cols + c0;
            const float *dyt = j->dy + (size_t)t * w->rows + r0;
#ifdef HAVE_AVX2_AXPY
            if (fast) {
                axpy_tile_avx2(acc, tile, dyt, nr);
                continue;
            }
#endif
            axpy_tile_ref(acc, tile, dyt, nr, wd);
        }
    }
}

int pgr_cpu_matmul_t(pgr_kctx *ctx, const pgr_wmat *w, const float *dy, float *dx, int n_tok)
{
    struct mt_job j = {.w = w, .dy = dy, .dx = dx, .n_tok = n_tok};
    j.be = (size_t)pgr_kt_block_elems(w->type);
    j.bb = pgr_kt_block_bytes(w->type);
    if (n_tok < 1 || w->rows < 1)
        return 0;
    if (!j.be || !j.bb || MT_COLS % j.be || (size_t)w->cols % j.be)
        return -1;
    j.scratch = pgr_kctx_fscratch(ctx, (size_t)MT_ROWS * MT_COLS);
    if (!j.scratch)
        return -1;
    pgr_pool_run(ctx->pool, mt_task, &j, (w->cols + MT_COLS - 1) / MT_COLS);
    return 0;
}
