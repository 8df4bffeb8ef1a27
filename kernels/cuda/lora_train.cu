/* LoRA at one projection for training, forward and backward, as cuBLAS
 * products in rank space (the adapter's matrices are float; the ranks are
 * small, so these are thin GEMMs) and one masking kernel:
 *   forward   u = mask * scale * (in · A^T)             (n, r)
 *             out += u · B^T                            (n, od)
 *   backward  dB += dout^T · u                          (od, r)
 *             du = mask * scale * (dout · B)            (n, r)
 *             dA += du^T · in                           (r, id)
 *             din += du · A                             (n, id)
 * Unmasked rows have u = du = 0, so they add exactly nothing (the CPU skips
 * them). References: pgr_tr_lora, pgr_tr_lora_bwd (double dot products
 * there, fp32 GEMMs here: agreement to ~1e-5 relative). */
#include "kernels/cuda/train_common.cuh"

extern "C" int pgr_cu_lora_train_fwd(pgr_cu_blas *b, const float *d_in, const float *d_A,
                                     const float *d_B, float scale, const uint8_t *d_mask,
                                     float *d_out, int n, int id, int od, int r, float *d_u,
                                     void *stream, pgr_err *err)
{
    if (pgr_cu_mm(b, 0, 1, n, r, id, 1.0f, d_in, id, d_A, id, 0.0f, d_u, r, 0, err) ||
        pgr_cu_mask_rows(d_u, d_mask, NULL, scale, n, r, stream, err) ||
        pgr_cu_mm(b, 0, 1, n, od, r, 1.0f, d_u, r, d_B, r, 1.0f, d_out, od, 0, err))
        return -1;
    return 0;
}

extern "C" int pgr_cu_lora_train_bwd(pgr_cu_blas *b, const float *d_in, const float *d_A,
                                     const float *d_B, float scale, const uint8_t *d_mask,
                                     const float *d_dout, float *d_dA, float *d_dB, float *d_din,
                                     int n, int id, int od, int r, float *d_u, float *d_du,
                                     void *stream, pgr_err *err)
{
    if (pgr_cu_mm(b, 0, 1, n, r, id, 1.0f, d_in, id, d_A, id, 0.0f, d_u, r, 0, err) ||
        pgr_cu_mask_rows(d_u, d_mask, NULL, scale, n, r, stream, err) ||
        pgr_cu_mm(b, 1, 0, od, r, n, 1.0f, d_dout, od, d_u, r, 1.0f, d_dB, r, 0, err) ||
        pgr_cu_mm(b, 0, 0, n, r, od, 1.0f, d_dout, od, d_B, r, 0.0f, d_du, r, 0, err) ||
        pgr_cu_mask_rows(d_du, d_mask, NULL, scale, n, r, stream, err) ||
        pgr_cu_mm(b, 1, 0, r, id, n, 1.0f, d_du, r, d_in, id, 1.0f, d_dA, id, 0, err))
        return -1;
    if (d_din && pgr_cu_mm(b, 0, 0, n, id, r, 1.0f, d_du, r, d_A, id, 1.0f, d_din, id, 0, err))
        return -1;
    return 0;
}
