/* Q5_0 and the k-quants Q4_K, Q6_K (with Q8_K, their activation type):
 * quantisation, dequantisation and reference dot products.
 *
 * Two kinds of exactness are kept here, each tested against llama.cpp
 * (tests/unit/test_kquant.c with golden bytes from ggml itself):
 *
 * - Weight quantisers (pgr_quant_q5_0/q4_K/q6_K, pgr_quant_q8_0_ggml) run
 *   ggml's reference algorithms with the same float operations in the same
 *   order, so a model file we quantise is byte-identical to llama-quantize's
 *   (no importance matrix). ggml-base is built without FMA, and so is this
 *   file (C11 mode: no contraction), which keeps every rounding the same.
 * - The dot products sum integers exactly and then combine them in floats in
 *   the lanes llama.cpp's AVX2 kernels use (8 int32 lanes per row, lane l
 *   holding bytes 4l..4l+3 of each 32-byte group, fused multiply-adds per
 *   super-block, then its horizontal-sum order). The scalar reference below
 *   does the same arithmetic one lane at a time, so the AVX2 kernels
 *   (quant_avx2.c) agree with it bit for bit and with llama.cpp's logits. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "kernels/cpu/cpu_impl.h"

/* ggml's nearest_int: round half to even through the 1.5*2^23 shift, valid
 * for |f| < 2^22 (every caller's argument is a bounded level). */
static inline int nearest_int(float f)
{
    float v = f + 12582912.f;
    int32_t i;
    memcpy(&i, &v, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int imax(int a, int b) { return a > b ? a : b; }

/* ---- Q5_0 ------------------------------------------------------------------ */
void pgr_quant_q5_0(const float *x, void *vy, size_t n)
{
    blk_q5_0 *y = vy;
    for (size_t b = 0; b < n / QK; b++, x += QK) {
        float amax = 0, max = 0; /* the value of largest magnitude, with its sign */
        for (int j = 0; j < QK; j++)
            if (fabsf(x[j]) > amax) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        const float d = max / -16, id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = pgr_f32_to_f16(d);
        uint32_t qh = 0;
        for (int j = 0; j < QK / 2; j++) {
            /* truncation after +16.5 is rounding for these non-negative levels */
            const int q0 = imin(31, (int)(int8_t)(x[j] * id + 16.5f));
            const int q1 = imin(31, (int)(int8_t)(x[j + QK / 2] * id + 16.5f));
            y[b].qs[j] = (uint8_t)((q0 & 15) | ((q1 & 15) << 4));
            qh |= (uint32_t)(q0 >> 4) << j;
            qh |= (uint32_t)(q1 >> 4) << (j + QK / 2);
        }
        memcpy(y[b].qh, &qh, 4);
    }
}

void pgr_dequant_q5_0(const void *vx, float *y, size_t n)
{
    const blk_q5_0 *x = vx;
    for (size_t b = 0; b < n / QK; b++, y += QK) {
        const float d = pgr_f16_to_f32(x[b].d);
        uint32_t qh;
        memcpy(&qh, x[b].qh, 4);
        for (int j = 0; j < QK / 2; j++) {
            const int q0 = (x[b].qs[j] & 15) | (int)(((qh >> j) & 1) << 4);
            const int q1 = (x[b].qs[j] >> 4) | (int)(((qh >> (j + QK / 2)) & 1) << 4);
            y[j] = (float)(q0 - 16) * d;
            y[j + QK / 2] = (float)(q1 - 16) * d;
        }
    }
}

/* element j of a Q5_0 block as a signed level (-16..15) */
static inline int q5_0_level(const blk_q5_0 *x, uint32_t qh, int j)
{
    const int lo = j < 16 ? x->qs[j] & 15 : x->qs[j - 16] >> 4;
    return (lo | (int)(((qh >> j) & 1) << 4)) - 16;
}

/* 8-float horizontal sum in the order of llama.cpp's hsum_float_8 */
static inline float hsum8(const float a[8])
{
    return ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]));
}

float pgr_dot_q5_0_ref(const void *w, const void *act, size_t n)
{
    const blk_q5_0 *x = w;
    const blk_q8_0 *y = act;
    float acc[8] = {0};
    for (size_t b = 0; b < n / QK; b++) {
        uint32_t qh;
        memcpy(&qh, x[b].qh, 4);
        const float d = pgr_f16_to_f32(x[b].d) * pgr_f16_to_f32(y[b].d);
        for (int l = 0; l < 8; l++) {
            int s = 0;
            for (int j = 4 * l; j < 4 * l + 4; j++)
                s += q5_0_level(&x[b], qh, j) * y[b].qs[j];
            acc[l] = fmaf(d, (float)s, acc[l]);
        }
    }
    return hsum8(acc);
}

/* ---- Q8_0 as ggml writes it into model files ---------------------------------
 * (activations are rounded differently: see quant.c) */
void pgr_quant_q8_0_ggml(const float *x, void *vy, size_t n)
{
    blk_q8_0 *y = vy;
    for (size_t b = 0; b < n / QK; b++, x += QK) {
        float amax = 0;
        for (int j = 0; j < QK; j++)
            amax = fmaxf(amax, fabsf(x[j]));
        const float d = amax / 127, id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = pgr_f32_to_f16(d);
        for (int j = 0; j < QK; j++)
            y[b].qs[j] = (int8_t)roundf(x[j] * id);
    }
}

/* ---- Q8_K ----------------------------------------------------------------- */
void pgr_quant_q8_K(const float *x, void *vy, size_t n)
{
    blk_q8_K *y = vy;
    for (size_t b = 0; b < n / QK_K; b++, x += QK_K) {
        float amax = 0, max = 0;
        for (int j = 0; j < QK_K; j++)
            if (fabsf(x[j]) > amax) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        memset(y[b].bsums, 0, sizeof y[b].bsums);
        if (amax == 0.0f) {
            y[b].d = 0;
            memset(y[b].qs, 0, QK_K);
            continue;
        }
        /* -127 (not -128) so the largest level fits the sign trick of maddubs */
        const float iscale = -127.f / max;
        for (int j = 0; j < QK_K; j++)
            y[b].qs[j] = (int8_t)imin(127, nearest_int(iscale * x[j]));
        for (int g = 0; g < QK_K / 16; g++) {
            int s = 0;
            for (int j = 0; j < 16; j++)
                s += y[b].qs[16 * g + j];
            y[b].bsums[g] = (int16_t)s;
        }
        y[b].d = 1 / iscale;
    }
}

void pgr_dequant_q8_K(const void *vx, float *y, size_t n)
{
    const blk_q8_K *x = vx;
    for (size_t b = 0; b < n / QK_K; b++)
        for (int j = 0; j < QK_K; j++)
            y[b * QK_K + j] = x[b].d * (float)x[b].qs[j];
}

/* ---- Q4_K ----------------------------------------------------------------- */
void pgr_k4_scales(const uint8_t *q, uint8_t sc[8], uint8_t mn[8])
{
    /* bytes 0-3: scales 0-3 (low 6 bits), 4-7: mins 0-3; bytes 8-11 hold the
     * low 4 bits of scale/min 4-7, whose top 2 bits sit in the spare top bits
     * of bytes 0-3 (scales) and 4-7 (mins) */
    for (int j = 0; j < 4; j++) {
        sc[j] = q[j] & 63;
        mn[j] = q[j + 4] & 63;
    }
    for (int j = 4; j < 8; j++) {
        sc[j] = (uint8_t)((q[j + 4] & 15) | ((q[j - 4] >> 6) << 4));
        mn[j] = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

/* Best (scale, min) for n values on levels 0..nmax, weighted least squares:
 * start from the plain min/max grid, then try nstep+1 stretched grids and keep
 * the one with the lowest weighted squared error (ggml's make_qkx2_quants; the
 * float operations keep its order). Returns the scale, *neg_min = -min. */
static float fit_scale_min(int n, int nmax, const float *x, const float *w, uint8_t *L,
                           float *neg_min, uint8_t *Laux, float rmin, float rdelta, int nstep)
{
    float min = x[0], max = x[0];
    float sum_w = w[0], sum_x = sum_w * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < min)
            min = x[i];
        if (x[i] > max)
            max = x[i];
        sum_w += w[i];
        sum_x += w[i] * x[i];
    }
    if (min > 0)
        min = 0;
    if (max == min) {
        memset(L, 0, (size_t)n);
        *neg_min = -min;
        return 0.f;
    }
    float iscale = (float)nmax / (max - min);
    float scale = 1 / iscale;
    float best_error = 0;
    for (int i = 0; i < n; i++) {
        L[i] = (uint8_t)imax(0, imin(nmax, nearest_int(iscale * (x[i] - min))));
        const float diff = scale * (float)L[i] + min - x[i];
        best_error += w[i] * (diff * diff);
    }
    for (int is = 0; is <= nstep; is++) {
        iscale = (rmin + rdelta * (float)is + (float)nmax) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; i++) {
            const int l = imax(0, imin(nmax, nearest_int(iscale * (x[i] - min))));
            Laux[i] = (uint8_t)l;
            sum_l += w[i] * (float)l;
            sum_l2 += w[i] * (float)l * (float)l;
            sum_xl += w[i] * (float)l * x[i];
        }
        const float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            if (this_min > 0) {
                this_min = 0;
                this_scale = sum_xl / sum_l2;
            }
            float err = 0;
            for (int i = 0; i < n; i++) {
                const float diff = this_scale * (float)Laux[i] + this_min - x[i];
                err += w[i] * (diff * diff);
            }
            if (err < best_error) {
                memcpy(L, Laux, (size_t)n);
                best_error = err;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *neg_min = -min;
    return scale;
}

void pgr_quant_q4_K(const float *x, void *vy, size_t n)
{
    blk_q4_K *y = vy;
    uint8_t L[QK_K], Laux[32];
    float w[32], mins[8], scales[8];
    for (size_t b = 0; b < n / QK_K; b++, x += QK_K) {
        float max_scale = 0, max_min = 0; /* mins are stored negated: both >= 0 */
        for (int s = 0; s < 8; s++) {
            const float *xs = x + 32 * s;
            float sum_x2 = 0;
            for (int l = 0; l < 32; l++)
                sum_x2 += xs[l] * xs[l];
            const float av_x = sqrtf(sum_x2 / 32);
            for (int l = 0; l < 32; l++)
                w[l] = av_x + fabsf(xs[l]);
            scales[s] = fit_scale_min(32, 15, xs, w, L + 32 * s, &mins[s], Laux, -1.f, 0.1f, 20);
            if (scales[s] > max_scale)
                max_scale = scales[s];
            if (mins[s] > max_min)
                max_min = mins[s];
        }
        const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
        const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
        memset(y[b].scales, 0, sizeof y[b].scales);
        for (int s = 0; s < 8; s++) {
            /* levels pass through uint8_t before the clamp, as ggml stores them */
            const uint8_t ls = (uint8_t)imin(63, (uint8_t)nearest_int(inv_scale * scales[s]));
            const uint8_t lm = (uint8_t)imin(63, (uint8_t)nearest_int(inv_min * mins[s]));
            if (s < 4) {
                y[b].scales[s] = ls;
                y[b].scales[s + 4] = lm;
            } else {
                y[b].scales[s + 4] = (uint8_t)((ls & 15) | ((lm & 15) << 4));
                y[b].scales[s - 4] |= (uint8_t)((ls >> 4) << 6);
                y[b].scales[s] |= (uint8_t)((lm >> 4) << 6);
            }
        }
        y[b].d = pgr_f32_to_f16(max_scale / 63.f);
        y[b].dmin = pgr_f32_to_f16(max_min / 63.f);
        /* re-quantise against the rounded scales actually stored */
        uint8_t sc[8], mn[8];
        pgr_k4_scales(y[b].scales, sc, mn);
        for (int s = 0; s < 8; s++) {
            const float d = pgr_f16_to_f32(y[b].d) * (float)sc[s];
            if (d == 0.0f)
                continue;
            const float dm = pgr_f16_to_f32(y[b].dmin) * (float)mn[s];
            for (int i = 0; i < 32; i++)
                L[32 * s + i] = (uint8_t)imax(0, imin(15, nearest_int((x[32 * s + i] + dm) / d)));
        }
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++)
                y[b].qs[32 * c + l] = (uint8_t)(L[64 * c + l] | (L[64 * c + 32 + l] << 4));
    }
}

void pgr_dequant_q4_K(const void *vx, float *y, size_t n)
{
    const blk_q4_K *x = vx;
    for (size_t b = 0; b < n / QK_K; b++) {
        const float d = pgr_f16_to_f32(x[b].d), dmin = pgr_f16_to_f32(x[b].dmin);
        uint8_t sc[8], mn[8];
        pgr_k4_scales(x[b].scales, sc, mn);
        for (int c = 0; c < 4; c++) {
            const float d1 = d * (float)sc[2 * c], m1 = dmin * (float)mn[2 * c];
            const float d2 = d * (float)sc[2 * c + 1], m2 = dmin * (float)mn[2 * c + 1];
            const uint8_t *q = x[b].qs + 32 * c;
            for (int l = 0; l < 32; l++)
                *y++ = d1 * (float)(q[l] & 15) - m1;
            for (int l = 0; l < 32; l++)
                *y++ = d2 * (float)(q[l] >> 4) - m2;
        }
    }
}

float pgr_dot_q4_K_ref(const void *w, const void *act, size_t n)
{
    const blk_q4_K *x = w;
    const blk_q8_K *y = act;
    float acc[8] = {0}, acc_m[4] = {0};
    for (size_t b = 0; b < n / QK_K; b++) {
        const float d = y[b].d * pgr_f16_to_f32(x[b].d);
        const float dmin = -y[b].d * pgr_f16_to_f32(x[b].dmin);
        uint8_t sc[8], mn[8];
        pgr_k4_scales(x[b].scales, sc, mn);
        /* minimum term: lane k pairs sub-blocks 2k and 2k+1 */
        for (int k = 0; k < 4; k++) {
            const int s0 = y[b].bsums[4 * k] + y[b].bsums[4 * k + 1];
            const int s1 = y[b].bsums[4 * k + 2] + y[b].bsums[4 * k + 3];
            acc_m[k] = fmaf(dmin, (float)(mn[2 * k] * s0 + mn[2 * k + 1] * s1), acc_m[k]);
        }
        int sumi[8] = {0};
        for (int c = 0; c < 4; c++) {
            const uint8_t *q = x[b].qs + 32 * c;
            const int8_t *q8 = y[b].qs + 64 * c;
            for (int l = 0; l < 8; l++) {
                int lo = 0, hi = 0;
                for (int j = 4 * l; j < 4 * l + 4; j++) {
                    lo += (q[j] & 15) * q8[j];
                    hi += (q[j] >> 4) * q8[32 + j];
                }
                sumi[l] += sc[2 * c] * lo + sc[2 * c + 1] * hi;
            }
        }
        for (int l = 0; l < 8; l++)
            acc[l] = fmaf(d, (float)sumi[l], acc[l]);
    }
    return hsum8(acc) + ((acc_m[0] + acc_m[2]) + (acc_m[1] + acc_m[3]));
}

/* ---- Q6_K ----------------------------------------------------------------- */

/* Best symmetric scale for n values on levels -nmax..nmax-1, weights x^2:
 * the plain grid, then 18 perturbed ones, keeping the best weighted fit
 * (ggml's make_qx_quants with rmse_type 1; same float order). L gets
 * level + nmax. */
static float fit_scale_sym(int n, int nmax, const float *x, int8_t *L)
{
    float max = 0, amax = 0;
    for (int i = 0; i < n; i++)
        if (fabsf(x[i]) > amax) {
            amax = fabsf(x[i]);
            max = x[i];
        }
    if (amax < 1e-15f) { /* all (nearly) zero */
        memset(L, 0, (size_t)n);
        return 0.f;
    }
    float iscale = (float)-nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        const int l = imax(-nmax, imin(nmax - 1, nearest_int(iscale * x[i])));
        L[i] = (int8_t)(l + nmax);
        const float w = x[i] * x[i];
        sumlx += w * x[i] * (float)l;
        suml2 += w * (float)l * (float)l;
    }
    float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; is++) {
        if (is == 0)
            continue;
        iscale = -((float)nmax + 0.1f * (float)is) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; i++) {
            const int l = imax(-nmax, imin(nmax - 1, nearest_int(iscale * x[i])));
            const float w = x[i] * x[i];
            sumlx += w * x[i] * (float)l;
            suml2 += w * (float)l * (float)l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; i++)
                L[i] = (int8_t)(nmax + imax(-nmax, imin(nmax - 1, nearest_int(iscale * x[i]))));
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

void pgr_quant_q6_K(const float *x, void *vy, size_t n)
{
    blk_q6_K *y = vy;
    int8_t L[QK_K];
    float scales[16];
    for (size_t b = 0; b < n / QK_K; b++, x += QK_K) {
        float max_scale = 0, max_abs_scale = 0;
        for (int s = 0; s < 16; s++) {
            scales[s] = fit_scale_sym(16, 32, x + 16 * s, L + 16 * s);
            if (fabsf(scales[s]) > max_abs_scale) {
                max_abs_scale = fabsf(scales[s]);
                max_scale = scales[s];
            }
        }
        if (max_abs_scale < 1e-15f) {
            memset(&y[b], 0, sizeof y[b]);
            continue;
        }
        const float iscale = -128.f / max_scale;
        y[b].d = pgr_f32_to_f16(1 / iscale);
        for (int s = 0; s < 16; s++)
            y[b].scales[s] = (int8_t)imin(127, nearest_int(iscale * scales[s]));
        for (int s = 0; s < 16; s++) {
            const float d = pgr_f16_to_f32(y[b].d) * (float)y[b].scales[s];
            if (d == 0.0f)
                continue;
            for (int i = 0; i < 16; i++)
                L[16 * s + i] =
                    (int8_t)(imax(-32, imin(31, nearest_int(x[16 * s + i] / d))) + 32);
        }
        /* 128-element halves h: element 128h + 32k + l, k = 0..3, keeps its low
         * nibble in ql[64h + 32(k&1) + l] (k >= 2: high nibble) and its top two
         * bits in qh[32h + l] at bit 2k */
        for (int h = 0; h < 2; h++)
            for (int l = 0; l < 32; l++) {
                const uint8_t *v = (const uint8_t *)L + 128 * h + l;
                y[b].ql[64 * h + l] = (uint8_t)((v[0] & 15) | ((v[64] & 15) << 4));
                y[b].ql[64 * h + 32 + l] = (uint8_t)((v[32] & 15) | ((v[96] & 15) << 4));
                y[b].qh[32 * h + l] = (uint8_t)((v[0] >> 4) | ((v[32] >> 4) << 2) |
                                                ((v[64] >> 4) << 4) | ((v[96] >> 4) << 6));
            }
    }
}

/* element 128h + 32k + l of a Q6_K block as a level 0..63 */
static inline int q6_level(const blk_q6_K *x, int h, int k, int l)
{
    const uint8_t ql = x->ql[64 * h + 32 * (k & 1) + l];
    const int lo = k < 2 ? ql & 15 : ql >> 4;
    return lo | (((x->qh[32 * h + l] >> (2 * k)) & 3) << 4);
}

void pgr_dequant_q6_K(const void *vx, float *y, size_t n)
{
    const blk_q6_K *x = vx;
    for (size_t b = 0; b < n / QK_K; b++, y += QK_K) {
        const float d = pgr_f16_to_f32(x[b].d);
        for (int h = 0; h < 2; h++)
            for (int k = 0; k < 4; k++)
                for (int l = 0; l < 32; l++) {
                    const int e = 128 * h + 32 * k + l;
                    y[e] = d * (float)x[b].scales[e / 16] * (float)(q6_level(&x[b], h, k, l) - 32);
                }
    }
}

float pgr_dot_q6_K_ref(const void *w, const void *act, size_t n)
{
    const blk_q6_K *x = w;
    const blk_q8_K *y = act;
    float acc[8] = {0};
    for (size_t b = 0; b < n / QK_K; b++) {
        const float d = y[b].d * pgr_f16_to_f32(x[b].d);
        const int8_t *sc = x[b].scales;
        int sumi[8];
        /* the -32 offset comes off at the end through Q8_K's block sums: lane
         * l takes groups 2l and 2l+1 of 16 */
        for (int l = 0; l < 8; l++)
            sumi[l] = -32 * (y[b].bsums[2 * l] * sc[2 * l] + y[b].bsums[2 * l + 1] * sc[2 * l + 1]);
        for (int h = 0; h < 2; h++)
            for (int k = 0; k < 4; k++)
                for (int l = 0; l < 8; l++) {
                    const int e0 = 128 * h + 32 * k + 4 * l;
                    int s = 0;
                    for (int j = 0; j < 4; j++)
                        s += q6_level(&x[b], h, k, 4 * l + j) * y[b].qs[e0 + j];
                    sumi[l] += sc[e0 / 16] * s;
                }
        for (int l = 0; l < 8; l++)
            acc[l] = fmaf(d, (float)sumi[l], acc[l]);
    }
    return hsum8(acc);
}
