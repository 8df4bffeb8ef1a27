/* peergraph CPU emulator of CUDA (tests/emu, docs/cuda.md): the part of
 * cuda_fp16.h that kernels/cuda uses, as host code. Conversions round to
 * nearest even like the device's __float2half_rn. */
#ifndef PEERGRAPH_EMU_CUDA_FP16_H
#define PEERGRAPH_EMU_CUDA_FP16_H
#include <stdint.h>
#include <string.h>

#include "cuda_runtime.h"

struct alignas(2) __half {
    uint16_t __x;
};
struct alignas(4) __half2 {
    __half x, y;
};

static inline __half __ushort_as_half(unsigned short u)
{
    __half h;
    h.__x = u;
    return h;
}

static inline float __half2float(__half h)
{
    const uint32_t s = (uint32_t)(h.__x & 0x8000u) << 16, e = (h.__x >> 10) & 31,
                   m = h.__x & 0x3ffu;
    uint32_t u;
    if (e == 31)
        u = s | 0x7f800000u | (m << 13); /* inf, NaN (payload kept) */
    else if (e)
        u = s | ((e + 112) << 23) | (m << 13);
    else if (!m)
        u = s;
    else { /* subnormal: m * 2^-24 */
        float f = (float)m * 5.9604644775390625e-8f;
        memcpy(&u, &f, 4);
        u |= s;
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline __half __float2half_rn(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    const uint16_t s = (uint16_t)((u >> 16) & 0x8000u);
    const uint32_t a = u & 0x7fffffffu;
    uint16_t r;
    if (a > 0x7f800000u)
        r = 0x7e00u | (uint16_t)((a >> 13) & 0x3ffu); /* NaN stays NaN */
    else if (a >= 0x477ff000u)
        r = 0x7c00u; /* rounds to or past 65520: inf */
    else if (a >= 0x38800000u) { /* normal half */
        const uint32_t mant = a + 0xfffu + ((a >> 13) & 1u); /* round to nearest even */
        r = (uint16_t)((mant - 0x38000000u) >> 13);
    } else if (a > 0x33000000u) { /* subnormal half: 2^-25 < |f| < 2^-14 */
        const uint32_t e = a >> 23, m = (a & 0x7fffffu) | 0x800000u;
        const int sh = (int)(126 - e); /* 14 .. 24 */
        const uint32_t q = m >> sh, rem = m & ((1u << sh) - 1), half = 1u << (sh - 1);
        r = (uint16_t)(q + (rem > half || (rem == half && (q & 1u))));
    } else
        r = 0; /* |f| <= 2^-25: zero (the tie at 2^-25 rounds to even, 0) */
    return __ushort_as_half((unsigned short)(s | r));
}

static inline float2 __half22float2(__half2 h)
{
    float2 f;
    f.x = __half2float(h.x);
    f.y = __half2float(h.y);
    return f;
}
#endif
