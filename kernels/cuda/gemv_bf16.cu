/* Small-batch decode projections on the bf16 weight copies: y (n_tok, rows)
 * (=|+=) x (n_tok, cols) · W^T for up to GV_MAX_MATS matrices that share one
 * input, in one launch, with float32 activations (no bf16 conversion of x)
 * and float32 accumulation. Reference: a double-precision loop over the same
 * bf16 weights (tests/unit/test_cuda_kernels.c, test_gemv_bf16).
 *
 * Why: at 1..8 tokens a projection is bound by reading W. On an H100 (G4,
 * 2026-11-23) cuBLAS read a (14336, 4096) bf16 matrix for one token at 72%
 * of the copy bandwidth, and every projection also paid a to_bf16 launch and,
 * for o and down, a separate residual add. Here
 *   - each warp streams GV_ROWS rows with 16-byte loads (8 weights a lane, the
 *     loop unrolled so that several loads per lane are in flight), evict-first
 *     (__ldcs: the weights are read once per step and must not push x out of
 *     L1/L2);
 *   - x is read as float4 through the read-only path; it is small (16 KB a
 *     token at 4096 columns) and shared by every warp, so it stays in L1;
 *   - q, k, v (and gate, up) go in one launch: one ramp instead of three, and
 *     the small k / v matrices fill the machine together with q;
 *   - `accumulate` adds into y: the o and down projections write straight
 *     into the residual stream.
 * The engine times this against cuBLAS for each projection group and batch
 * size when it starts and keeps the faster (engine.cu, gemv_calibrate), so a
 * device where cuBLAS wins keeps cuBLAS.
 *
 * Layout: the rows of all matrices are cut into pairs; warp w of block b
 * takes pair b * GV_WARPS + w; a pair belongs to the matrix whose range of
 * pairs holds it (first_pair prefix sums). NT (the template argument) is the
 * token capacity: 1, 2, 4 or 8, the tokens beyond n_tok skipped (warp-uniform
 * branches, so the shuffles below see every lane). */
#include "kernels/cuda/cuda_common.cuh"

#define GV_WARPS 8
#define GV_ROWS 2
/* 16-byte loads per row issued together: fewer at 8 tokens, whose
 * accumulators already take most of the registers */
#define GV_UNROLL(nt) ((nt) >= 8 ? 2 : 4)
#if GV_MAX_MATS != 3
#error "gemv_bf16_kernel selects among exactly three matrices"
#endif

struct gv_args {
    const uint16_t *w[GV_MAX_MATS];
    float *y[GV_MAX_MATS];
    int rows[GV_MAX_MATS];
    int first_pair[GV_MAX_MATS + 1]; /* unused matrices: first_pair = total */
};

/* 8 bf16 (little-endian pairs in each 32-bit word) to float */
__device__ __forceinline__ void bf16x8(const uint4 u, float f[8])
{
    f[0] = __uint_as_float(u.x << 16), f[1] = __uint_as_float(u.x & 0xffff0000u);
    f[2] = __uint_as_float(u.y << 16), f[3] = __uint_as_float(u.y & 0xffff0000u);
    f[4] = __uint_as_float(u.z << 16), f[5] = __uint_as_float(u.z & 0xffff0000u);
    f[6] = __uint_as_float(u.w << 16), f[7] = __uint_as_float(u.w & 0xffff0000u);
}

__device__ __forceinline__ float dot8(const float w[8], const float4 a, const float4 b, float s)
{
    s = fmaf(w[0], a.x, s), s = fmaf(w[1], a.y, s), s = fmaf(w[2], a.z, s);
    s = fmaf(w[3], a.w, s), s = fmaf(w[4], b.x, s), s = fmaf(w[5], b.y, s);
    s = fmaf(w[6], b.z, s), s = fmaf(w[7], b.w, s);
    return s;
}

/* One 16-byte slice (weights 8v .. 8v + 7) of both rows against every
 * token. Tokens past n_tok (NT is a capacity) re-read the last real row
 * instead of branching, so that the loads above stay in one basic block;
 * their sums are never written. */
template <int NT>
__device__ __forceinline__ void gv_step(const uint4 u0, const uint4 u1, const float4 *x4,
                                        int cols, int v, int n_tok, float acc0[NT],
                                        float acc1[NT])
{
    float f0[8], f1[8];
    bf16x8(u0, f0);
    bf16x8(u1, f1);
#pragma unroll
    for (int t = 0; t < NT; t++) {
        const int tt = t < n_tok ? t : n_tok - 1;
        const float4 *xr = x4 + (size_t)tt * (size_t)(cols >> 2) + 2 * v;
        const float4 xa = __ldg(xr), xb = __ldg(xr + 1);
        acc0[t] = dot8(f0, xa, xb, acc0[t]);
        acc1[t] = dot8(f1, xa, xb, acc1[t]);
    }
}

template <int NT>
__global__ void __launch_bounds__(GV_WARPS * 32)
    gemv_bf16_kernel(const gv_args a, int cols, const float *__restrict__ x, int n_tok,
                     int accumulate)
{
    const int lane = threadIdx.x & 31;
    const int pair = blockIdx.x * GV_WARPS + (threadIdx.x >> 5);
    if (pair >= a.first_pair[GV_MAX_MATS])
        return; /* whole warps: nothing below synchronises the block */
    /* selects, not a[m]: indexing the parameter struct with a runtime index
     * copies it to local memory */
    const int m1 = pair >= a.first_pair[1], m2 = pair >= a.first_pair[2];
    const int rows = m2 ? a.rows[2] : m1 ? a.rows[1] : a.rows[0];
    const int first = m2 ? a.first_pair[2] : m1 ? a.first_pair[1] : 0;
    const uint16_t *wm = m2 ? a.w[2] : m1 ? a.w[1] : a.w[0];
    float *ym = m2 ? a.y[2] : m1 ? a.y[1] : a.y[0];
    const int r0 = (pair - first) * GV_ROWS;
    const int two = r0 + 1 < rows; /* the last pair of an odd matrix has one row */
    const int nv = cols >> 3;      /* uint4 (8 weights) per row */
    const uint4 *w0 = (const uint4 *)(wm + (size_t)r0 * cols);
    const uint4 *w1 = two ? w0 + nv : w0; /* read twice, its sum dropped */
    const float4 *x4 = (const float4 *)x;
    float acc0[NT], acc1[NT];
#pragma unroll
    for (int t = 0; t < NT; t++)
        acc0[t] = 0.0f, acc1[t] = 0.0f;
    /* U 16-byte loads of each row issued before any is used (a lane keeps
     * 2 * U * 16 bytes in flight), then the remainder one at a time. */
    constexpr int U = GV_UNROLL(NT);
    int v = lane;
    for (; v + 32 * (U - 1) < nv; v += 32 * U) {
        uint4 u0[U], u1[U];
#pragma unroll
        for (int k = 0; k < U; k++)
            u0[k] = __ldcs(w0 + v + 32 * k), u1[k] = __ldcs(w1 + v + 32 * k);
#pragma unroll
        for (int k = 0; k < U; k++)
            gv_step<NT>(u0[k], u1[k], x4, cols, v + 32 * k, n_tok, acc0, acc1);
    }
    for (; v < nv; v += 32)
        gv_step<NT>(__ldcs(w0 + v), __ldcs(w1 + v), x4, cols, v, n_tok, acc0, acc1);
#pragma unroll
    for (int t = 0; t < NT; t++) {
        if (t < n_tok) {
            const float s0 = warp_sum(acc0[t]), s1 = warp_sum(acc1[t]);
            if (lane == 0) {
                float *y = ym + (size_t)t * rows + r0;
                y[0] = accumulate ? y[0] + s0 : s0;
                if (two)
                    y[1] = accumulate ? y[1] + s1 : s1;
            }
        }
    }
}

extern "C" int pgr_cu_gemv_bf16(const pgr_cu_gemv_mat *mats, int n_mats, int cols,
                                const float *d_x, int n_tok, int accumulate, void *stream,
                                pgr_err *err)
{
    gv_args a;
    long total = 0;
    ARG_CHECK(n_mats >= 1 && n_mats <= GV_MAX_MATS, "cuda gemv_bf16: %d matrices (1..%d)", n_mats,
              GV_MAX_MATS);
    ARG_CHECK(cols > 0 && cols % 8 == 0 && n_tok >= 1 && n_tok <= GV_MAX_TOK,
              "cuda gemv_bf16: %d columns (a multiple of 8), %d tokens (1..%d)", cols, n_tok,
              GV_MAX_TOK);
    ARG_CHECK(((uintptr_t)d_x & 15) == 0, "cuda gemv_bf16: x not 16-byte aligned");
    for (int i = 0; i < GV_MAX_MATS; i++) {
        a.first_pair[i] = (int)total;
        if (i < n_mats) {
            ARG_CHECK(mats[i].rows > 0 && mats[i].w && mats[i].y &&
                          ((uintptr_t)mats[i].w & 15) == 0,
                      "cuda gemv_bf16: matrix %d: %d rows, W %p (16-byte aligned), y %p", i,
                      mats[i].rows, (const void *)mats[i].w, (void *)mats[i].y);
            a.w[i] = mats[i].w, a.y[i] = mats[i].y, a.rows[i] = mats[i].rows;
            total += (mats[i].rows + GV_ROWS - 1) / GV_ROWS;
            ARG_CHECK(total < ((long)1 << 30), "cuda gemv_bf16: %ld row pairs", total);
        } else {
            a.w[i] = NULL, a.y[i] = NULL, a.rows[i] = 1;
        }
    }
    /* unused matrices start at the total: no pair maps to them */
    for (int i = n_mats; i <= GV_MAX_MATS; i++)
        a.first_pair[i] = (int)total;
    {
        const unsigned blocks = cu_blocks((size_t)total, GV_WARPS);
        const cudaStream_t st = CU_STREAM(stream);
        if (n_tok == 1)
            gemv_bf16_kernel<1><<<blocks, GV_WARPS * 32, 0, st>>>(a, cols, d_x, n_tok, accumulate);
        else if (n_tok == 2)
            gemv_bf16_kernel<2><<<blocks, GV_WARPS * 32, 0, st>>>(a, cols, d_x, n_tok, accumulate);
        else if (n_tok <= 4)
            gemv_bf16_kernel<4><<<blocks, GV_WARPS * 32, 0, st>>>(a, cols, d_x, n_tok, accumulate);
        else
            gemv_bf16_kernel<8><<<blocks, GV_WARPS * 32, 0, st>>>(a, cols, d_x, n_tok, accumulate);
        LAUNCHED("gemv_bf16_kernel");
    }
    return 0;
cleanup:
    return -1;
}
