/* RoPE, llama's "normal" (interleaved) variant, in place on x (n_tok,
 * n_heads, head_dim): pair (x[2i], x[2i+1]) rotated by pos * base^(-2i/d).
 * Same layout and the same angle construction as the CPU path
 * (pgr_kernels_ref()->rope): theta built by repeated float multiplication by
 * base^(-2/d) (computed on the host with the same powf), as ggml does, so the
 * angles are bitwise those of the CPU; only cosf/sinf may differ by an ulp.
 * One block per token, one thread per pair; padding tokens (pos < 0) are
 * rotated too (harmless: their rows are never read). */
#include <math.h>

#include "kernels/cuda/cuda_common.cuh"
#include "kernels/cuda/cuda_train.h"

/* sign -1: the backward (pgr_cu_rope_bwd), the rotation by -pos */
__global__ void rope_kernel(float *x, const int32_t *pos, int n_heads, int head_dim,
                            float theta_scale, int sign)
{
    const int t = blockIdx.x, i = threadIdx.x; /* pair i: elements 2i, 2i+1 */
    if (2 * i >= head_dim)
        return;
    float c, s;
    rope_cos_sin(sign * pos[t], i, theta_scale, &c, &s);
    for (int h = 0; h < n_heads; h++)
        rope_rotate(x + ((size_t)t * n_heads + h) * head_dim + 2 * i, c, s);
}

static int rope_launch(float *d_x, const int32_t *d_pos, int n_tok, int n_heads, int head_dim,
                       float theta_base, int sign, void *stream, pgr_err *err)
{
    const float theta_scale = powf(theta_base, -2.0f / (float)head_dim);
    ARG_CHECK(n_tok > 0 && n_heads > 0 && head_dim >= 2 && head_dim % 2 == 0 && head_dim <= 2048,
              "cuda rope: %d tokens, %d heads of %d", n_tok, n_heads, head_dim);
    {
        unsigned threads = (unsigned)((head_dim / 2 + 31) / 32 * 32);
        rope_kernel<<<(unsigned)n_tok, threads, 0, CU_STREAM(stream)>>>(d_x, d_pos, n_heads,
                                                                        head_dim, theta_scale,
                                                                        sign);
        LAUNCHED("rope_kernel");
    }
    return 0;
cleanup:
    return -1;
}

extern "C" int pgr_cu_rope(float *d_x, const int32_t *d_pos, int n_tok, int n_heads,
                           int head_dim, float theta_base, void *stream, pgr_err *err)
{
    return rope_launch(d_x, d_pos, n_tok, n_heads, head_dim, theta_base, 1, stream, err);
}

/* The training backward (cuda_train.h): the rotation is orthogonal, its
 * transpose the rotation by -pos; (float)(-pos) times the same factors is
 * exactly the negated angle (cos equal, sin negated), as the CPU's
 * pgr_tr_rope_bwd gets from its rope with negated positions. */
extern "C" int pgr_cu_rope_bwd(float *d_dx, const int32_t *d_pos, int n, int n_heads,
                               int head_dim, float theta_base, void *stream, pgr_err *err)
{
    return rope_launch(d_dx, d_pos, n, n_heads, head_dim, theta_base, -1, stream, err);
}
