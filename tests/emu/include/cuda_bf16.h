/* peergraph CPU emulator of CUDA (tests/emu): the part of cuda_bf16.h that
 * kernels/cuda uses. Round to nearest even, NaN kept NaN. */
#ifndef PEERGRAPH_EMU_CUDA_BF16_H
#define PEERGRAPH_EMU_CUDA_BF16_H
#include <stdint.h>
#include <string.h>

struct alignas(2) __nv_bfloat16 {
    uint16_t __x;
};

static inline __nv_bfloat16 __float2bfloat16_rn(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    __nv_bfloat16 b;
    if ((u & 0x7fffffffu) > 0x7f800000u)
        b.__x = (uint16_t)((u >> 16) | 0x40u); /* quiet NaN */
    else
        b.__x = (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
    return b;
}
#endif
