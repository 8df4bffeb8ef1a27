/* AVX2/FMA row kernels, compiled with a target attribute so the file builds
 * on any x86-64 compiler flags and is only called when the CPU reports AVX2
 * and FMA at run time (pgr_cpu_has_avx2). Integer dot products as ggml does
 * on x86: unsigned-by-signed byte multiplies (maddubs) summed into int32. */
#include <math.h>
#include <string.h>

#include "kernels/cpu/cpu_impl.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#define AVX2 __attribute__((target("avx2,fma,f16c")))

int pgr_cpu_has_avx2(void)
{
    /* clang 14's __builtin_cpu_supports does not know "f16c": ask cpuid */
    unsigned a, b, c, d;
    __builtin_cpu_init();
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_F16C))
        return 0;
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

AVX2 static inline float hsum_ps(__m256 x)
{
    __m128 r = _mm_add_ps(_mm256_extractf128_ps(x, 1), _mm256_castps256_ps128(x));
    r = _mm_add_ps(r, _mm_movehl_ps(r, r));
    r = _mm_add_ss(r, _mm_movehdup_ps(r));
    return _mm_cvtss_f32(r);
}

AVX2 static inline int hsum_i32(__m256i x)
{
    __m128i r = _mm_add_epi32(_mm256_extracti128_si256(x, 1), _mm256_castsi256_si128(x));
    r = _mm_add_epi32(r, _mm_shuffle_epi32(r, _MM_SHUFFLE(1, 0, 3, 2)));
    r = _mm_add_epi32(r, _mm_shuffle_epi32(r, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(r);
}

AVX2 static inline float h2f(uint16_t h) { return _cvtsh_ss(h); }

/* 16 bytes of nibbles -> 32 bytes 0..15: low nibbles first, then high. */
AVX2 static inline __m256i nibbles(const uint8_t *qs)
{
    __m128i t = _mm_loadu_si128((const __m128i *)qs);
    __m256i b = _mm256_set_m128i(_mm_srli_epi16(t, 4), t);
    return _mm256_and_si256(b, _mm256_set1_epi8(15));
}

/* unsigned bytes u (0..127) times signed bytes s, summed in pairs then quads: 8 floats */
AVX2 static inline __m256 mul_sum_us8(__m256i u, __m256i s)
{
    __m256i p = _mm256_maddubs_epi16(u, s);
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(p, _mm256_set1_epi16(1)));
}
/* signed by signed: move the sign of x onto y so maddubs sees |x| */
AVX2 static inline __m256 mul_sum_i8(__m256i x, __m256i y)
{
    return mul_sum_us8(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
}

AVX2 static float dot_f32(const void *w, const void *a, size_t n)
{
    const float *x = w, *y = a;
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), s1);
    }
    float s = hsum_ps(_mm256_add_ps(s0, s1));
    for (; i < n; i++)
        s += x[i] * y[i];
    return s;
}

AVX2 static float dot_f16(const void *w, const void *a, size_t n)
{
    const uint16_t *x = w, *y = a;
    __m256 s0 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        s0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))),
                             _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(y + i))), s0);
    float s = hsum_ps(s0);
    for (; i < n; i++)
        s += h2f(x[i]) * h2f(y[i]);
    return s;
}

AVX2 static inline __m256 bf16x8(const uint16_t *p)
{
    __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}

AVX2 static float dot_bf16(const void *w, const void *a, size_t n)
{
    const uint16_t *x = w, *y = a;
    __m256 s0 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        s0 = _mm256_fmadd_ps(bf16x8(x + i), bf16x8(y + i), s0);
    float s = hsum_ps(s0);
    for (; i < n; i++)
        s += pgr_bf16_to_f32(x[i]) * pgr_bf16_to_f32(y[i]);
    return s;
}

AVX2 static float dot_q4_0(const void *w, const void *a, size_t n)
{
    const blk_q4_0 *x = w;
    const blk_q8_0 *y = a;
    __m256 acc = _mm256_setzero_ps();
    for (size_t b = 0; b < n / QK; b++) {
        __m256i qx = _mm256_sub_epi8(nibbles(x[b].qs), _mm256_set1_epi8(8));
        __m256i qy = _mm256_loadu_si256((const __m256i *)y[b].qs);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[b].d) * h2f(y[b].d)), mul_sum_i8(qx, qy), acc);
    }
    return hsum_ps(acc);
}

AVX2 static float dot_q4_1(const void *w, const void *a, size_t n)
{
    const blk_q4_1 *x = w;
    const blk_q8_1 *y = a;
    __m256 acc = _mm256_setzero_ps();
    float summs = 0;
    for (size_t b = 0; b < n / QK; b++) {
        summs += h2f(x[b].m) * h2f(y[b].s);
        __m256i qy = _mm256_loadu_si256((const __m256i *)y[b].qs);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[b].d) * h2f(y[b].d)),
                              mul_sum_us8(nibbles(x[b].qs), qy), acc);
    }
    return hsum_ps(acc) + summs;
}

AVX2 static float dot_q8_0(const void *w, const void *a, size_t n)
{
    const blk_q8_0 *x = w, *y = a;
    __m256 acc = _mm256_setzero_ps();
    for (size_t b = 0; b < n / QK; b++) {
        __m256i qx = _mm256_loadu_si256((const __m256i *)x[b].qs);
        __m256i qy = _mm256_loadu_si256((const __m256i *)y[b].qs);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[b].d) * h2f(y[b].d)), mul_sum_i8(qx, qy), acc);
    }
    return hsum_ps(acc);
}

/* One block of 32 floats -> 32 int8 (round half even) and its scale; returns sum of qs. */
AVX2 static inline int quant_block_q8(const float *x, int8_t *qs, float *dout)
{
    __m256 v0 = _mm256_loadu_ps(x), v1 = _mm256_loadu_ps(x + 8);
    __m256 v2 = _mm256_loadu_ps(x + 16), v3 = _mm256_loadu_ps(x + 24);
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 m = _mm256_andnot_ps(sign, v0);
    m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v1));
    m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v2));
    m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v3));
    __m128 m4 = _mm_max_ps(_mm256_extractf128_ps(m, 1), _mm256_castps256_ps128(m));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float amax = _mm_cvtss_f32(m4);
    *dout = amax / 127.f;
    const __m256 mul = _mm256_set1_ps(amax != 0.0f ? 127.f / amax : 0.0f);
#define rnd (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
    __m256i i0 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v0, mul), rnd));
    __m256i i1 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v1, mul), rnd));
    __m256i i2 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v2, mul), rnd));
    __m256i i3 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v3, mul), rnd));
    int sum = hsum_i32(_mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3)));
    i0 = _mm256_packs_epi32(i0, i1);
    i2 = _mm256_packs_epi32(i2, i3);
    i0 = _mm256_packs_epi16(i0, i2);
    /* packs work within 128-bit lanes: restore element order */
    i0 = _mm256_permutevar8x32_epi32(i0, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)qs, i0);
    return sum;
#undef rnd
}

AVX2 static void quant_q8_0(const float *x, void *vy, size_t n)
{
    blk_q8_0 *y = vy;
    for (size_t b = 0; b < n / QK; b++) {
        float d;
        quant_block_q8(x + b * QK, y[b].qs, &d);
        y[b].d = _cvtss_sh(d, 0);
    }
}

AVX2 static void quant_q8_1(const float *x, void *vy, size_t n)
{
    blk_q8_1 *y = vy;
    for (size_t b = 0; b < n / QK; b++) {
        float d;
        int sum = quant_block_q8(x + b * QK, y[b].qs, &d);
        y[b].d = _cvtss_sh(d, 0);
        y[b].s = _cvtss_sh(d * (float)sum, 0);
    }
}

AVX2 static void quant_f16(const float *x, void *vy, size_t n)
{
    uint16_t *y = vy;
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), 0));
    for (; i < n; i++)
        y[i] = _cvtss_sh(x[i], 0);
}

/* Blocked Q4_1 x Q8_1 kernel for several tokens: 2 weight rows x 4 tokens per
 * pass, so each unpacked weight block serves 4 tokens and each activation
 * block 2 rows. Same arithmetic per (row, token) as dot_q4_1. */
AVX2 static void gemm_q4_1(const uint8_t *w, size_t wrb, int r0, int r1, const uint8_t *a,
                           size_t arb, int nt, float *y, size_t ys, size_t n)
{
    const size_t nb = n / QK;
    int r = r0;
    for (; r + 2 <= r1; r += 2) {
        const blk_q4_1 *x0 = (const blk_q4_1 *)(w + (size_t)r * wrb);
        const blk_q4_1 *x1 = (const blk_q4_1 *)(w + (size_t)(r + 1) * wrb);
        int t = 0;
        for (; t + 4 <= nt; t += 4) {
            const blk_q8_1 *ya = (const blk_q8_1 *)(a + (size_t)t * arb);
            const blk_q8_1 *yb = (const blk_q8_1 *)(a + (size_t)(t + 1) * arb);
            const blk_q8_1 *yc = (const blk_q8_1 *)(a + (size_t)(t + 2) * arb);
            const blk_q8_1 *yd = (const blk_q8_1 *)(a + (size_t)(t + 3) * arb);
            __m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a03 = a00;
            __m256 a10 = a00, a11 = a00, a12 = a00, a13 = a00;
            float s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
            for (size_t b = 0; b < nb; b++) {
                const __m256i q0 = nibbles(x0[b].qs), q1 = nibbles(x1[b].qs);
                const float d0 = h2f(x0[b].d), d1 = h2f(x1[b].d);
                const float m0 = h2f(x0[b].m), m1 = h2f(x1[b].m);
#define PGR_Q41_STEP(Y, A0, A1, S0, S1)                                                     \
    do {                                                                                   \
        const __m256i qy = _mm256_loadu_si256((const __m256i *)Y[b].qs);                   \
        const float dy = h2f(Y[b].d), sy = h2f(Y[b].s);                                    \
        A0 = _mm256_fmadd_ps(_mm256_set1_ps(d0 * dy), mul_sum_us8(q0, qy), A0);            \
        A1 = _mm256_fmadd_ps(_mm256_set1_ps(d1 * dy), mul_sum_us8(q1, qy), A1);            \
        S0 += m0 * sy;                                                                     \
        S1 += m1 * sy;                                                                     \
    } while (0)
                PGR_Q41_STEP(ya, a00, a10, s00, s10);
                PGR_Q41_STEP(yb, a01, a11, s01, s11);
                PGR_Q41_STEP(yc, a02, a12, s02, s12);
                PGR_Q41_STEP(yd, a03, a13, s03, s13);
#undef PGR_Q41_STEP
            }
            y[(size_t)t * ys + r] = hsum_ps(a00) + s00;
            y[(size_t)(t + 1) * ys + r] = hsum_ps(a01) + s01;
            y[(size_t)(t + 2) * ys + r] = hsum_ps(a02) + s02;
            y[(size_t)(t + 3) * ys + r] = hsum_ps(a03) + s03;
            y[(size_t)t * ys + r + 1] = hsum_ps(a10) + s10;
            y[(size_t)(t + 1) * ys + r + 1] = hsum_ps(a11) + s11;
            y[(size_t)(t + 2) * ys + r + 1] = hsum_ps(a12) + s12;
            y[(size_t)(t + 3) * ys + r + 1] = hsum_ps(a13) + s13;
        }
        for (; t < nt; t++) {
            y[(size_t)t * ys + r] = dot_q4_1(x0, a + (size_t)t * arb, n);
            y[(size_t)t * ys + r + 1] = dot_q4_1(x1, a + (size_t)t * arb, n);
        }
    }
    for (; r < r1; r++)
        for (int t = 0; t < nt; t++)
            y[(size_t)t * ys + r] = dot_q4_1(w + (size_t)r * wrb, a + (size_t)t * arb, n);
}

/* Q5_0 block -> 32 signed bytes: nibbles with the fifth bit from qh; a
 * clear bit turns the byte into nibble - 16 by setting its top four bits. */
AVX2 static inline __m256i q5_0_bytes(const blk_q5_0 *x)
{
    const __m256i spread = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
                                             0x0101010101010101, 0x0000000000000000);
    uint32_t qh;
    memcpy(&qh, x->qh, 4);
    /* byte j = 0xff when bit j of qh is set */
    __m256i set = _mm256_shuffle_epi8(_mm256_set1_epi32((int)qh), spread);
    set = _mm256_cmpeq_epi8(_mm256_or_si256(set, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe)),
                            _mm256_set1_epi64x(-1));
    return _mm256_or_si256(nibbles(x->qs), _mm256_andnot_si256(set, _mm256_set1_epi8((char)0xf0)));
}

AVX2 static float dot_q5_0(const void *w, const void *a, size_t n)
{
    const blk_q5_0 *x = w;
    const blk_q8_0 *y = a;
    __m256 acc = _mm256_setzero_ps();
    for (size_t b = 0; b < n / QK; b++) {
        const __m256i qy = _mm256_loadu_si256((const __m256i *)y[b].qs);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(x[b].d) * h2f(y[b].d)), mul_sum_i8(q5_0_bytes(&x[b]), qy), acc);
    }
    return hsum_ps(acc);
}

/* Blocked kernel for the weight types multiplied by Q8_0 activations (Q4_0,
 * Q5_0, Q8_0): 2 weight rows x 4 tokens per pass, so a weight block is
 * unpacked once for 4 tokens. Per (row, token) the same operations in the
 * same order as the type's dot product (and so as llama.cpp's vec_dot and
 * tinyBLAS, which agree). The weight type is a compile-time constant in each
 * instantiation below. */
AVX2 static inline __m256i q8act_weight_bytes(int type, const uint8_t *row, size_t b)
{
    if (type == PGR_KT_Q5_0)
        return q5_0_bytes((const blk_q5_0 *)row + b);
    if (type == PGR_KT_Q4_0)
        return _mm256_sub_epi8(nibbles(((const blk_q4_0 *)row)[b].qs), _mm256_set1_epi8(8));
    return _mm256_loadu_si256((const __m256i *)((const blk_q8_0 *)row)[b].qs);
}
AVX2 static inline float q8act_weight_d(int type, const uint8_t *row, size_t b)
{
    return type == PGR_KT_Q5_0 ? h2f(((const blk_q5_0 *)row)[b].d)
           : type == PGR_KT_Q4_0 ? h2f(((const blk_q4_0 *)row)[b].d)
                                 : h2f(((const blk_q8_0 *)row)[b].d);
}

__attribute__((always_inline, target("avx2,fma,f16c"))) static inline void
gemm_q8act(int type, pgr_dot_fn dot, const uint8_t *w, size_t wrb, int r0, int r1,
           const uint8_t *a, size_t arb, int nt, float *y, size_t ys, size_t n)
{
    const size_t nb = n / QK;
    int r = r0;
    for (; r + 2 <= r1; r += 2) {
        const uint8_t *x0 = w + (size_t)r * wrb, *x1 = w + (size_t)(r + 1) * wrb;
        int t = 0;
        for (; t + 4 <= nt; t += 4) {
            const blk_q8_0 *ya[4];
            for (int k = 0; k < 4; k++)
                ya[k] = (const blk_q8_0 *)(a + (size_t)(t + k) * arb);
            __m256 acc0[4], acc1[4];
            for (int k = 0; k < 4; k++)
                acc0[k] = acc1[k] = _mm256_setzero_ps();
            for (size_t b = 0; b < nb; b++) {
                const __m256i q0 = q8act_weight_bytes(type, x0, b), q1 = q8act_weight_bytes(type, x1, b);
                /* mul_sum_i8's sign trick, the weight half done once per block */
                const __m256i s0 = _mm256_sign_epi8(q0, q0), s1 = _mm256_sign_epi8(q1, q1);
                const float d0 = q8act_weight_d(type, x0, b), d1 = q8act_weight_d(type, x1, b);
                for (int k = 0; k < 4; k++) {
                    const __m256i qy = _mm256_loadu_si256((const __m256i *)ya[k][b].qs);
                    const float dy = h2f(ya[k][b].d);
                    acc0[k] = _mm256_fmadd_ps(_mm256_set1_ps(d0 * dy), mul_sum_us8(s0, _mm256_sign_epi8(qy, q0)), acc0[k]);
                    acc1[k] = _mm256_fmadd_ps(_mm256_set1_ps(d1 * dy), mul_sum_us8(s1, _mm256_sign_epi8(qy, q1)), acc1[k]);
                }
            }
            for (int k = 0; k < 4; k++) {
                y[(size_t)(t + k) * ys + r] = hsum_ps(acc0[k]);
                y[(size_t)(t + k) * ys + r + 1] = hsum_ps(acc1[k]);
            }
        }
        for (; t < nt; t++) {
            y[(size_t)t * ys + r] = dot(x0, a + (size_t)t * arb, n);
            y[(size_t)t * ys + r + 1] = dot(x1, a + (size_t)t * arb, n);
        }
    }
    for (; r < r1; r++)
        for (int t = 0; t < nt; t++)
            y[(size_t)t * ys + r] = dot(w + (size_t)r * wrb, a + (size_t)t * arb, n);
}

/* Q4_K x Q8_K as llama.cpp's AVX2 kernel sums it (see kquant.c): per
 * super-block, integer sums in 8 lanes scaled by the 6-bit sub-block scales,
 * one fused multiply-add by d, and the minimum term from Q8_K's block sums. */
AVX2 static float dot_q4_K(const void *w, const void *a, size_t n)
{
    const blk_q4_K *x = w;
    const blk_q8_K *y = a;
    const __m256i m4 = _mm256_set1_epi8(15);
    __m256 acc = _mm256_setzero_ps();
    __m128 acc_m = _mm_setzero_ps();
    for (size_t b = 0; b < n / QK_K; b++) {
        const float d = y[b].d * h2f(x[b].d), dmin = -y[b].d * h2f(x[b].dmin);
        uint8_t sm[16]; /* scales 0-7 then mins 0-7 */
        pgr_k4_scales(x[b].scales, sm, sm + 8);
        const __m256i ms = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)sm));
        const __m256i bs = _mm256_loadu_si256((const __m256i *)y[b].bsums);
        const __m128i s32 = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
        const __m128i prod = _mm_madd_epi16(_mm256_extracti128_si256(ms, 1), s32);
        acc_m = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(prod), acc_m);
        __m256i sumi = _mm256_setzero_si256();
        for (int c = 0; c < 4; c++) {
            const __m256i q = _mm256_loadu_si256((const __m256i *)(x[b].qs + 32 * c));
            const __m256i ql = _mm256_and_si256(q, m4);
            const __m256i qh = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            const __m256i yl = _mm256_loadu_si256((const __m256i *)(y[b].qs + 64 * c));
            const __m256i yh = _mm256_loadu_si256((const __m256i *)(y[b].qs + 64 * c + 32));
            const __m256i pl = _mm256_madd_epi16(_mm256_set1_epi16(sm[2 * c]), _mm256_maddubs_epi16(ql, yl));
            const __m256i ph = _mm256_madd_epi16(_mm256_set1_epi16(sm[2 * c + 1]), _mm256_maddubs_epi16(qh, yh));
            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(pl, ph));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    acc_m = _mm_add_ps(acc_m, _mm_movehl_ps(acc_m, acc_m));
    acc_m = _mm_add_ss(acc_m, _mm_movehdup_ps(acc_m));
    return hsum_ps(acc) + _mm_cvtss_f32(acc_m);
}

/* Q6_K x Q8_K: levels 0..63 times q8 (exact in int16), scaled per 16
 * elements, minus 32 * scale * block sum at the end, in llama.cpp's lanes. */
AVX2 static float dot_q6_K(const void *w, const void *a, size_t n)
{
    const blk_q6_K *x = w;
    const blk_q8_K *y = a;
    const __m256i m4 = _mm256_set1_epi8(15), m2 = _mm256_set1_epi8(3);
    __m256 acc = _mm256_setzero_ps();
    for (size_t b = 0; b < n / QK_K; b++) {
        const float d = y[b].d * h2f(x[b].d);
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)x[b].scales));
        const __m256i bsum = _mm256_loadu_si256((const __m256i *)y[b].bsums);
        __m256i sumi = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            const __m256i l1 = _mm256_loadu_si256((const __m256i *)(x[b].ql + 64 * h));
            const __m256i l2 = _mm256_loadu_si256((const __m256i *)(x[b].ql + 64 * h + 32));
            const __m256i hb = _mm256_loadu_si256((const __m256i *)(x[b].qh + 32 * h));
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_slli_epi16(_mm256_and_si256(hb, m2), 4));
            q[1] = _mm256_or_si256(_mm256_and_si256(l2, m4),
                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 2), m2), 4));
            q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 4), m2), 4));
            q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l2, 4), m4),
                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 6), m2), 4));
            for (int k = 0; k < 4; k++) {
                const __m256i qy = _mm256_loadu_si256((const __m256i *)(y[b].qs + 128 * h + 32 * k));
                const int s = 8 * h + 2 * k; /* scales s (bytes 0-15) and s + 1 (16-31) */
                const __m256i sc = _mm256_set_m128i(_mm_set1_epi16(x[b].scales[s + 1]), _mm_set1_epi16(x[b].scales[s]));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(sc, _mm256_maddubs_epi16(q[k], qy)));
            }
        }
        sumi = _mm256_sub_epi32(sumi, _mm256_slli_epi32(_mm256_madd_epi16(bsum, sc16), 5));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    return hsum_ps(acc);
}

AVX2 static void gemm_q5_0(const uint8_t *w, size_t wrb, int r0, int r1, const uint8_t *a,
                           size_t arb, int nt, float *y, size_t ys, size_t n)
{
    gemm_q8act(PGR_KT_Q5_0, dot_q5_0, w, wrb, r0, r1, a, arb, nt, y, ys, n);
}
AVX2 static void gemm_q4_0(const uint8_t *w, size_t wrb, int r0, int r1, const uint8_t *a,
                           size_t arb, int nt, float *y, size_t ys, size_t n)
{
    gemm_q8act(PGR_KT_Q4_0, dot_q4_0, w, wrb, r0, r1, a, arb, nt, y, ys, n);
}
AVX2 static void gemm_q8_0(const uint8_t *w, size_t wrb, int r0, int r1, const uint8_t *a,
                           size_t arb, int nt, float *y, size_t ys, size_t n)
{
    gemm_q8act(PGR_KT_Q8_0, dot_q8_0, w, wrb, r0, r1, a, arb, nt, y, ys, n);
}

void pgr_type_ops_fast(int wtype, pgr_type_ops *ops)
{
    pgr_type_ops_ref(wtype, ops);
    if (!pgr_use_avx2() || !ops->dot)
        return;
    switch (wtype) {
    case PGR_KT_F32: ops->dot = dot_f32; break;
    case PGR_KT_F16: ops->dot = dot_f16; ops->quant = quant_f16; break;
    case PGR_KT_BF16: ops->dot = dot_bf16; break;
    case PGR_KT_Q4_0: ops->dot = dot_q4_0; ops->quant = quant_q8_0; break;
    case PGR_KT_Q4_1: ops->dot = dot_q4_1; ops->quant = quant_q8_1; break;
    case PGR_KT_Q8_0: ops->dot = dot_q8_0; ops->quant = quant_q8_0; break;
    case PGR_KT_Q5_0: ops->dot = dot_q5_0; ops->quant = quant_q8_0; break;
    case PGR_KT_Q4_K: ops->dot = dot_q4_K; break; /* Q8_K: the reference quantiser, as ggml on x86 */
    case PGR_KT_Q6_K: ops->dot = dot_q6_K; break;
    default: break;
    }
}

pgr_gemm_fn pgr_gemm_fast(int wtype)
{
    if (!pgr_use_avx2())
        return NULL;
    switch (wtype) {
    case PGR_KT_Q4_1: return gemm_q4_1;
    case PGR_KT_Q4_0: return gemm_q4_0;
    case PGR_KT_Q5_0: return gemm_q5_0;
    case PGR_KT_Q8_0: return gemm_q8_0;
    default: return NULL;
    }
}

/* ---- llama.cpp-compatible numerics --------------------------------------------
 * The model amplifies tiny float differences: one activation rounding
 * differently before Q8 quantisation moves the logits by hundredths. So where
 * llama.cpp's CPU backend has a particular order of operations, the AVX2 path
 * does the same operations in the same order, and agrees with it bit for bit.
 *
 * exp: the single-precision algorithm of ARM's optimized-routines that ggml
 * uses for softmax and SiLU: n = round(x / ln2) via the 1.5*2^23 shift, a
 * two-part ln2 reduction, a degree-5 polynomial, scaling by 2^n through the
 * exponent bits, with a separate path when |n| > 126 (and 0 / inf past 192). */
AVX2 static inline __m256 v_expf(__m256 x)
{
    const __m256 shift = _mm256_set1_ps(0x1.8p23f);
    const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), shift);
    const __m256 n = _mm256_sub_ps(z, shift);
    const __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f),
                                      _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x));
    const __m256i e = _mm256_slli_epi32(_mm256_castps_si256(z), 23);
    const __m256 scale = _mm256_castsi256_ps(_mm256_add_epi32(e, _mm256_castps_si256(_mm256_set1_ps(1))));
    const __m256 absn = _mm256_andnot_ps(_mm256_set1_ps(-0.f), n);
    const __m256 big = _mm256_cmp_ps(absn, _mm256_set1_ps(126), _CMP_GT_OQ);
    const __m256 r2 = _mm256_mul_ps(r, r);
    const __m256 hi = _mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), r, _mm256_set1_ps(0x1.573e2ep-5f));
    const __m256 lo = _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), r, _mm256_set1_ps(0x1.fffdb6p-2f));
    const __m256 poly = _mm256_fmadd_ps(_mm256_fmadd_ps(hi, r2, lo), r2,
                                        _mm256_mul_ps(_mm256_set1_ps(0x1.ffffecp-1f), r));
    if (!_mm256_movemask_ps(big))
        return _mm256_fmadd_ps(poly, scale, scale);
    /* 2^n split in two factors so neither overflows nor underflows early */
    const __m256i g = _mm256_and_si256(_mm256_castps_si256(_mm256_cmp_ps(n, _mm256_setzero_ps(), _CMP_LE_OQ)),
                                       _mm256_set1_epi32((int)0x82000000u));
    const __m256 s1 = _mm256_castsi256_ps(_mm256_add_epi32(g, _mm256_set1_epi32(0x7f000000)));
    const __m256 s2 = _mm256_castsi256_ps(_mm256_sub_epi32(e, g));
    const __m256 huge = _mm256_cmp_ps(absn, _mm256_set1_ps(192), _CMP_GT_OQ);
    const __m256 mid = _mm256_or_ps(_mm256_and_ps(big, _mm256_mul_ps(_mm256_fmadd_ps(s2, poly, s2), s1)),
                                    _mm256_andnot_ps(big, _mm256_fmadd_ps(scale, poly, scale)));
    return _mm256_or_ps(_mm256_and_ps(huge, _mm256_mul_ps(s1, s1)), _mm256_andnot_ps(huge, mid));
}

/* out = silu(gate) * up, silu(x) = x / (1 + exp(-x)); tails with libm expf, as ggml. */
AVX2 void pgr_avx2_swiglu(const float *gate, const float *up, float *out, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 x = _mm256_loadu_ps(gate + i);
        const __m256 ex = v_expf(_mm256_sub_ps(_mm256_setzero_ps(), x));
        const __m256 silu = _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1), ex));
        _mm256_storeu_ps(out + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
    }
    for (; i < n; i++)
        out[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

/* RoPE as llama.cpp's build computes it: ggml is compiled with the GNU
 * dialects, where GCC contracts x0*c - x1*s into fma(x0, c, -(x1*s)) (and the
 * second line likewise) on FMA machines. The angles are the reference's:
 * theta = pos * base^(-2i/d) by repeated float multiplication, libm cos/sin. */
AVX2 void pgr_avx2_rope(float *x, const int32_t *pos, int n_tok, int n_heads, int head_dim,
                        float theta_base)
{
    const float theta_scale = powf(theta_base, -2.0f / (float)head_dim);
    for (int t = 0; t < n_tok; t++) {
        float theta = (float)pos[t];
        for (int i = 0; i < head_dim; i += 2) {
            const float c = cosf(theta), s = sinf(theta);
            for (int h = 0; h < n_heads; h++) {
                float *p = x + ((size_t)t * n_heads + h) * head_dim + i;
                const float x0 = p[0], x1 = p[1];
                p[0] = fmaf(x0, c, -(x1 * s));
                p[1] = fmaf(x0, s, x1 * c);
            }
            theta *= theta_scale;
        }
    }
}

/* horizontal sums in the two orders llama.cpp uses */
AVX2 static inline float hsum_hadd(__m256 x) /* ggml's F32x8 reduce tail */
{
    const __m128 t0 = _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
    const __m128 t1 = _mm_hadd_ps(t0, t0);
    return _mm_cvtss_f32(_mm_hadd_ps(t1, t1));
}

static inline const uint16_t *slot_at(const uint16_t *cache, const int32_t *table, int p, int bs,
                                      int kv_dim, int kvh, int hd)
{
    size_t slot = (size_t)table[p / bs] * (size_t)bs + (size_t)(p % bs);
    return cache + slot * (size_t)kv_dim + (size_t)kvh * hd;
}

/* One (token, head) of attention over positions 0..pos, head_dim % 32 == 0.
 * single != 0: the token is its sequence's only token in the batch, and the
 * sums follow ggml's vector dot product (llama.cpp decodes one token that way:
 * four 8-lane accumulators over 32-element steps); otherwise llama.cpp's
 * batched path (tinyBLAS: one 8-lane accumulator per output). Both round q and
 * the probabilities to fp16, as ggml multiplies by the fp16 cache in fp16.
 * scratch: hd + round_up(pos + 1, 8) + 32 * hd floats. */
AVX2 void pgr_avx2_attn(const float *q, float *out, int pos, const int32_t *table,
                        const uint16_t *kc, const uint16_t *vc, int bs, int kv_dim, int kvh,
                        int hd, float scale, float *scratch, int single)
{
    const int n = pos + 1, npad = (n + 7) & ~7, nv = hd / 8;
    float *q16 = scratch, *s = q16 + hd, *acc = s + npad;
    for (int i = 0; i < hd; i += 8)
        _mm256_storeu_ps(q16 + i, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(q + i), 0)));
    /* scores */
    float mx = -INFINITY;
    for (int p = 0; p < n; p++) {
        const uint16_t *k = slot_at(kc, table, p, bs, kv_dim, kvh, hd);
        float d;
        if (single) {
            __m256 a[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
            for (int i = 0; i < hd; i += 32)
                for (int j = 0; j < 4; j++)
                    a[j] = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(k + i + 8 * j))),
                                           _mm256_loadu_ps(q16 + i + 8 * j), a[j]);
            a[0] = _mm256_add_ps(a[0], a[2]);
            a[1] = _mm256_add_ps(a[1], a[3]);
            d = hsum_hadd(_mm256_add_ps(a[0], a[1]));
        } else {
            __m256 a = _mm256_setzero_ps();
            for (int i = 0; i < hd; i += 8)
                a = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(k + i))),
                                    _mm256_loadu_ps(q16 + i), a);
            d = hsum_ps(a);
        }
        s[p] = d * scale;
        if (s[p] > mx)
            mx = s[p];
    }
    for (int p = n; p < npad; p++)
        s[p] = -INFINITY; /* masked, as the cells past the sequence in llama.cpp */
    /* softmax: exp in 8-wide chunks from position 0, chunk sums into a double */
    double sum = 0;
    const __m256 vmx = _mm256_set1_ps(mx);
    for (int p = 0; p < npad; p += 8) {
        const __m256 e = v_expf(_mm256_sub_ps(_mm256_loadu_ps(s + p), vmx));
        _mm256_storeu_ps(s + p, e);
        sum += (double)hsum_ps(e);
    }
    const __m256 inv = _mm256_set1_ps((float)(1.0 / sum));
    for (int p = 0; p < npad; p += 8)
        _mm256_storeu_ps(s + p, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_mul_ps(_mm256_loadu_ps(s + p), inv), 0)));
    /* p . v: position p feeds lane p % 8 of accumulator (p / 8) % 4 (single)
     * or lane p % 8 of the one accumulator (batched); vectorised over dims */
    const int nacc = single ? 32 : 8;
    memset(acc, 0, sizeof(float) * (size_t)nacc * hd);
    for (int p = 0; p < n; p++) {
        const uint16_t *v = slot_at(vc, table, p, bs, kv_dim, kvh, hd);
        float *a = acc + (size_t)(single ? (p & 31) : (p & 7)) * hd;
        const __m256 pv = _mm256_set1_ps(s[p]);
        for (int i = 0; i < nv; i++)
            _mm256_storeu_ps(a + 8 * i, _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(v + 8 * i))),
                                                        pv, _mm256_loadu_ps(a + 8 * i)));
    }
    for (int i = 0; i < nv; i++) {
#define L(j, l) _mm256_loadu_ps(acc + (size_t)((j) * 8 + (l)) * hd + 8 * i)
        __m256 y[8];
        if (single) {
            /* accumulators j = 0..3 combine as (0 + 2) + (1 + 3), per lane l */
            for (int l = 0; l < 8; l++)
                y[l] = _mm256_add_ps(_mm256_add_ps(L(0, l), L(2, l)), _mm256_add_ps(L(1, l), L(3, l)));
            /* then lanes: t_m = y_m + y_(m+4); (t0 + t1) + (t2 + t3) */
            __m256 t0 = _mm256_add_ps(y[0], y[4]), t1 = _mm256_add_ps(y[1], y[5]);
            __m256 t2 = _mm256_add_ps(y[2], y[6]), t3 = _mm256_add_ps(y[3], y[7]);
            _mm256_storeu_ps(out + 8 * i, _mm256_add_ps(_mm256_add_ps(t0, t1), _mm256_add_ps(t2, t3)));
        } else {
            /* lanes: t_m = y_m + y_(m+4); (t0 + t2) + (t1 + t3) */
            for (int l = 0; l < 8; l++)
                y[l] = L(0, l);
            __m256 t0 = _mm256_add_ps(y[0], y[4]), t1 = _mm256_add_ps(y[1], y[5]);
            __m256 t2 = _mm256_add_ps(y[2], y[6]), t3 = _mm256_add_ps(y[3], y[7]);
            _mm256_storeu_ps(out + 8 * i, _mm256_add_ps(_mm256_add_ps(t0, t2), _mm256_add_ps(t1, t3)));
        }
#undef L
    }
}
#else
int pgr_cpu_has_avx2(void) { return 0; }
void pgr_type_ops_fast(int wtype, pgr_type_ops *ops) { pgr_type_ops_ref(wtype, ops); }
pgr_gemm_fn pgr_gemm_fast(int wtype)
{
    (void)wtype;
    return NULL;
}

void pgr_avx2_swiglu(const float *gate, const float *up, float *out, size_t n)
{
    (void)gate, (void)up, (void)out, (void)n;
}
void pgr_avx2_rope(float *x, const int32_t *pos, int n_tok, int n_heads, int head_dim,
                   float theta_base)
{
    (void)x, (void)pos, (void)n_tok, (void)n_heads, (void)head_dim, (void)theta_base;
}
void pgr_avx2_attn(const float *q, float *out, int pos, const int32_t *table, const uint16_t *kc,
                   const uint16_t *vc, int bs, int kv_dim, int kvh, int hd, float scale,
                   float *scratch, int single)
{
    (void)q, (void)out, (void)pos, (void)table, (void)kc, (void)vc, (void)bs, (void)kv_dim;
    (void)kvh, (void)hd, (void)scale, (void)scratch, (void)single;
}
#endif
