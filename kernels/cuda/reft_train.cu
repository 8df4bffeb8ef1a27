/* LoReFT / DiReFT at the residual stream for training, forward (in place) and
 * backward, as cuBLAS products in rank space plus small kernels. With
 * D = W - R (LoReFT) or W (DiReFT):
 *   forward   z = mask * (h · D^T + b)                  (n, r)
 *             h += z · R                                (n, d)
 *   backward  dh += dy
 *             dz = mask * (dy · R^T)                    (n, r)
 *             db += sum_t dz_t
 *             dR += z^T · dy  (LoReFT: - dz^T · h)      (r, d)
 *             dW += dz^T · h
 *             dh += dz · D
 * Forming D first keeps LoReFT's starting point (W = R) exactly the identity,
 * as the CPU's (W h - R h) is. References: pgr_tr_reft, pgr_tr_reft_bwd. */
#include "kernels/cuda/train_common.cuh"

/* z (n, r) in scratch, D (r, d) after it */
static int reft_z(pgr_cu_blas *b, const float *d_h, const float *d_R, const float *d_W,
                  const float *d_bias, int loreft, const uint8_t *d_mask, int n, int d, int r,
                  float *d_z, float *d_D, void *stream, pgr_err *err)
{
    const float *D = d_W;
    if (loreft) {
        if (pgr_cu_axpy3(d_W, -1.0f, d_R, d_D, (size_t)r * d, stream, err))
            return -1;
        D = d_D;
    }
    if (pgr_cu_mm(b, 0, 1, n, r, d, 1.0f, d_h, d, D, d, 0.0f, d_z, r, 0, err) ||
        pgr_cu_mask_rows(d_z, d_mask, d_bias, 1.0f, n, r, stream, err))
        return -1;
    return 0;
}

extern "C" int pgr_cu_reft_train_fwd(pgr_cu_blas *b, float *d_h, const float *d_R, const float *d_W,
                                     const float *d_bias, int loreft, const uint8_t *d_mask, int n,
                                     int d, int r, float *d_scratch, void *stream, pgr_err *err)
{
    float *z = d_scratch, *D = d_scratch + (size_t)n * r;
    if (reft_z(b, d_h, d_R, d_W, d_bias, loreft, d_mask, n, d, r, z, D, stream, err) ||
        pgr_cu_mm(b, 0, 0, n, d, r, 1.0f, z, r, d_R, d, 1.0f, d_h, d, 0, err))
        return -1;
    return 0;
}

extern "C" int pgr_cu_reft_train_bwd(pgr_cu_blas *b, const float *d_h, const float *d_R,
                                     const float *d_W, const float *d_bias, int loreft,
                                     const uint8_t *d_mask, const float *d_dy, float *d_dR,
                                     float *d_dW, float *d_db, float *d_dh, int n, int d, int r,
                                     float *d_scratch, void *stream, pgr_err *err)
{
    float *z = d_scratch, *dz = d_scratch + (size_t)n * r, *D = dz + (size_t)n * r;
    if (pgr_cu_add(d_dh, d_dy, (size_t)n * d, stream, err) ||
        reft_z(b, d_h, d_R, d_W, d_bias, loreft, d_mask, n, d, r, z, D, stream, err) ||
        pgr_cu_mm(b, 0, 1, n, r, d, 1.0f, d_dy, d, d_R, d, 0.0f, dz, r, 0, err) ||
        pgr_cu_mask_rows(dz, d_mask, NULL, 1.0f, n, r, stream, err) ||
        pgr_cu_colsum_add(dz, d_db, n, r, stream, err) ||
        pgr_cu_mm(b, 1, 0, r, d, n, 1.0f, z, r, d_dy, d, 1.0f, d_dR, d, 0, err) ||
        (loreft && pgr_cu_mm(b, 1, 0, r, d, n, -1.0f, dz, r, d_h, d, 1.0f, d_dR, d, 0, err)) ||
        pgr_cu_mm(b, 1, 0, r, d, n, 1.0f, dz, r, d_h, d, 1.0f, d_dW, d, 0, err) ||
        pgr_cu_mm(b, 0, 0, n, d, r, 1.0f, dz, r, loreft ? D : d_W, d, 1.0f, d_dh, d, 0, err))
        return -1;
    return 0;
}
