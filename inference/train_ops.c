/* Forward and backward pieces of the training pass (see train_impl.h), plain
 * C on float arrays with double accumulation where a sum runs over a whole
 * row. Each is checked against finite differences in tests/unit/test_train.c. */
#include <math.h>
#include <string.h>

#include "inference/train_impl.h"

static double dot_d(const float *a, const float *b, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}

static float rms_scale(const float *x, int d, float eps)
{
    double ss = 0;
    for (int i = 0; i < d; i++)
        ss += (double)(x[i] * x[i]);
    return 1.0f / sqrtf((float)(ss / d) + eps);
}

void pgr_tr_rmsnorm(const float *x, const float *w, float *y, int n, int d, float eps)
{
    for (int t = 0; t < n; t++) {
        const float *xr = x + (size_t)t * d;
        float *yr = y + (size_t)t * d;
        const float s = rms_scale(xr, d, eps);
        for (int i = 0; i < d; i++)
            yr[i] = (xr[i] * s) * w[i];
    }
}

/* y_i = x_i r w_i, r = (mean(x^2) + eps)^-1/2, dr/dx_j = -r^3 x_j / d:
 * dx_j = r w_j dy_j - x_j r^3 / d * sum_i dy_i w_i x_i */
void pgr_tr_rmsnorm_bwd(const float *x, const float *w, const float *dy, float *dx, int n, int d,
                        float eps)
{
    for (int t = 0; t < n; t++) {
        const float *xr = x + (size_t)t * d, *g = dy + (size_t)t * d;
        float *o = dx + (size_t)t * d;
        const float r = rms_scale(xr, d, eps);
        double s = 0;
        for (int i = 0; i < d; i++)
            s += (double)g[i] * w[i] * xr[i];
        const float c = (float)(s * r * r * r / d);
        for (int i = 0; i < d; i++)
            o[i] += r * w[i] * g[i] - xr[i] * c;
    }
}

/* silu(g) = g s(g), silu'(g) = s(g) (1 + g (1 - s(g))) */
void pgr_tr_swiglu_bwd(const float *g, const float *u, const float *dact, float *dg, float *du,
                       size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const float sg = 1.0f / (1.0f + expf(-g[i]));
        du[i] += dact[i] * g[i] * sg;
        dg[i] += dact[i] * u[i] * sg * (1.0f + g[i] * (1.0f - sg));
    }
}

void pgr_tr_rope_bwd(const pgr_kernels *K, pgr_kctx *ctx, float *dx, const int32_t *pos, int n,
                     int n_heads, int head_dim, float theta, int32_t *neg_pos_scratch)
{
    /* the kernel builds angles as (float)pos times theta_scale^i, so -pos
     * gives exactly the negated angles: cos equal, sin negated */
    for (int t = 0; t < n; t++)
        neg_pos_scratch[t] = -pos[t];
    K->rope(ctx, dx, neg_pos_scratch, n, n_heads, head_dim, theta);
}

void pgr_tr_attention(const float *q, const float *k, const float *v, float *out, float *P, int n,
                      int nh, int nkv, int hd, float scale)
{
    const int group = nh / nkv, qd = nh * hd, kvd = nkv * hd;
    for (int h = 0; h < nh; h++) {
        const int kh = h / group;
        for (int i = 0; i < n; i++) {
            float *p = P + ((size_t)h * n + i) * n;
            const float *qi = q + (size_t)i * qd + (size_t)h * hd;
            float mx = -INFINITY;
            for (int j = 0; j <= i; j++) {
                p[j] = (float)dot_d(qi, k + (size_t)j * kvd + (size_t)kh * hd, hd) * scale;
                if (p[j] > mx)
                    mx = p[j];
            }
            double sum = 0;
            for (int j = 0; j <= i; j++) {
                p[j] = expf(p[j] - mx);
                sum += p[j];
            }
            const float inv = (float)(1.0 / sum);
            float *o = out + (size_t)i * qd + (size_t)h * hd;
            memset(o, 0, (size_t)hd * sizeof(float));
            for (int j = 0; j <= i; j++) {
                p[j] *= inv;
                const float *vj = v + (size_t)j * kvd + (size_t)kh * hd;
                for (int c = 0; c < hd; c++)
                    o[c] += p[j] * vj[c];
            }
        }
    }
}

/* o_i = sum_j P_ij v_j, P_i = softmax(S_i), S_ij = scale q_i.k_j:
 * dv_j += P_ij do_i; dP_ij = do_i.v_j; dS_ij = P_ij (dP_ij - sum_k P_ik dP_ik);
 * dq_i += scale sum_j dS_ij k_j; dk_j += scale dS_ij q_i */
void pgr_tr_attention_bwd(const float *q, const float *k, const float *v, const float *P,
                          const float *dout, float *dq, float *dk, float *dv, int n, int nh,
                          int nkv, int hd, float scale, float *dP)
{
    const int group = nh / nkv, qd = nh * hd, kvd = nkv * hd;
    for (int h = 0; h < nh; h++) {
        const int kh = h / group;
        for (int i = 0; i < n; i++) {
            const float *p = P + ((size_t)h * n + i) * n;
            const float *doi = dout + (size_t)i * qd + (size_t)h * hd;
            const float *qi = q + (size_t)i * qd + (size_t)h * hd;
            float *dqi = dq + (size_t)i * qd + (size_t)h * hd;
            double pdp = 0;
            for (int j = 0; j <= i; j++) {
                const size_t kv_off = (size_t)j * kvd + (size_t)kh * hd;
                dP[j] = (float)dot_d(doi, v + kv_off, hd);
                pdp += (double)p[j] * dP[j];
                float *dvj = dv + kv_off;
                for (int c = 0; c < hd; c++)
                    dvj[c] += p[j] * doi[c];
            }
            for (int j = 0; j <= i; j++) {
                const float ds = p[j] * (dP[j] - (float)pdp) * scale;
                if (ds == 0.0f)
                    continue;
                const size_t kv_off = (size_t)j * kvd + (size_t)kh * hd;
                const float *kj = k + kv_off;
                float *dkj = dk + kv_off;
                for (int c = 0; c < hd; c++) {
                    dqi[c] += ds * kj[c];
                    dkj[c] += ds * qi[c];
                }
            }
        }
    }
}

void pgr_tr_lora(const float *in, const float *A, const float *B, float scale, const uint8_t *mask,
                 float *out, int n, int id, int od, int r)
{
    float u[64];
    for (int t = 0; t < n; t++) {
        if (mask && !mask[t])
            continue;
        const float *x = in + (size_t)t * id;
        float *o = out + (size_t)t * od;
        for (int j0 = 0; j0 < r; j0 += 64) { /* ranks above 64 in slices of 64 */
            const int nj = r - j0 < 64 ? r - j0 : 64;
            for (int j = 0; j < nj; j++)
                u[j] = scale * (float)dot_d(x, A + (size_t)(j0 + j) * id, id);
            for (int c = 0; c < od; c++) {
                const float *bc = B + (size_t)c * r + j0;
                float s = 0;
                for (int j = 0; j < nj; j++)
                    s += u[j] * bc[j];
                o[c] += s;
            }
        }
    }
}

/* u = scale x A^T; out += u B^T: dB += dout^T u; du = dout B; dA += scale du^T x;
 * dx += scale du A */
void pgr_tr_lora_bwd(const float *in, const float *A, const float *B, float scale,
                     const uint8_t *mask, const float *dout, float *dA, float *dB, float *din,
                     int n, int id, int od, int r, float *u, float *du)
{
    for (int t = 0; t < n; t++) {
        if (mask && !mask[t])
            continue;
        const float *x = in + (size_t)t * id, *g = dout + (size_t)t * od;
        for (int j = 0; j < r; j++) {
            u[j] = scale * (float)dot_d(x, A + (size_t)j * id, id);
            du[j] = 0;
        }
        for (int c = 0; c < od; c++) {
            const float gc = g[c];
            if (gc == 0.0f)
                continue;
            float *dbc = dB + (size_t)c * r;
            const float *bc = B + (size_t)c * r;
            for (int j = 0; j < r; j++) {
                dbc[j] += gc * u[j];
                du[j] += gc * bc[j];
            }
        }
        for (int j = 0; j < r; j++) {
            const float a = scale * du[j];
            float *daj = dA + (size_t)j * id;
            const float *aj = A + (size_t)j * id;
            for (int i = 0; i < id; i++)
                daj[i] += a * x[i];
            if (din) {
                float *dx = din + (size_t)t * id;
                for (int i = 0; i < id; i++)
                    dx[i] += a * aj[i];
            }
        }
    }
}

static void reft_z(const float *x, const float *R, const float *W, const float *b, int loreft,
                   int d, int r, float *z)
{
    for (int j = 0; j < r; j++) {
        double wh = dot_d(W + (size_t)j * d, x, d) + b[j];
        z[j] = (float)(loreft ? wh - dot_d(R + (size_t)j * d, x, d) : wh);
    }
}

void pgr_tr_reft(float *h, const float *R, const float *W, const float *b, int loreft,
                 const uint8_t *mask, int n, int d, int r, float *z)
{
    for (int t = 0; t < n; t++) {
        if (mask && !mask[t])
            continue;
        float *x = h + (size_t)t * d;
        reft_z(x, R, W, b, loreft, d, r, z);
        for (int j = 0; j < r; j++) {
            const float *rj = R + (size_t)j * d;
            for (int c = 0; c < d; c++)
                x[c] += z[j] * rj[c];
        }
    }
}

/* y = h + R^T z, z = W h + b (- R h): dz = R dy; dR += z dy^T (- dz h^T);
 * dW += dz h^T; db += dz; dh += dy + W^T dz (- R^T dz) */
void pgr_tr_reft_bwd(const float *h, const float *R, const float *W, const float *b, int loreft,
                     const uint8_t *mask, const float *dy, float *dR, float *dW, float *db,
                     float *dh, int n, int d, int r, float *z, float *dz)
{
    for (int t = 0; t < n; t++) {
        const float *g = dy + (size_t)t * d;
        float *dx = dh + (size_t)t * d;
        for (int c = 0; c < d; c++)
            dx[c] += g[c];
        if (mask && !mask[t])
            continue;
        const float *x = h + (size_t)t * d;
        reft_z(x, R, W, b, loreft, d, r, z);
        for (int j = 0; j < r; j++)
            dz[j] = (float)dot_d(R + (size_t)j * d, g, d);
        for (int j = 0; j < r; j++) {
            const float *rj = R + (size_t)j * d, *wj = W + (size_t)j * d;
            float *drj = dR + (size_t)j * d, *dwj = dW + (size_t)j * d;
            const float zj = z[j], dzj = dz[j];
            db[j] += dzj;
            for (int c = 0; c < d; c++) {
                drj[c] += zj * g[c] - (loreft ? dzj * x[c] : 0.0f);
                dwj[c] += dzj * x[c];
                dx[c] += dzj * (wj[c] - (loreft ? rj[c] : 0.0f));
            }
        }
    }
}

double pgr_tr_xent(const float *logits, const int32_t *target, float *dlogits, int n, int V,
                   float gscale)
{
    double total = 0;
    for (int t = 0; t < n; t++) {
        const float *l = logits + (size_t)t * V;
        float mx = -INFINITY;
        for (int i = 0; i < V; i++)
            if (l[i] > mx)
                mx = l[i];
        double sum = 0;
        for (int i = 0; i < V; i++)
            sum += exp((double)(l[i] - mx));
        const double lse = log(sum) + mx;
        total += lse - l[target[t]];
        if (dlogits) {
            float *g = dlogits + (size_t)t * V;
            for (int i = 0; i < V; i++)
                g[i] = (float)exp((double)l[i] - lse) * gscale;
            g[target[t]] -= gscale;
        }
    }
    return total;
}
