/* G4 of `peergraph bench gpu`: every kernel of kernels/cuda timed on its own,
 * on random inputs of the model's shapes (Llama-3.1-8B for bench gpu), with
 * the bytes it must move and the operations it must do counted from its
 * arguments, so that inference/bench_gpu.c can print GB/s or TFLOP/s beside
 * the device's peak. Each figure is the median of `reps` launches timed
 * with events on one stream, after one warm-up launch.
 *
 * Byte counts are the minimum a launch must move (each input read once,
 * each output written once; a += counts a read and a write); kernels that
 * re-read data from cache (attention over a prefill chunk) are therefore
 * judged against what they would move with perfect reuse. Not yet run on a
 * GPU (docs/cuda.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <vector>

#include "kernels/cuda/cuda_backend.h"
#include "kernels/cuda/cuda_common.cuh"

namespace {

/* Deterministic pseudo-random fill: uniform in [-scale, scale). */
__global__ void fill_f32_kernel(float *x, size_t n, uint32_t seed, float scale)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        uint32_t h = (uint32_t)i * 2654435761u ^ seed;
        h ^= h >> 15, h *= 2246822519u, h ^= h >> 13;
        x[i] = scale * ((float)(h >> 8) * (2.0f / 16777216.0f) - 1.0f);
    }
}

/* Random bytes that are finite as fp16 / bf16 pairs (exponent bits never all
 * ones): for quantised blocks and half-precision tensors. */
__global__ void fill_u16_kernel(uint16_t *x, size_t n, uint32_t seed)
{
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        uint32_t h = (uint32_t)i * 2246822519u ^ seed;
        h ^= h >> 13, h *= 3266489917u, h ^= h >> 16;
        x[i] = (uint16_t)((h & 0x3fffu) | ((h >> 16) & 0x8000u)); /* |x| < 2 in fp16 and bf16 */
    }
}

struct bench {
    cudaStream_t st;
    int reps;
    std::vector<void *> bufs;
    pgr_cuda_kbench *out;
    int max, n;
    cudaEvent_t e0, e1;
};

void *dalloc(bench &b, size_t bytes, pgr_err *err)
{
    void *p = NULL;
    if (pgr_cu_malloc(&p, bytes, err))
        return NULL;
    b.bufs.push_back(p);
    return p;
}

float *frand(bench &b, size_t n, uint32_t seed, float scale, pgr_err *err)
{
    float *p = (float *)dalloc(b, n * sizeof(float), err);
    if (p) {
        fill_f32_kernel<<<1024, 256, 0, b.st>>>(p, n, seed, scale);
        if (cudaGetLastError() != cudaSuccess) {
            pgr_errf(err, PGR_EINTERNAL, "CUDA: fill_f32_kernel launch failed");
            return NULL;
        }
    }
    return p;
}

uint16_t *hrand(bench &b, size_t n, uint32_t seed, pgr_err *err)
{
    uint16_t *p = (uint16_t *)dalloc(b, n * sizeof(uint16_t), err);
    if (p) {
        fill_u16_kernel<<<1024, 256, 0, b.st>>>(p, n, seed);
        if (cudaGetLastError() != cudaSuccess) {
            pgr_errf(err, PGR_EINTERNAL, "CUDA: fill_u16_kernel launch failed");
            return NULL;
        }
    }
    return p;
}

/* Times launch() (0 or -1 with err): one warm-up, then reps launches, each
 * between two events; records the median. */
template <typename F>
int timed(bench &b, const char *name, const char *shape, double bytes, double flops,
          int compute, F launch, pgr_err *err)
{
    std::vector<float> ms;
    if (b.n >= b.max)
        return 0; /* the caller's table is full: the rest is not measured */
    if (launch())
        return -1;
    CU_TRY(cudaStreamSynchronize(b.st));
    for (int i = 0; i < b.reps; i++) {
        float t = 0;
        CU_TRY(cudaEventRecord(b.e0, b.st));
        if (launch())
            return -1;
        CU_TRY(cudaEventRecord(b.e1, b.st));
        CU_TRY(cudaEventSynchronize(b.e1));
        CU_TRY(cudaEventElapsedTime(&t, b.e0, b.e1));
        ms.push_back(t);
    }
    std::sort(ms.begin(), ms.end());
    {
        pgr_cuda_kbench *k = &b.out[b.n++];
        memset(k, 0, sizeof *k);
        snprintf(k->name, sizeof k->name, "%s", name);
        snprintf(k->shape, sizeof k->shape, "%s", shape);
        k->us = (double)ms[ms.size() / 2] * 1e3;
        k->bytes = bytes;
        k->flops = flops;
        k->compute = compute;
    }
    return 0;
cleanup:
    return -1;
}

/* A paged KV cache of n_seq sequences of ctx positions each (blocks of 16,
 * sequence s owns blocks [s * per, (s + 1) * per)), and for n_tok tokens of
 * those sequences their block-table offsets. */
struct kvset {
    uint16_t *kc, *vc;
    int32_t *tabs, *tab_off, *pos;
    int per;
};

int make_kv(bench &b, int n_seq, int ctx, int kv_dim, const std::vector<int32_t> &tok_seq,
            const std::vector<int32_t> &tok_pos, kvset *kv, pgr_err *err)
{
    const int per = (ctx + 15) / 16;
    const size_t slots = (size_t)n_seq * per * 16 * kv_dim;
    std::vector<int32_t> tabs((size_t)n_seq * per), off(tok_seq.size());
    for (size_t i = 0; i < tabs.size(); i++)
        tabs[i] = (int32_t)i;
    for (size_t t = 0; t < tok_seq.size(); t++)
        off[t] = tok_seq[t] * per;
    kv->per = per;
    if (!(kv->kc = hrand(b, slots, 11u, err)) || !(kv->vc = hrand(b, slots, 12u, err)) ||
        !(kv->tabs = (int32_t *)dalloc(b, tabs.size() * 4, err)) ||
        !(kv->tab_off = (int32_t *)dalloc(b, off.size() * 4, err)) ||
        !(kv->pos = (int32_t *)dalloc(b, tok_pos.size() * 4, err)))
        return -1;
    if (pgr_cu_h2d(kv->tabs, tabs.data(), tabs.size() * 4, err) ||
        pgr_cu_h2d(kv->tab_off, off.data(), off.size() * 4, err) ||
        pgr_cu_h2d(kv->pos, tok_pos.data(), tok_pos.size() * 4, err))
        return -1;
    return 0;
}

/* n_ad LoRA adapters of rank r for one site (site_idx 0): A (r, in), Bt (r, out). */
const pgr_cu_lora *const *make_lora(bench &b, int n_ad, int r, int in, int out, pgr_err *err)
{
    float *w = frand(b, (size_t)n_ad * r * (size_t)(in + out), 21u, 0.05f, err);
    pgr_cu_lora *descs = w ? (pgr_cu_lora *)dalloc(b, (size_t)n_ad * sizeof(pgr_cu_lora), err)
                           : NULL;
    pgr_cu_lora **tabs =
        descs ? (pgr_cu_lora **)dalloc(b, (size_t)n_ad * sizeof(pgr_cu_lora *), err) : NULL;
    if (!tabs)
        return NULL;
    std::vector<pgr_cu_lora> h((size_t)n_ad);
    std::vector<pgr_cu_lora *> ht((size_t)n_ad);
    for (int i = 0; i < n_ad; i++) {
        h[i].A = w + (size_t)i * r * (in + out);
        h[i].Bt = h[i].A + (size_t)r * in;
        h[i].rank = r;
        h[i].scale = 2.0f;
        ht[i] = descs + i;
    }
    if (pgr_cu_h2d(descs, h.data(), h.size() * sizeof h[0], err) ||
        pgr_cu_h2d(tabs, ht.data(), ht.size() * sizeof ht[0], err))
        return NULL;
    return tabs;
}

const pgr_cu_reft *const *make_reft(bench &b, int n_ad, int r, int dim, pgr_err *err)
{
    float *w = frand(b, (size_t)n_ad * r * (size_t)(2 * dim + 1), 31u, 0.05f, err);
    pgr_cu_reft *descs = w ? (pgr_cu_reft *)dalloc(b, (size_t)n_ad * sizeof(pgr_cu_reft), err)
                           : NULL;
    pgr_cu_reft **tabs =
        descs ? (pgr_cu_reft **)dalloc(b, (size_t)n_ad * sizeof(pgr_cu_reft *), err) : NULL;
    if (!tabs)
        return NULL;
    std::vector<pgr_cu_reft> h((size_t)n_ad);
    std::vector<pgr_cu_reft *> ht((size_t)n_ad);
    for (int i = 0; i < n_ad; i++) {
        h[i].R = w + (size_t)i * r * (2 * dim + 1);
        h[i].W = h[i].R + (size_t)r * dim;
        h[i].b = h[i].W + (size_t)r * dim;
        h[i].rank = r;
        h[i].loreft = 1;
        ht[i] = descs + i;
    }
    if (pgr_cu_h2d(descs, h.data(), h.size() * sizeof h[0], err) ||
        pgr_cu_h2d(tabs, ht.data(), ht.size() * sizeof ht[0], err))
        return NULL;
    return tabs;
}

int run_all(bench &b, const pgr_model_cfg *c, int lora_rank, int n_ad, pgr_err *err)
{
    const int dim = c->dim, ffn = c->ffn_dim, V = c->vocab, hd = c->head_dim;
    const int qd = c->n_head * hd, kvd = c->n_kv_head * hd;
    const int NT = 4096; /* the largest step: prefill */
    char shape[96];
    pgr_cu_blas *blas = NULL;
    int rc = -1;
    /* shared inputs */
    float *x = frand(b, (size_t)NT * ffn, 1u, 1.0f, err);
    float *y = x ? frand(b, (size_t)NT * ffn, 2u, 1.0f, err) : NULL;
    float *z = y ? frand(b, (size_t)NT * ffn, 3u, 1.0f, err) : NULL;
    float *nw = z ? frand(b, (size_t)dim, 4u, 1.0f, err) : NULL;
    uint16_t *xbf = nw ? hrand(b, (size_t)NT * ffn, 5u, err) : NULL;
    uint16_t *wbf = xbf ? hrand(b, (size_t)ffn * dim, 6u, err) : NULL;
    /* Q4_0 blocks: 18 bytes per 32 weights */
    const size_t q4_row = (size_t)dim / 32 * 18;
    uint16_t *wq4 = wbf ? hrand(b, (ffn * q4_row + 1) / 2, 7u, err) : NULL;
    int32_t *rows = NULL; /* scattered indices < NT: gathered rows, token ids, positions */
    if (!wq4)
        return -1;
    {
        std::vector<int32_t> h(NT);
        for (int i = 0; i < NT; i++)
            h[i] = (int32_t)((31u * (unsigned)i) % (unsigned)NT);
        if (!(rows = (int32_t *)dalloc(b, NT * 4, err)) || pgr_cu_h2d(rows, h.data(), NT * 4, err))
            return -1;
    }
    if (pgr_cu_blas_new(b.st, &blas, err))
        return -1;

    /* weights: upload-time dequantisation, embedding, matrix products */
    snprintf(shape, sizeof shape, "Q4_0 (%d, %d) -> bf16", ffn, dim);
    if (timed(b, "dequant_bf16", shape, (double)ffn * q4_row + (double)ffn * dim * 2, 0, 0,
              [&] { return pgr_cu_dequant_bf16(PGR_KT_Q4_0, wq4, q4_row, ffn, dim, xbf, b.st, err); },
              err))
        goto cleanup;
    for (int n : {1, 256}) {
        /* the table is W's rows (the rows read are what costs, not the table size) */
        snprintf(shape, sizeof shape, "bf16 rows of %d, %d tokens", dim, n);
        if (timed(b, "embed", shape, (double)n * dim * (2 + 4) + n * 4.0, 0, 0,
                  [&] { return pgr_cu_embed(PGR_KT_BF16, wbf, (size_t)dim * 2, dim, rows, n, x,
                                            b.st, err); },
                  err))
            goto cleanup;
    }
    for (int type : {PGR_KT_Q4_0, PGR_KT_BF16})
        for (int n : {1, 8}) {
            const size_t rb = type == PGR_KT_Q4_0 ? q4_row : (size_t)dim * 2;
            const void *w = type == PGR_KT_Q4_0 ? (const void *)wq4 : (const void *)wbf;
            snprintf(shape, sizeof shape, "%s W (%d, %d), %d tokens", pgr_kt_name(type), ffn, dim,
                     n);
            if (timed(b, "qmatvec", shape, (double)ffn * rb + (double)n * (dim + ffn) * 4,
                      2.0 * ffn * dim * n, 0,
                      [&] { return pgr_cu_qmatvec(type, w, rb, ffn, dim, x, y, n, b.st, err); },
                      err))
                goto cleanup;
        }
    for (int n : {1, 2, 4, 8}) {
        /* the small-batch decode kernel on the same bf16 matrix, fp32 x */
        pgr_cu_gemv_mat gm = {wbf, y, ffn};
        snprintf(shape, sizeof shape, "bf16 W (%d, %d), %d tokens", ffn, dim, n);
        if (timed(b, "gemv_bf16", shape,
                  (double)ffn * dim * 2 + (double)n * dim * 4 + (double)n * ffn * 4,
                  2.0 * ffn * dim * n, 0,
                  [&] { return pgr_cu_gemv_bf16(&gm, 1, dim, x, n, 0, b.st, err); }, err))
            goto cleanup;
    }
    {
        /* q, k, v of a layer in one launch (the engine's decode step) */
        /* three disjoint row ranges of the (ffn, dim) matrix, so that no
         * weight byte is read twice */
        pgr_cu_gemv_mat gm[3] = {{wbf, y, qd},
                                 {wbf + (size_t)qd * dim, y + qd, kvd},
                                 {wbf + (size_t)(qd + kvd) * dim, y + qd + kvd, kvd}};
        const double rows = (double)qd + 2.0 * kvd;
        snprintf(shape, sizeof shape, "q,k,v bf16 (%d + 2 x %d, %d), 1 token", qd, kvd, dim);
        if (qd + 2 * kvd <= ffn &&
            timed(b, "gemv_bf16", shape, rows * dim * 2 + dim * 4.0 + rows * 4, 2.0 * rows * dim,
                  0, [&] { return pgr_cu_gemv_bf16(gm, 3, dim, x, 1, 0, b.st, err); }, err))
            goto cleanup;
    }
    for (int n : {1, 8, 16, 256, 4096}) {
        snprintf(shape, sizeof shape, "bf16 W (%d, %d), %d tokens", ffn, dim, n);
        if (timed(b, "gemm_bf16 (cuBLAS)", shape,
                  (double)ffn * dim * 2 + (double)n * dim * 2 + (double)n * ffn * 4,
                  2.0 * ffn * dim * n, n >= 256 ? 1 : 0,
                  [&] { return pgr_cu_gemm_bf16(blas, wbf, ffn, dim, xbf, y, n, err); }, err))
            goto cleanup;
    }
    /* element-wise and small ops, decode (256 tokens) and prefill (4096) sizes */
    for (int n : {256, 4096}) {
        snprintf(shape, sizeof shape, "%d x %d", n, dim);
        if (timed(b, "rmsnorm", shape, 2.0 * n * dim * 4 + dim * 4.0, 0, 0,
                  [&] { return pgr_cu_rmsnorm(x, nw, y, n, dim, 1e-5f, b.st, err); }, err) ||
            timed(b, "add", shape, 3.0 * n * dim * 4, 0, 0,
                  [&] { return pgr_cu_add(x, y, (size_t)n * dim, b.st, err); }, err) ||
            timed(b, "to_bf16", shape, (double)n * dim * 6, 0, 0,
                  [&] { return pgr_cu_to_bf16(x, xbf, (size_t)n * dim, b.st, err); }, err) ||
            timed(b, "gather_rows", shape, (double)n * dim * 8 + n * 4.0, 0, 0,
                  [&] { return pgr_cu_gather_rows(x, rows, n, dim, y, b.st, err); }, err))
            goto cleanup;
        snprintf(shape, sizeof shape, "%d tokens x %d heads x %d", n, c->n_head, hd);
        if (timed(b, "rope", shape, 2.0 * n * qd * 4 + n * 4.0, 0, 0,
                  [&] { return pgr_cu_rope(x, rows, n, c->n_head, hd, c->rope_theta, b.st, err); },
                  err))
            goto cleanup;
        snprintf(shape, sizeof shape, "%d x %d", n, ffn);
        if (timed(b, "swiglu", shape, 3.0 * n * ffn * 4, 0, 0,
                  [&] { return pgr_cu_swiglu(x, y, z, (size_t)n * ffn, b.st, err); }, err))
            goto cleanup;
    }
    /* paged KV store and attention: decode (64 sequences at 1024 positions,
     * one token each) and a prefill chunk (512 tokens of one sequence) */
    {
        const int n_seq = 64, ctx = 1024, chunk = 512;
        std::vector<int32_t> ds(n_seq), dp(n_seq), ps(chunk), pp(chunk);
        for (int s = 0; s < n_seq; s++)
            ds[s] = s, dp[s] = ctx - 1;
        for (int i = 0; i < chunk; i++)
            ps[i] = 0, pp[i] = i;
        kvset dk, pk;
        if (make_kv(b, n_seq, ctx, kvd, ds, dp, &dk, err) ||
            make_kv(b, 1, chunk, kvd, ps, pp, &pk, err))
            goto cleanup;
        const float sc = 1.0f / sqrtf((float)hd);
        snprintf(shape, sizeof shape, "%d tokens, kv_dim %d", n_seq, kvd);
        if (timed(b, "kv_store", shape, (double)n_seq * kvd * (8 + 4), 0, 0,
                  [&] { return pgr_cu_kv_store(dk.kc, dk.vc, x, y, n_seq, dk.pos, dk.tab_off,
                                               dk.tabs, 16, kvd, b.st, err); },
                  err))
            goto cleanup;
        /* the fused decode form: rope on q and k, then the store (q, k
         * read and written, v read, k and v written as fp16) */
        snprintf(shape, sizeof shape, "%d tokens, %d/%d heads x %d", n_seq, c->n_head,
                 c->n_kv_head, hd);
        if (timed(b, "rope_kv_store", shape,
                  (double)n_seq * (qd * 8.0 + kvd * 8.0 + kvd * 4.0 + kvd * 4.0), 0, 0,
                  [&] { return pgr_cu_rope_kv_store(z, x, y, dk.kc, dk.vc, n_seq, dk.pos,
                                                    dk.tab_off, dk.tabs, 16, c->n_head,
                                                    c->n_kv_head, hd, c->rope_theta, b.st, err); },
                  err))
            goto cleanup;
        snprintf(shape, sizeof shape, "decode: %d seqs x %d positions, %d/%d heads x %d", n_seq,
                 ctx, c->n_head, c->n_kv_head, hd);
        if (timed(b, "attention", shape,
                  (double)n_seq * ctx * kvd * 2 * 2 + 2.0 * n_seq * qd * 4,
                  4.0 * n_seq * c->n_head * hd * (double)ctx, 0,
                  [&] { return pgr_cu_attention(x, y, n_seq, dk.pos, dk.tab_off, dk.tabs, dk.kc,
                                                dk.vc, 16, c->n_head, c->n_kv_head, hd, sc, b.st,
                                                err); },
                  err))
            goto cleanup;
        snprintf(shape, sizeof shape, "prefill: %d tokens of one sequence (causal)", chunk);
        if (timed(b, "attention", shape, (double)chunk * kvd * 2 * 2 + 2.0 * chunk * qd * 4,
                  4.0 * c->n_head * hd * ((double)chunk * (chunk + 1) / 2), 2,
                  [&] { return pgr_cu_attention(x, y, chunk, pk.pos, pk.tab_off, pk.tabs, pk.kc,
                                                pk.vc, 16, c->n_head, c->n_kv_head, hd, sc, b.st,
                                                err); },
                  err))
            goto cleanup;
    }
    /* adapters: SGMV (8 adapters x 512 prefill tokens), BGMV (n_ad decode
     * tokens, each its own adapter), LoReFT per token; the q projection's
     * shape (dim -> q_dim) and gate's (dim -> ffn) */
    {
        const int r = lora_rank, seg = 512, nseg = 8, nt = nseg * seg; /* G3: 512-token chunks */
        std::vector<int32_t> st(nseg + 1), tok(nt), sl(nseg), slot(n_ad);
        for (int g = 0; g <= nseg; g++)
            st[g] = g * seg;
        for (int i = 0; i < nt; i++)
            tok[i] = i;
        for (int g = 0; g < nseg; g++)
            sl[g] = g % n_ad;
        for (int t = 0; t < n_ad; t++)
            slot[t] = t;
        int32_t *d_st = (int32_t *)dalloc(b, st.size() * 4, err);
        int32_t *d_tok = d_st ? (int32_t *)dalloc(b, tok.size() * 4, err) : NULL;
        int32_t *d_sl = d_tok ? (int32_t *)dalloc(b, sl.size() * 4, err) : NULL;
        int32_t *d_slot = d_sl ? (int32_t *)dalloc(b, slot.size() * 4, err) : NULL;
        float *tmp = d_slot ? frand(b, (size_t)nt * r, 41u, 1.0f, err) : NULL;
        if (!tmp || pgr_cu_h2d(d_st, st.data(), st.size() * 4, err) ||
            pgr_cu_h2d(d_tok, tok.data(), tok.size() * 4, err) ||
            pgr_cu_h2d(d_sl, sl.data(), sl.size() * 4, err) ||
            pgr_cu_h2d(d_slot, slot.data(), slot.size() * 4, err))
            goto cleanup;
        for (int out : {qd, ffn}) {
            const pgr_cu_lora *const *tabs = make_lora(b, n_ad, r, dim, out, err);
            if (!tabs)
                goto cleanup;
            const double per_ad = (double)r * (dim + out) * 4;
            snprintf(shape, sizeof shape, "%d x %d tokens, rank %d, %d -> %d", nseg, seg, r, dim,
                     out);
            if (timed(b, "lora_sgmv", shape,
                      nseg * per_ad + (double)nt * dim * 4 + 2.0 * nt * out * 4,
                      2.0 * nt * r * (dim + out), 0,
                      [&] { return pgr_cu_lora_sgmv(x, dim, y, out, nseg, seg, d_st, d_tok, d_sl, tabs,
                                                    0, r, tmp, b.st, err); },
                      err))
                goto cleanup;
            snprintf(shape, sizeof shape, "%d tokens x %d adapters, rank %d, %d -> %d", n_ad,
                     n_ad, r, dim, out);
            if (timed(b, "lora_bgmv", shape,
                      n_ad * per_ad + (double)n_ad * dim * 4 + 2.0 * n_ad * out * 4,
                      2.0 * n_ad * r * (dim + out), 0,
                      [&] { return pgr_cu_lora_bgmv(x, dim, y, out, n_ad, d_slot, tabs, 0, r,
                                                    b.st, err); },
                      err))
                goto cleanup;
        }
        const pgr_cu_reft *const *rt = make_reft(b, n_ad, r, dim, err);
        if (!rt)
            goto cleanup;
        snprintf(shape, sizeof shape, "%d tokens x %d adapters, rank %d, dim %d", n_ad, n_ad, r,
                 dim);
        if (timed(b, "reft_apply", shape,
                  (double)n_ad * r * (2 * dim + 1) * 4 + 2.0 * n_ad * dim * 4,
                  2.0 * n_ad * r * dim * 3, 0,
                  [&] { return pgr_cu_reft_apply(x, dim, n_ad, d_slot, rt, 0, r, b.st, err); },
                  err))
            goto cleanup;
    }
    /* logits: greedy and top-k/top-p over 256 rows of the vocabulary */
    {
        const int nr = 256;
        float *lg = frand(b, (size_t)nr * V, 51u, 8.0f, err);
        float *scr = lg ? (float *)dalloc(b, (size_t)nr * V * 4, err) : NULL;
        float *u = scr ? frand(b, (size_t)nr, 52u, 0.5f, err) : NULL;
        int32_t *o = u ? (int32_t *)dalloc(b, (size_t)nr * 4, err) : NULL;
        if (!o)
            goto cleanup;
        snprintf(shape, sizeof shape, "%d rows x %d", nr, V);
        if (timed(b, "argmax", shape, (double)nr * V * 4, 0, 0,
                  [&] { return pgr_cu_argmax(lg, nr, V, o, b.st, err); }, err) ||
            timed(b, "sample_topk_topp", shape, 2.0 * nr * V * 4, 0, 0,
                  [&] { return pgr_cu_sample_topk_topp(lg, nr, V, 40, 0.95f, 0.8f, u, scr, o,
                                                       b.st, err); },
                  err))
            goto cleanup;
    }
    rc = 0;
cleanup:
    cudaStreamSynchronize(b.st);
    pgr_cu_blas_free(blas);
    return rc;
}

} // namespace

extern "C" int pgr_cuda_kernel_bench(const pgr_model_cfg *cfg, int reps, int lora_rank,
                                     int n_adapters, pgr_cuda_kbench *out, int max, int *n,
                                     pgr_err *err)
{
    bench b;
    int rc = -1;
    *n = 0;
    b.st = NULL, b.reps = reps, b.out = out, b.max = max, b.n = 0, b.e0 = NULL, b.e1 = NULL;
    if (reps < 1 || reps > 100 || lora_rank < 1 || lora_rank > 1024 || n_adapters < 1 ||
        n_adapters > 4096 || cfg->head_dim % 32 || cfg->dim % 32)
        return pgr_errf(err, PGR_EINVAL, "kernel bench: reps %d, rank %d, %d adapters, dims", reps,
                        lora_rank, n_adapters);
    if (pgr_cu_device_count(err) < 1)
        return -1;
    CU_TRY(cudaSetDevice(0));
    CU_TRY(cudaStreamCreateWithFlags(&b.st, cudaStreamNonBlocking));
    CU_TRY(cudaEventCreate(&b.e0));
    CU_TRY(cudaEventCreate(&b.e1));
    if (run_all(b, cfg, lora_rank, n_adapters, err))
        goto cleanup;
    CU_TRY(cudaStreamSynchronize(b.st));
    rc = 0;
cleanup:
    *n = b.n;
    if (b.st)
        cudaStreamSynchronize(b.st);
    for (void *p : b.bufs)
        pgr_cu_free(p);
    if (b.e0)
        cudaEventDestroy(b.e0);
    if (b.e1)
        cudaEventDestroy(b.e1);
    if (b.st)
        cudaStreamDestroy(b.st);
    return rc;
}
