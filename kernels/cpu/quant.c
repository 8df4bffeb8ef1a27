/* Tensor types: sizes, fp16/bf16 conversion, quantise/dequantise rows, and the
 * reference (scalar) dot products of a weight row by an activation row.
 * Quantisation of activations follows ggml's x86 path (round half to even,
 * scale 127/amax, fp16 scales) so our products see the same integers as
 * llama.cpp's and the logits agree to a few hundredths. */
#include <math.h>
#include <string.h>

#include "graph/util.h"
#include "kernels/cpu/cpu_impl.h"

int pgr_kt_block_elems(int type)
{
    switch (type) {
    case PGR_KT_F32:
    case PGR_KT_F16:
    case PGR_KT_BF16:
        return 1;
    case PGR_KT_Q4_0:
    case PGR_KT_Q4_1:
    case PGR_KT_Q8_0:
    case PGR_KT_Q8_1:
    case PGR_KT_Q5_0:
        return QK;
    case PGR_KT_Q4_K:
    case PGR_KT_Q6_K:
    case PGR_KT_Q8_K:
        return QK_K;
    default:
        return 0;
    }
}

size_t pgr_kt_block_bytes(int type)
{
    switch (type) {
    case PGR_KT_F32: return 4;
    case PGR_KT_F16:
    case PGR_KT_BF16: return 2;
    case PGR_KT_Q4_0: return sizeof(blk_q4_0);
    case PGR_KT_Q4_1: return sizeof(blk_q4_1);
    case PGR_KT_Q8_0: return sizeof(blk_q8_0);
    case PGR_KT_Q8_1: return sizeof(blk_q8_1);
    case PGR_KT_Q5_0: return sizeof(blk_q5_0);
    case PGR_KT_Q4_K: return sizeof(blk_q4_K);
    case PGR_KT_Q6_K: return sizeof(blk_q6_K);
    case PGR_KT_Q8_K: return sizeof(blk_q8_K);
    default: return 0;
    }
}

const char *pgr_kt_name(int type)
{
    switch (type) {
    case PGR_KT_F32: return "F32";
    case PGR_KT_F16: return "F16";
    case PGR_KT_BF16: return "BF16";
    case PGR_KT_Q4_0: return "Q4_0";
    case PGR_KT_Q4_1: return "Q4_1";
    case PGR_KT_Q8_0: return "Q8_0";
    case PGR_KT_Q8_1: return "Q8_1";
    case PGR_KT_Q5_0: return "Q5_0";
    case PGR_KT_Q4_K: return "Q4_K";
    case PGR_KT_Q6_K: return "Q6_K";
    case PGR_KT_Q8_K: return "Q8_K";
    default: return "unsupported";
    }
}

int pgr_kt_row_bytes(int type, size_t n, size_t *bytes)
{
    int be = pgr_kt_block_elems(type);
    if (be == 0 || n % (size_t)be != 0)
        return -1;
    return pgr_mul_ok(n / (size_t)be, pgr_kt_block_bytes(type), bytes) ? 0 : -1;
}

/* ---- fp16 / bf16 ---------------------------------------------------------- */
static inline uint32_t f2u(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static inline float u2f(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

float pgr_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    if (exp == 0) {
        float f = (float)mant * (1.0f / 16777216.0f); /* subnormal: mant * 2^-24 */
        return sign ? -f : f;
    }
    if (exp == 31)
        return u2f(sign | 0x7f800000u | (mant << 13));
    return u2f(sign | ((exp + 112) << 23) | (mant << 13));
}

/* Round to nearest even, as F16C's vcvtps2ph with rounding mode 0. */
uint16_t pgr_f32_to_f16(float ff)
{
    const uint32_t f32infty = 255u << 23, f16max = (127u + 16) << 23;
    const uint32_t denorm_magic = ((127u - 15) + (23 - 10) + 1) << 23;
    uint32_t f = f2u(ff), sign = f & 0x80000000u, o;
    f ^= sign;
    if (f >= f16max) {
        o = f > f32infty ? 0x7e00 : 0x7c00;
    } else if (f < (113u << 23)) {
        /* subnormal or zero: let the FPU round by adding a magic number */
        o = f2u(u2f(f) + u2f(denorm_magic)) - denorm_magic;
    } else {
        uint32_t mant_odd = (f >> 13) & 1;
        f += ((uint32_t)(15 - 127) << 23) + 0xfff;
        f += mant_odd;
        o = f >> 13;
    }
    return (uint16_t)(o | (sign >> 16));
}

float pgr_bf16_to_f32(uint16_t h) { return u2f((uint32_t)h << 16); }

uint16_t pgr_f32_to_bf16(float f)
{
    uint32_t u = f2u(f);
    if ((u & 0x7fffffff) > 0x7f800000)
        return (uint16_t)((u >> 16) | 64); /* quiet NaN */
    return (uint16_t)((u + (0x7fff + ((u >> 16) & 1))) >> 16);
}

/* ---- quantise ------------------------------------------------------------- */
static void quant_f32(const float *x, void *y, size_t n) { memcpy(y, x, n * sizeof(float)); }
static void quant_f16(const float *x, void *y, size_t n)
{
    uint16_t *o = y;
    for (size_t i = 0; i < n; i++)
        o[i] = pgr_f32_to_f16(x[i]);
}
static void quant_bf16(const float *x, void *y, size_t n)
{
    uint16_t *o = y;
    for (size_t i = 0; i < n; i++)
        o[i] = pgr_f32_to_bf16(x[i]);
}

static void quant_q8_0(const float *x, void *vy, size_t n)
{
    blk_q8_0 *y = vy;
    for (size_t b = 0; b < n / QK; b++, x += QK) {
        float amax = 0;
        for (int j = 0; j < QK; j++)
            amax = fmaxf(amax, fabsf(x[j]));
        float d = amax / 127.f, id = amax != 0.0f ? 127.f / amax : 0.0f;
        y[b].d = pgr_f32_to_f16(d);
        for (int j = 0; j < QK; j++)
            y[b].qs[j] = (int8_t)nearbyintf(x[j] * id);
    }
}

static void quant_q8_1(const float *x, void *vy, size_t n)
{
    blk_q8_1 *y = vy;
    for (size_t b = 0; b < n / QK; b++, x += QK) {
        float amax = 0;
        for (int j = 0; j < QK; j++)
            amax = fmaxf(amax, fabsf(x[j]));
        float d = amax / 127.f, id = amax != 0.0f ? 127.f / amax : 0.0f;
        int sum = 0;
        for (int j = 0; j < QK; j++) {
            y[b].qs[j] = (int8_t)nearbyintf(x[j] * id);
            sum += y[b].qs[j];
        }
        y[b].d = pgr_f32_to_f16(d);
        y[b].s = pgr_f32_to_f16(d * (float)sum);
    }
}

static void quant_q4_0(const float *x, void *vy, size_t n)
{
    blk_q4_0 *y = vy;
    for (size_t b = 0; b < n / QK; b++, x += QK) {
        float amax = 0, max = 0;
        for (int j = 0; j < QK; j++)
            if (fabsf(x[j]) > amax) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        float d = max / -8, id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = pgr_f32_to_f16(d);
        for (int j = 0; j < QK / 2; j++) {
            int q0 = (int)(x[j] * id + 8.5f), q1 = (int)(x[j + QK / 2] * id + 8.5f);
            q0 = q0 > 15 ? 15 : q0 < 0 ? 0 : q0;
            q1 = q1 > 15 ? 15 : q1 < 0 ? 0 : q1;
            y[b].qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

static void quant_q4_1(const float *x, void *vy, size_t n)
{
    blk_q4_1 *y = vy;
    for (size_t b = 0; b < n / QK; b++, x += QK) {
        float mn = x[0], mx = x[0];
        for (int j = 1; j < QK; j++) {
            mn = fminf(mn, x[j]);
            mx = fmaxf(mx, x[j]);
        }
        float d = (mx - mn) / 15, id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = pgr_f32_to_f16(d);
        y[b].m = pgr_f32_to_f16(mn);
        for (int j = 0; j < QK / 2; j++) {
            int q0 = (int)((x[j] - mn) * id + 0.5f), q1 = (int)((x[j + QK / 2] - mn) * id + 0.5f);
            q0 = q0 > 15 ? 15 : q0 < 0 ? 0 : q0;
            q1 = q1 > 15 ? 15 : q1 < 0 ? 0 : q1;
            y[b].qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

static pgr_quant_fn quant_fn(int type)
{
    switch (type) {
    case PGR_KT_F32: return quant_f32;
    case PGR_KT_F16: return quant_f16;
    case PGR_KT_BF16: return quant_bf16;
    case PGR_KT_Q8_0: return quant_q8_0;
    case PGR_KT_Q8_1: return quant_q8_1;
    case PGR_KT_Q4_0: return quant_q4_0;
    case PGR_KT_Q4_1: return quant_q4_1;
    case PGR_KT_Q5_0: return pgr_quant_q5_0;
    case PGR_KT_Q4_K: return pgr_quant_q4_K;
    case PGR_KT_Q6_K: return pgr_quant_q6_K;
    case PGR_KT_Q8_K: return pgr_quant_q8_K;
    default: return NULL;
    }
}

int pgr_quant_row(int type, const float *src, void *dst, size_t n)
{
    pgr_quant_fn f = quant_fn(type);
    int be = pgr_kt_block_elems(type);
    if (!f || n % (size_t)be)
        return -1;
    f(src, dst, n);
    return 0;
}

int pgr_quant_row_ggml(int type, const float *src, void *dst, size_t n)
{
    /* Only Q8_0 differs: ggml writes weights with roundf(x / d), while the
     * activation path rounds x * (127 / amax) half to even. The others above
     * already follow ggml's reference quantisers step for step. */
    if (type == PGR_KT_Q8_0) {
        if (n % QK)
            return -1;
        pgr_quant_q8_0_ggml(src, dst, n);
        return 0;
    }
    if (type == PGR_KT_Q8_1 || type == PGR_KT_Q8_K)
        return -1; /* activation types: never stored in model files */
    return pgr_quant_row(type, src, dst, n);
}

/* ---- dequantise ----------------------------------------------------------- */
int pgr_dequant_row(int type, const void *src, float *out, size_t n)
{
    int be = pgr_kt_block_elems(type);
    if (be == 0 || n % (size_t)be)
        return -1;
    switch (type) {
    case PGR_KT_F32: memcpy(out, src, n * sizeof(float)); return 0;
    case PGR_KT_F16:
        for (size_t i = 0; i < n; i++)
            out[i] = pgr_f16_to_f32(((const uint16_t *)src)[i]);
        return 0;
    case PGR_KT_BF16:
        for (size_t i = 0; i < n; i++)
            out[i] = pgr_bf16_to_f32(((const uint16_t *)src)[i]);
        return 0;
    case PGR_KT_Q4_0:
        for (size_t b = 0; b < n / QK; b++) {
            const blk_q4_0 *x = (const blk_q4_0 *)src + b;
            float d = pgr_f16_to_f32(x->d);
            for (int j = 0; j < QK / 2; j++) {
                out[b * QK + j] = (float)((x->qs[j] & 15) - 8) * d;
                out[b * QK + j + QK / 2] = (float)((x->qs[j] >> 4) - 8) * d;
            }
        }
        return 0;
    case PGR_KT_Q4_1:
        for (size_t b = 0; b < n / QK; b++) {
            const blk_q4_1 *x = (const blk_q4_1 *)src + b;
            float d = pgr_f16_to_f32(x->d), m = pgr_f16_to_f32(x->m);
            for (int j = 0; j < QK / 2; j++) {
                out[b * QK + j] = (float)(x->qs[j] & 15) * d + m;
                out[b * QK + j + QK / 2] = (float)(x->qs[j] >> 4) * d + m;
            }
        }
        return 0;
    case PGR_KT_Q8_0:
        for (size_t b = 0; b < n / QK; b++) {
            const blk_q8_0 *x = (const blk_q8_0 *)src + b;
            float d = pgr_f16_to_f32(x->d);
            for (int j = 0; j < QK; j++)
                out[b * QK + j] = (float)x->qs[j] * d;
        }
        return 0;
    case PGR_KT_Q8_1:
        for (size_t b = 0; b < n / QK; b++) {
            const blk_q8_1 *x = (const blk_q8_1 *)src + b;
            float d = pgr_f16_to_f32(x->d);
            for (int j = 0; j < QK; j++)
                out[b * QK + j] = (float)x->qs[j] * d;
        }
        return 0;
    case PGR_KT_Q5_0: pgr_dequant_q5_0(src, out, n); return 0;
    case PGR_KT_Q4_K: pgr_dequant_q4_K(src, out, n); return 0;
    case PGR_KT_Q6_K: pgr_dequant_q6_K(src, out, n); return 0;
    case PGR_KT_Q8_K: pgr_dequant_q8_K(src, out, n); return 0;
    default: return -1;
    }
}

/* ---- reference dot products ----------------------------------------------- */
static float dot_f32(const void *w, const void *a, size_t n)
{
    const float *x = w, *y = a;
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)x[i] * y[i];
    return (float)s;
}
static float dot_f16(const void *w, const void *a, size_t n)
{
    const uint16_t *x = w, *y = a;
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)pgr_f16_to_f32(x[i]) * pgr_f16_to_f32(y[i]);
    return (float)s;
}
static float dot_bf16(const void *w, const void *a, size_t n)
{
    const uint16_t *x = w, *y = a;
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)pgr_bf16_to_f32(x[i]) * pgr_bf16_to_f32(y[i]);
    return (float)s;
}
static float dot_q4_0(const void *w, const void *a, size_t n)
{
    const blk_q4_0 *x = w;
    const blk_q8_0 *y = a;
    float s = 0;
    for (size_t b = 0; b < n / QK; b++) {
        int sumi = 0;
        for (int j = 0; j < QK / 2; j++)
            sumi += ((x[b].qs[j] & 15) - 8) * y[b].qs[j] + ((x[b].qs[j] >> 4) - 8) * y[b].qs[j + 16];
        s += (float)sumi * pgr_f16_to_f32(x[b].d) * pgr_f16_to_f32(y[b].d);
    }
    return s;
}
static float dot_q4_1(const void *w, const void *a, size_t n)
{
    const blk_q4_1 *x = w;
    const blk_q8_1 *y = a;
    float s = 0;
    for (size_t b = 0; b < n / QK; b++) {
        int sumi = 0;
        for (int j = 0; j < QK / 2; j++)
            sumi += (x[b].qs[j] & 15) * y[b].qs[j] + (x[b].qs[j] >> 4) * y[b].qs[j + 16];
        s += (float)sumi * pgr_f16_to_f32(x[b].d) * pgr_f16_to_f32(y[b].d) +
             pgr_f16_to_f32(x[b].m) * pgr_f16_to_f32(y[b].s);
    }
    return s;
}
static float dot_q8_0(const void *w, const void *a, size_t n)
{
    const blk_q8_0 *x = w, *y = a;
    float s = 0;
    for (size_t b = 0; b < n / QK; b++) {
        int sumi = 0;
        for (int j = 0; j < QK; j++)
            sumi += x[b].qs[j] * y[b].qs[j];
        s += (float)sumi * pgr_f16_to_f32(x[b].d) * pgr_f16_to_f32(y[b].d);
    }
    return s;
}

int pgr_act_type(int wtype)
{
    switch (wtype) {
    case PGR_KT_F32: return PGR_KT_F32;
    case PGR_KT_F16: return PGR_KT_F16;
    case PGR_KT_BF16: return PGR_KT_BF16;
    case PGR_KT_Q4_0:
    case PGR_KT_Q5_0:
    case PGR_KT_Q8_0: return PGR_KT_Q8_0;
    case PGR_KT_Q4_1: return PGR_KT_Q8_1;
    case PGR_KT_Q4_K:
    case PGR_KT_Q6_K: return PGR_KT_Q8_K;
    default: return -1;
    }
}

void pgr_type_ops_ref(int wtype, pgr_type_ops *ops)
{
    memset(ops, 0, sizeof *ops);
    ops->act_type = pgr_act_type(wtype);
    if (ops->act_type < 0)
        return;
    ops->quant = quant_fn(ops->act_type);
    switch (wtype) {
    case PGR_KT_F32: ops->dot = dot_f32; break;
    case PGR_KT_F16: ops->dot = dot_f16; break;
    case PGR_KT_BF16: ops->dot = dot_bf16; break;
    case PGR_KT_Q4_0: ops->dot = dot_q4_0; break;
    case PGR_KT_Q4_1: ops->dot = dot_q4_1; break;
    case PGR_KT_Q8_0: ops->dot = dot_q8_0; break;
    case PGR_KT_Q5_0: ops->dot = pgr_dot_q5_0_ref; break;
    case PGR_KT_Q4_K: ops->dot = pgr_dot_q4_K_ref; break;
    case PGR_KT_Q6_K: ops->dot = pgr_dot_q6_K_ref; break;
    default: break;
    }
}
