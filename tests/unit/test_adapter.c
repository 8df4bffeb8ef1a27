/* Adapters on the real model (SmolLM2-135M Q4_1):
 * - LoRA with B = 0 and LoReFT with W = R, b = 0 leave every logit bitwise
 *   unchanged (the hooks add exact zeros), in both modes;
 * - a plain reference (dequantised projection weight, x·A^T·B^T·scale and
 *   h + R^T(Wh + b - Rh) computed by hand in double) agrees with what the
 *   hooks produce at one layer and projection;
 * - prefill mode: decoding after an adapted prefill equals the base model
 *   (no hooks installed at all) continuing from a cache built by a reference
 *   path (the prompt run with the adapter in all mode), and differs from
 *   all mode;
 * - one batch holding many sequences with different adapters and modes gives
 *   each sequence bitwise the logits it gets alone;
 * - the pyreft position rule. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "inference/adapter.h"
#include "inference/model.h"

#define MODEL "models/smollm2-135m-instruct-q4_1.gguf"


static pgr_model *model;
static int V;

static int argmax(const float *x, int n)
{
    int b = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[b])
            b = i;
    return b;
}

static void make_prompt(int32_t *ids, int n, unsigned seed)
{
    for (int i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        ids[i] = 200 + (int32_t)((seed >> 8) % 20000u);
    }
}

static pgr_adapter *random_adapter(int method, const char *targets, const char *layers,
                                   const char *positions, uint64_t seed)
{
    pgr_adapter_spec s;
    pgr_err err = {0};
    pgr_adapter *a = NULL;
    pgr_adapter_spec_default(&s, model);
    s.method = method;
    if (pgr_adapter_parse_targets(targets, &s.targets, &err) != 0 ||
        pgr_adapter_parse_layers(layers, pgr_model_config(model)->n_layer, &s, &err) != 0 ||
        pgr_adapter_parse_positions(positions, &s.pos_first, &s.pos_last, &err) != 0 ||
        pgr_adapter_new_random(&s, model, seed, &a, &err) != 0)
        fprintf(stderr, "    random_adapter: %s\n", err.msg);
    return a;
}

/* One sequence alone: the prompt in one batch, then n_gen decode steps of one
 * token. Tokens fed after the prompt come from gen[] when given_gen, else
 * greedy (written to gen[]). lg gets (1 + n_gen, V): the last prompt
 * position's logits, then each step's. The prompt runs with ad bound in
 * prompt_mode; decode runs with ad in decode_mode, or with no hooks
 * installed at all when base_decode (the reference path). */
static int run_seq(pgr_engine *e, pgr_kv *kv, pgr_adapter_set *set, const pgr_adapter *ad,
                   int prompt_mode, int decode_mode, int base_decode, const int32_t *ids, int n,
                   int n_gen, int32_t *gen, int given_gen, float *lg)
{
    pgr_err err = {0};
    pgr_hooks h;
    int rc = -1, s = pgr_kv_seq_open(kv, &err);
    int32_t *sq = malloc(sizeof(int32_t) * (size_t)n), *ps = malloc(sizeof(int32_t) * (size_t)n);
    if (s < 0)
        goto done;
    pgr_adapter_set_hooks(set, &h);
    pgr_engine_set_hooks(e, &h);
    if (pgr_adapter_set_bind(set, s, ad, prompt_mode, n, &err) != 0)
        goto done;
    for (int i = 0; i < n; i++)
        sq[i] = s, ps[i] = i;
    pgr_batch b = {n, ids, sq, ps, NULL};
    if (pgr_forward(e, kv, &b, lg, &err) != 0)
        goto done;
    if (base_decode)
        pgr_engine_set_hooks(e, NULL);
    else if (pgr_adapter_set_bind(set, s, ad, decode_mode, n, &err) != 0)
        goto done;
    for (int k = 0; k < n_gen; k++) {
        int32_t t = given_gen ? gen[k] : argmax(lg + (size_t)k * V, V), sp = s, pp = n + k;
        gen[k] = t;
        pgr_batch b1 = {1, &t, &sp, &pp, NULL};
        if (pgr_forward(e, kv, &b1, lg + (size_t)(k + 1) * V, &err) != 0)
            goto done;
    }
    rc = 0;
done:
    if (rc)
        fprintf(stderr, "    run_seq: %s\n", err.msg);
    pgr_adapter_set_unbind(set, s);
    pgr_kv_seq_close(kv, s);
    pgr_engine_set_hooks(e, NULL);
    free(sq), free(ps);
    return rc;
}

typedef struct fixture {
    pgr_engine *e;
    pgr_kv *kv;
    pgr_adapter_set *set;
} fixture;

static int fx_open(fixture *f, int max_seqs)
{
    pgr_err err = {0};
    memset(f, 0, sizeof *f);
    if (pgr_engine_new(model, NULL, 2, &f->e, &err) != 0 ||
        pgr_kv_new(model, 256, 16, max_seqs, &f->kv, &err) != 0 ||
        pgr_adapter_set_new(model, max_seqs, &f->set, &err) != 0) {
        fprintf(stderr, "    fixture: %s\n", err.msg);
        return -1;
    }
    return 0;
}
static void fx_close(fixture *f)
{
    pgr_adapter_set_free(f->set);
    pgr_kv_free(f->kv);
    pgr_engine_free(f->e);
}

/* LoRA with B = 0 (A random) and LoReFT with W = R, b = 0 (R random
 * orthonormal) must leave logits bitwise equal to the base model's. */
static void test_identity_adapters(void)
{
    if (!model)
        SKIP("no model at %s (make model)", MODEL);
    enum { N = 13, G = 3 };
    fixture f;
    CHECK(fx_open(&f, 4) == 0);
    int32_t ids[N], gen0[G], gen1[G];
    make_prompt(ids, N, 7);
    float *base = malloc(sizeof(float) * (size_t)V * (G + 1));
    float *lg = malloc(sizeof(float) * (size_t)V * (G + 1));
    CHECK(run_seq(f.e, f.kv, f.set, NULL, PGR_AD_PREFILL, PGR_AD_PREFILL, 0, ids, N, G, gen0, 0,
                  base) == 0);
    pgr_adapter *lora = random_adapter(PGR_AD_LORA, "q,k,v,o,gate,up,down", "all", "all", 3);
    pgr_adapter *reft = random_adapter(PGR_AD_LOREFT, "resid", "all", "all", 4);
    CHECK(lora && reft);
    for (size_t k = 0; k < (size_t)lora->n_layer * PGR_SITE_COUNT; k++)
        if (lora->lora_b[k].data)
            memset(lora->lora_b[k].data, 0,
                   sizeof(float) * (size_t)lora->lora_b[k].rows * (size_t)lora->lora_b[k].cols);
    for (int l = 0; l < reft->n_layer; l++) {
        memcpy(reft->reft_W[l].data, reft->reft_R[l].data,
               sizeof(float) * (size_t)reft->spec.rank * (size_t)reft->dim);
        memset(reft->reft_b[l].data, 0, sizeof(float) * (size_t)reft->spec.rank);
    }
    const pgr_adapter *ads[2] = {lora, reft};
    for (int a = 0; a < 2; a++)
        for (int mode = 0; mode < 2; mode++) {
            CHECK(run_seq(f.e, f.kv, f.set, ads[a], mode, mode, 0, ids, N, G, gen1, 0, lg) == 0);
            CHECK_MSG(memcmp(gen0, gen1, sizeof gen0) == 0, "%s %s: tokens differ",
                      pgr_adapter_method_name(ads[a]->spec.method), pgr_adapter_mode_name(mode));
            CHECK_MSG(memcmp(base, lg, sizeof(float) * (size_t)V * (G + 1)) == 0,
                      "%s %s: logits not bitwise equal",
                      pgr_adapter_method_name(ads[a]->spec.method), pgr_adapter_mode_name(mode));
        }
    /* and a random (non-identity) adapter does change them */
    pgr_adapter *lora2 = random_adapter(PGR_AD_LORA, "q,v", "all", "all", 5);
    CHECK(run_seq(f.e, f.kv, f.set, lora2, PGR_AD_PREFILL, PGR_AD_PREFILL, 0, ids, N, 0, gen1, 0,
                  lg) == 0);
    CHECK(memcmp(base, lg, sizeof(float) * (size_t)V) != 0);
    pgr_adapter_free(lora2);
    pgr_adapter_free(lora);
    pgr_adapter_free(reft);
    free(base), free(lg);
    fx_close(&f);
}

/* ---- reference computation at one site ---------------------------------------- */

typedef struct probe {
    pgr_hooks inner;
    int layer, site;
    float *in, *before, *after; /* copies at the probed site */
    int n_tok, in_dim, out_dim;
} probe;

/* Wraps the adapter set's hook: copies the projection's input and output
 * before and after the adapter ran, at one (layer, site). */
static int probe_hook(void *user, const pgr_hook_args *a, pgr_err *err)
{
    probe *p = user;
    int hit = a->layer == p->layer && a->site == p->site;
    size_t on = (size_t)a->batch->n_tok * (size_t)a->out_dim * sizeof(float);
    if (hit) {
        p->n_tok = a->batch->n_tok, p->in_dim = a->in_dim, p->out_dim = a->out_dim;
        if (a->in) {
            p->in = malloc((size_t)a->batch->n_tok * (size_t)a->in_dim * sizeof(float));
            memcpy(p->in, a->in, (size_t)a->batch->n_tok * (size_t)a->in_dim * sizeof(float));
        }
        p->before = malloc(on);
        memcpy(p->before, a->out, on);
    }
    int rc = p->inner.fn[a->site](p->inner.user, a, err);
    if (hit) {
        p->after = malloc(on);
        memcpy(p->after, a->out, on);
    }
    return rc;
}

static int probe_run(fixture *f, const pgr_adapter *ad, int mode, const int32_t *ids, int n,
                     probe *p, float *lg)
{
    pgr_err err = {0};
    pgr_hooks h;
    memset(&h, 0, sizeof h);
    pgr_adapter_set_hooks(f->set, &p->inner);
    for (int s = 0; s < PGR_SITE_COUNT; s++)
        h.fn[s] = probe_hook;
    h.user = p;
    pgr_engine_set_hooks(f->e, &h);
    int s = pgr_kv_seq_open(f->kv, &err);
    int32_t sq[64], ps[64];
    for (int i = 0; i < n; i++)
        sq[i] = s, ps[i] = i;
    pgr_batch b = {n, ids, sq, ps, NULL};
    int rc = pgr_adapter_set_bind(f->set, s, ad, mode, n, &err) ||
             pgr_forward(f->e, f->kv, &b, lg, &err);
    if (rc)
        fprintf(stderr, "    probe_run: %s\n", err.msg);
    pgr_adapter_set_unbind(f->set, s);
    pgr_kv_seq_close(f->kv, s);
    pgr_engine_set_hooks(f->e, NULL);
    return rc;
}

static void test_lora_reference(void)
{
    if (!model)
        SKIP("no model");
    enum { N = 9 };
    const int layer = 11, site = PGR_SITE_V;
    fixture f;
    CHECK(fx_open(&f, 2) == 0);
    int32_t ids[N];
    make_prompt(ids, N, 11);
    pgr_adapter *a = random_adapter(PGR_AD_LORA, "v", "11", "all", 21);
    CHECK(a != NULL);
    probe p = {.layer = layer, .site = site};
    float *lg = malloc(sizeof(float) * (size_t)V);
    CHECK(probe_run(&f, a, PGR_AD_PREFILL, ids, N, &p, lg) == 0);
    CHECK(p.in && p.before && p.after);
    /* the base projection: dequantised weight · input, in double */
    const pgr_wmat *w = pgr_model_weight(model, layer, site);
    float *row = malloc(sizeof(float) * (size_t)w->cols);
    double max_base = 0, max_lora = 0, max_delta = 0;
    const pgr_adapter_tensor *A = &a->lora_a[(size_t)layer * PGR_SITE_COUNT + site],
                             *B = &a->lora_b[(size_t)layer * PGR_SITE_COUNT + site];
    CHECK(A->data && B->data && A->cols == p.in_dim && B->rows == p.out_dim);
    for (int o = 0; o < w->rows; o++) {
        CHECK(pgr_dequant_row(w->type, (const uint8_t *)w->data + (size_t)o * w->row_bytes, row,
                              (size_t)w->cols) == 0);
        for (int t = 0; t < N; t++) {
            const float *x = p.in + (size_t)t * p.in_dim;
            double y = 0, lo = 0;
            for (int i = 0; i < w->cols; i++)
                y += (double)row[i] * x[i];
            for (int j = 0; j < A->rows; j++) {
                double ax = 0;
                for (int i = 0; i < A->cols; i++)
                    ax += (double)A->data[(size_t)j * A->cols + i] * x[i];
                lo += ax * B->data[(size_t)o * B->cols + j];
            }
            lo *= (double)a->spec.alpha / a->spec.rank;
            size_t at = (size_t)t * p.out_dim + (size_t)o;
            max_base = fmax(max_base, fabs(p.before[at] - y));
            max_lora = fmax(max_lora, fabs((double)p.after[at] - p.before[at] - lo));
            max_delta = fmax(max_delta, fabs(lo));
        }
    }
    /* the engine quantises activations to 8 bits for Q4_1 matmuls (as
     * llama.cpp does), hence a loose bound on the base projection; the
     * LoRA term is plain float arithmetic: float-rounding noise only. */
    printf("    lora reference: |base - W·x| <= %.2e, |lora - x·A·B·s| <= %.2e (term up to %.2e)\n",
           max_base, max_lora, max_delta);
    CHECK(max_base < 0.1);
    CHECK(max_delta > 1e-3);
    CHECK(max_lora < 1e-5 + 1e-5 * max_delta);
    free(row), free(lg), free(p.in), free(p.before), free(p.after);
    pgr_adapter_free(a);
    fx_close(&f);
}

static void test_reft_reference(void)
{
    if (!model)
        SKIP("no model");
    enum { N = 11 };
    const int layer = 7;
    fixture f;
    CHECK(fx_open(&f, 2) == 0);
    int32_t ids[N];
    make_prompt(ids, N, 13);
    for (int method = PGR_AD_LOREFT; method <= PGR_AD_DIREFT; method++) {
        pgr_adapter *a = random_adapter(method, "resid", "7", "f2+l3", 31);
        CHECK(a != NULL);
        probe p = {.layer = layer, .site = PGR_SITE_RESID};
        float *lg = malloc(sizeof(float) * (size_t)V);
        CHECK(probe_run(&f, a, PGR_AD_PREFILL, ids, N, &p, lg) == 0);
        CHECK(p.before && p.after && p.out_dim == a->dim);
        const pgr_adapter_tensor *R = &a->reft_R[layer], *W = &a->reft_W[layer];
        const float *bias = a->reft_b[layer].data;
        double max_err = 0, max_delta = 0;
        for (int t = 0; t < N; t++) {
            const float *h = p.before + (size_t)t * a->dim;
            int acts = t < 2 || t >= N - 3; /* f2+l3 on 11 tokens */
            for (int d = 0; d < a->dim; d++) {
                double delta = 0;
                for (int j = 0; acts && j < R->rows; j++) {
                    double wh = bias[j], rh = 0;
                    for (int i = 0; i < a->dim; i++) {
                        wh += (double)W->data[(size_t)j * a->dim + i] * h[i];
                        rh += (double)R->data[(size_t)j * a->dim + i] * h[i];
                    }
                    delta +=
                        (method == PGR_AD_LOREFT ? wh - rh : wh) * R->data[(size_t)j * a->dim + d];
                }
                double got = (double)p.after[(size_t)t * a->dim + d] - h[d];
                max_err = fmax(max_err, fabs(got - delta) / (1 + fabs(h[d])));
                max_delta = fmax(max_delta, fabs(delta));
                if (!acts)
                    CHECK_MSG(got == 0, "position %d changed outside f2+l3", t);
            }
        }
        printf("    %s reference: max error %.2e (relative to 1+|h|), change up to %.2e\n",
               pgr_adapter_method_name(method), max_err, max_delta);
        CHECK(max_delta > 1e-3);
        CHECK(max_err < 1e-4);
        free(lg), free(p.in), free(p.before), free(p.after);
        pgr_adapter_free(a);
    }
    fx_close(&f);
}

/* Prefill mode = base model continuing from the adapted cache. */
static void test_prefill_mode(void)
{
    if (!model)
        SKIP("no model");
    enum { N = 17 };
    const int G = SANITIZED ? 3 : 8;
    fixture f;
    CHECK(fx_open(&f, 2) == 0);
    int32_t ids[N], gen[16], gen_ref[16];
    make_prompt(ids, N, 17);
    size_t sz = sizeof(float) * (size_t)V * (size_t)(G + 1);
    float *pre = malloc(sz), *ref = malloc(sz), *all = malloc(sz), *base = malloc(sz);
    pgr_adapter *ads[3] = {random_adapter(PGR_AD_LORA, "q,k,v,o,gate,up,down", "all", "all", 41),
                           random_adapter(PGR_AD_LOREFT, "resid", "all", "all", 42),
                           random_adapter(PGR_AD_DIREFT, "resid", "0-9", "f7+l7", 43)};
    for (int k = 0; k < 3; k++) {
        CHECK(ads[k] != NULL);
        CHECK(run_seq(f.e, f.kv, f.set, ads[k], PGR_AD_PREFILL, PGR_AD_PREFILL, 0, ids, N, G, gen,
                      0, pre) == 0);
        /* reference: the prompt with the adapter acting everywhere (all mode:
         * no prompt/generated distinction involved), then the decode steps
         * with no hooks installed in the engine */
        memcpy(gen_ref, gen, sizeof gen);
        CHECK(run_seq(f.e, f.kv, f.set, ads[k], PGR_AD_ALL, PGR_AD_ALL, 1, ids, N, G, gen_ref, 1,
                      ref) == 0);
        CHECK_MSG(memcmp(pre, ref, sz) == 0, "%s: prefill-mode decode differs from the reference",
                  pgr_adapter_method_name(ads[k]->spec.method));
        CHECK(run_seq(f.e, f.kv, f.set, ads[k], PGR_AD_ALL, PGR_AD_ALL, 0, ids, N, G, gen_ref, 1,
                      all) == 0);
        /* the last prompt token is adapted in both modes... */
        CHECK(memcmp(pre, all, sizeof(float) * (size_t)V) == 0);
        /* ...but decode steps differ */
        for (int s = 1; s <= G; s++)
            CHECK_MSG(memcmp(pre + (size_t)s * V, all + (size_t)s * V, sizeof(float) * (size_t)V) !=
                          0,
                      "%s: step %d equal in prefill and all modes",
                      pgr_adapter_method_name(ads[k]->spec.method), s);
        /* and the adapted prompt differs from the base prompt */
        CHECK(run_seq(f.e, f.kv, f.set, NULL, PGR_AD_PREFILL, PGR_AD_PREFILL, 0, ids, N, G, gen_ref,
                      1, base) == 0);
        CHECK(memcmp(pre, base, sizeof(float) * (size_t)V) != 0);
    }
    for (int k = 0; k < 3; k++)
        pgr_adapter_free(ads[k]);
    free(pre), free(ref), free(all), free(base);
    fx_close(&f);
}

/* Many sequences with different adapters and modes in one batch (prefill of
 * all prompts interleaved, then decode steps of all sequences together) vs
 * each alone: bitwise equal logits. */
static void test_batch_equals_alone(void)
{
    if (!model)
        SKIP("no model");
    enum { NS = 8 };
    const int G = SANITIZED ? 2 : 6;
    fixture f;
    CHECK(fx_open(&f, NS + 1) == 0);
    pgr_adapter *lora1 = random_adapter(PGR_AD_LORA, "q,v", "all", "all", 51);
    pgr_adapter *lora2 = random_adapter(PGR_AD_LORA, "k,o,gate,up,down", "3-20", "all", 52);
    pgr_adapter *reft = random_adapter(PGR_AD_LOREFT, "resid", "all", "f3+l3", 53);
    pgr_adapter *direft = random_adapter(PGR_AD_DIREFT, "resid", "2,9,15", "all", 54);
    const pgr_adapter *ad[NS] = {lora1, lora2, NULL, reft, lora1, direft, lora2, reft};
    const int mode[NS] = {0, 1, 0, 1, 1, 0, 0, 0};
    const int len[NS] = {9, 14, 5, 20, 11, 7, 16, 12};
    int32_t ids[NS][32], gen[NS][16];
    float *alone = malloc(sizeof(float) * (size_t)V * NS * (size_t)(G + 1));
    float *lg = malloc(sizeof(float) * (size_t)V * NS);
    for (int k = 0; k < NS; k++) {
        make_prompt(ids[k], len[k], 100 + (unsigned)k);
        CHECK(run_seq(f.e, f.kv, f.set, ad[k], mode[k], mode[k], 0, ids[k], len[k], G, gen[k], 0,
                      alone + (size_t)k * V * (G + 1)) == 0);
    }
    pgr_err err = {0};
    pgr_hooks h;
    pgr_adapter_set_hooks(f.set, &h);
    pgr_engine_set_hooks(f.e, &h);
    int seqs[NS], tot = 0, idx[NS] = {0};
    for (int k = NS - 1; k >= 0; k--) /* ids differ from the solo runs */
        seqs[k] = pgr_kv_seq_open(f.kv, &err);
    for (int k = 0; k < NS; k++) {
        CHECK(pgr_adapter_set_bind(f.set, seqs[k], ad[k], mode[k], len[k], &err) == 0);
        tot += len[k];
    }
    int32_t tok[256], sq[256], ps[256];
    uint8_t want[256];
    int at = 0;
    while (at < tot) /* round-robin interleaving: adapters' tokens are not contiguous */
        for (int k = 0; k < NS; k++)
            if (idx[k] < len[k]) {
                tok[at] = ids[k][idx[k]], sq[at] = seqs[k], ps[at] = idx[k];
                want[at] = idx[k] == len[k] - 1;
                idx[k]++, at++;
            }
    pgr_batch b = {tot, tok, sq, ps, want};
    CHECK_MSG(pgr_forward(f.e, f.kv, &b, lg, &err) == 0, "%s", err.msg);
    int o = 0;
    for (int t = 0; t < tot; t++)
        if (want[t]) {
            int k = 0;
            while (seqs[k] != sq[t])
                k++;
            CHECK_MSG(memcmp(lg + (size_t)o * V, alone + (size_t)k * V * (G + 1),
                             sizeof(float) * (size_t)V) == 0,
                      "sequence %d (%s %s): prompt logits differ from alone", k,
                      ad[k] ? pgr_adapter_method_name(ad[k]->spec.method) : "base",
                      pgr_adapter_mode_name(mode[k]));
            o++;
        }
    for (int s = 0; s < G; s++) {
        for (int k = 0; k < NS; k++)
            tok[k] = gen[k][s], sq[k] = seqs[k], ps[k] = len[k] + s;
        pgr_batch d = {NS, tok, sq, ps, want};
        memset(want, 1, NS);
        CHECK_MSG(pgr_forward(f.e, f.kv, &d, lg, &err) == 0, "%s", err.msg);
        for (int k = 0; k < NS; k++)
            CHECK_MSG(memcmp(lg + (size_t)k * V, alone + ((size_t)k * (G + 1) + s + 1) * V,
                             sizeof(float) * (size_t)V) == 0,
                      "sequence %d (%s %s): step %d differs from alone", k,
                      ad[k] ? pgr_adapter_method_name(ad[k]->spec.method) : "base",
                      pgr_adapter_mode_name(mode[k]), s);
    }
    for (int k = 0; k < NS; k++) {
        pgr_adapter_set_unbind(f.set, seqs[k]);
        pgr_kv_seq_close(f.kv, seqs[k]);
    }
    pgr_adapter_free(lora1), pgr_adapter_free(lora2), pgr_adapter_free(reft);
    pgr_adapter_free(direft);
    free(alone), free(lg);
    fx_close(&f);
}

static void test_positions_rule(void)
{
    if (!model)
        SKIP("no model");
    pgr_adapter *a = random_adapter(PGR_AD_LOREFT, "resid", "0", "f7+l7", 1);
    CHECK(a != NULL);
    /* 20 prompt tokens: 0..6 and 13..19 */
    for (int p = 0; p < 20; p++)
        CHECK_INT(pgr_adapter_acts_at(a, PGR_AD_PREFILL, 20, p), p < 7 || p >= 13);
    /* 9 prompt tokens: each capped at 9/2 = 4: 0..3 and 5..8, not 4 */
    for (int p = 0; p < 9; p++)
        CHECK_INT(pgr_adapter_acts_at(a, PGR_AD_PREFILL, 9, p), p != 4);
    /* generated tokens: only in all mode */
    CHECK_INT(pgr_adapter_acts_at(a, PGR_AD_PREFILL, 9, 9), 0);
    CHECK_INT(pgr_adapter_acts_at(a, PGR_AD_ALL, 9, 12), 1);
    CHECK_INT(pgr_adapter_acts_at(NULL, PGR_AD_ALL, 9, 1), 0);
    pgr_adapter_free(a);
}

int main(void)
{
    pgr_err err = {0};
    if (pgr_model_load(MODEL, &model, &err) != 0) {
        fprintf(stderr, "    %s\n", err.msg);
        model = NULL;
    } else {
        V = pgr_model_config(model)->vocab;
    }
    RUN(test_positions_rule);
    RUN(test_identity_adapters);
    RUN(test_lora_reference);
    RUN(test_reft_reference);
    RUN(test_prefill_mode);
    RUN(test_batch_equals_alone);
    pgr_model_free(model);
    return check_summary("test_adapter");
}
