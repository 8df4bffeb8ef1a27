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

#define MT_COLS 64 /* columns per inner pass */
#define MT_ROWS 64 /* rows per dequantised tile */
/* A chunk (one thread's columns) is MT_COLS wide, or one block for types whose
 * blocks are wider (k-quants: 256); its tile is MT_ROWS x chunk. */
#define MT_MAX_CHUNK 256

struct mt_job {
    const pgr_wmat *w;
    const float *dy;
    float *dx;
    int n_tok;
    float *scratch; /* (threads, MT_ROWS * MT_MAX_CHUNK) */
    size_t be, bb;  /* block elems, block bytes of w's type */
    int cw;         /* chunk width: max(MT_COLS, be) */
};

/* acc (wd) += sum_r dy[r] * tile[r] (wd) for r < nr; tile rows ld apart */
static void axpy_tile_ref(float *acc, const float *tile, size_t ld, const float *dy, int nr, int wd)
{
    for (int r = 0; r < nr; r++) {
        const float a = dy[r];
        if (a == 0.0f)
            continue;
        const float *tr = tile + (size_t)r * ld;
        for (int c = 0; c < wd; c++)
            acc[c] += a * tr[c];
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
/* A full 64-column tile times nt tokens: dx[t] (64) += sum_r dy[t][r] * tile[r].
 * Each 32-column half is done for three tokens at a time: 12 accumulators,
 * and each tile load feeds three FMAs (one token per pass measured ~2x slower:
 * it was bound by loads). */
__attribute__((target("avx2,fma"))) static void axpy_tile_avx2(float *dx, size_t ldx,
                                                               const float *tile, size_t ldt,
                                                               const float *dy, size_t ldy, int nr,
                                                               int nt)
{
    for (int h = 0; h < 2; h++) {
        const float *th = tile + 32 * h;
        int t = 0;
        for (; t + 3 <= nt; t += 3) {
            float *d0 = dx + (size_t)t * ldx + 32 * h, *d1 = d0 + ldx, *d2 = d1 + ldx;
            const float *y0 = dy + (size_t)t * ldy, *y1 = y0 + ldy, *y2 = y1 + ldy;
            __m256 a[3][4];
            for (int i = 0; i < 4; i++) {
                a[0][i] = _mm256_loadu_ps(d0 + 8 * i);
                a[1][i] = _mm256_loadu_ps(d1 + 8 * i);
                a[2][i] = _mm256_loadu_ps(d2 + 8 * i);
            }
            for (int r = 0; r < nr; r++) {
                const float *tr = th + (size_t)r * ldt;
                const __m256 w0 = _mm256_loadu_ps(tr), w1 = _mm256_loadu_ps(tr + 8),
                             w2 = _mm256_loadu_ps(tr + 16), w3 = _mm256_loadu_ps(tr + 24);
                const __m256 b0 = _mm256_broadcast_ss(y0 + r), b1 = _mm256_broadcast_ss(y1 + r),
                             b2 = _mm256_broadcast_ss(y2 + r);
                a[0][0] = _mm256_fmadd_ps(b0, w0, a[0][0]);
                a[0][1] = _mm256_fmadd_ps(b0, w1, a[0][1]);
                a[0][2] = _mm256_fmadd_ps(b0, w2, a[0][2]);
                a[0][3] = _mm256_fmadd_ps(b0, w3, a[0][3]);
                a[1][0] = _mm256_fmadd_ps(b1, w0, a[1][0]);
                a[1][1] = _mm256_fmadd_ps(b1, w1, a[1][1]);
                a[1][2] = _mm256_fmadd_ps(b1, w2, a[1][2]);
                a[1][3] = _mm256_fmadd_ps(b1, w3, a[1][3]);
                a[2][0] = _mm256_fmadd_ps(b2, w0, a[2][0]);
                a[2][1] = _mm256_fmadd_ps(b2, w1, a[2][1]);
                a[2][2] = _mm256_fmadd_ps(b2, w2, a[2][2]);
                a[2][3] = _mm256_fmadd_ps(b2, w3, a[2][3]);
            }
            for (int i = 0; i < 4; i++) {
                _mm256_storeu_ps(d0 + 8 * i, a[0][i]);
                _mm256_storeu_ps(d1 + 8 * i, a[1][i]);
                _mm256_storeu_ps(d2 + 8 * i, a[2][i]);
            }
        }
        for (; t < nt; t++) {
            float *d0 = dx + (size_t)t * ldx + 32 * h;
            const float *y0 = dy + (size_t)t * ldy;
            __m256 a[4];
            for (int i = 0; i < 4; i++)
                a[i] = _mm256_loadu_ps(d0 + 8 * i);
            for (int r = 0; r < nr; r++) {
                const float *tr = th + (size_t)r * ldt;
                const __m256 b0 = _mm256_broadcast_ss(y0 + r);
                for (int i = 0; i < 4; i++)
                    a[i] = _mm256_fmadd_ps(b0, _mm256_loadu_ps(tr + 8 * i), a[i]);
            }
            for (int i = 0; i < 4; i++)
                _mm256_storeu_ps(d0 + 8 * i, a[i]);
        }
    }
}
#define HAVE_AVX2_AXPY 1
#endif

static void mt_task(void *arg, int chunk, int ith)
{
    struct mt_job *j = arg;
    const pgr_wmat *w = j->w;
    const int c0 = chunk * j->cw;
    const int wd = w->cols - c0 < j->cw ? w->cols - c0 : j->cw;
    float *tile = j->scratch + (size_t)ith * MT_ROWS * MT_MAX_CHUNK;
    const size_t src_off = (size_t)c0 / j->be * j->bb, ld = (size_t)j->cw;
#ifdef HAVE_AVX2_AXPY
    const int avx2 = pgr_use_avx2();
#endif
    for (int r0 = 0; r0 < w->rows; r0 += MT_ROWS) {
        const int nr = w->rows - r0 < MT_ROWS ? w->rows - r0 : MT_ROWS;
        for (int r = 0; r < nr; r++) {
            const uint8_t *src =
                (const uint8_t *)w->data + (size_t)(r0 + r) * w->row_bytes + src_off;
            pgr_dequant_row(w->type, src, tile + (size_t)r * ld, (size_t)wd);
        }
        for (int s0 = 0; s0 < wd; s0 += MT_COLS) { /* MT_COLS-wide passes over the tile */
            const int sw = wd - s0 < MT_COLS ? wd - s0 : MT_COLS;
#ifdef HAVE_AVX2_AXPY
            if (avx2 && sw == MT_COLS) {
                axpy_tile_avx2(j->dx + c0 + s0, (size_t)w->cols, tile + s0, ld, j->dy + r0,
                               (size_t)w->rows, nr, j->n_tok);
                continue;
            }
#endif
            for (int t = 0; t < j->n_tok; t++)
                axpy_tile_ref(j->dx + (size_t)t * w->cols + c0 + s0, tile + s0, ld,
                              j->dy + (size_t)t * w->rows + r0, nr, sw);
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
    if (!j.be || !j.bb || j.be > MT_MAX_CHUNK || (size_t)w->cols % j.be ||
        (j.be > MT_COLS ? j.be % MT_COLS : MT_COLS % j.be))
        return -1;
    j.cw = j.be > MT_COLS ? (int)j.be : MT_COLS;
    j.scratch = pgr_kctx_fscratch(ctx, (size_t)MT_ROWS * MT_MAX_CHUNK);
    if (!j.scratch)
        return -1;
    pgr_pool_run(ctx->pool, mt_task, &j, (w->cols + j.cw - 1) / j.cw);
    return 0;
}
