/* PreFT serving on the real model (SmolLM2-135M Q4_1):
 * - through the scheduler (continuous batching, chunked prefill mixed with
 *   decode): many concurrent requests, each with its own adapter (LoRA,
 *   LoReFT, DiReFT or none) in prefill or all mode, each get exactly the
 *   tokens they get alone; prefill-only traffic decodes in base-only steps;
 * - prefill mode against a plain reference: the prompt run with a test hook
 *   that applies the adapter math itself (in double, with its own position
 *   rule), then greedy decoding with no hooks at all (the base model
 *   continuing from the adapted cache), gives the tokens the adapter set
 *   gives in prefill mode, with logits within float noise; all mode differs.
 * Few tokens: the test machine has 2 shared cores. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"
#include "inference/adapter.h"
#include "inference/model.h"
#include "inference/sched.h"
#include "inference/tokenizer.h"

#define MODEL "models/smollm2-135m-instruct-q4_1.gguf"

static pgr_model *model;
static pgr_tokenizer *tok;
static int V;

static pgr_adapter *make_adapter(int method, const char *targets, const char *layers,
                                 const char *positions, float alpha, uint64_t seed)
{
    pgr_adapter_spec s;
    pgr_err err = {0};
    pgr_adapter *a = NULL;
    pgr_adapter_spec_default(&s, model);
    s.method = method;
    s.alpha = alpha;
    if (pgr_adapter_parse_targets(targets, &s.targets, &err) != 0 ||
        pgr_adapter_parse_layers(layers, pgr_model_config(model)->n_layer, &s, &err) != 0 ||
        pgr_adapter_parse_positions(positions, &s.pos_first, &s.pos_last, &err) != 0 ||
        pgr_adapter_new_random(&s, model, seed, &a, &err) != 0)
        fprintf(stderr, "    make_adapter: %s\n", err.msg);
    return a;
}

/* ---- through the scheduler --------------------------------------------------------- */
typedef struct outcome {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done, status, n_gen;
    int32_t gen[64];
} outcome;

static void on_done(void *cb, const pgr_sched_result *r)
{
    outcome *o = cb;
    pthread_mutex_lock(&o->mu);
    o->status = r->status;
    o->n_gen = r->n_gen < 64 ? r->n_gen : 64;
    memcpy(o->gen, r->gen, (size_t)o->n_gen * sizeof(int32_t));
    o->done = 1;
    pthread_cond_broadcast(&o->cv);
    pthread_mutex_unlock(&o->mu);
}

static void outcome_wait(outcome *o)
{
    pthread_mutex_lock(&o->mu);
    while (!o->done)
        pthread_cond_wait(&o->cv, &o->mu);
    pthread_mutex_unlock(&o->mu);
}

static int ad_bind(void *user, int seq, const void *adapter, int mode, int prompt_len,
                   pgr_err *err)
{
    return pgr_adapter_set_bind(user, seq, adapter,
                                mode == PGR_SCHED_MODE_ALL ? PGR_AD_ALL : PGR_AD_PREFILL,
                                prompt_len, err);
}
static void ad_unbind(void *user, int seq) { pgr_adapter_set_unbind(user, seq); }
static int ad_active(void *user, const pgr_batch *b) { return pgr_adapter_set_active(user, b); }

static int submit(pgr_sched *s, const char *user, const int32_t *ids, int n, int gen,
                  const pgr_adapter *ad, int mode, outcome *o, pgr_err *err)
{
    memset(o, 0, sizeof *o);
    pthread_mutex_init(&o->mu, NULL);
    pthread_cond_init(&o->cv, NULL);
    pgr_sched_req q = {0};
    q.user = user;
    q.prompt = ids;
    q.n_prompt = (size_t)n;
    q.max_tokens = gen;
    pgr_sample_defaults(&q.sample);
    q.adapter = ad;
    q.mode = mode;
    q.on_done = on_done;
    q.cb = o;
    return pgr_sched_submit(s, &q, NULL, err);
}

static void make_prompt(int32_t *ids, int n, unsigned seed)
{
    for (int i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        ids[i] = 200 + (int32_t)((seed >> 8) % 20000u);
    }
}

static void test_sched_adapters_batch_equals_alone(void)
{
    if (!model)
        SKIP("no model at %s (make model)", MODEL);
    enum { NR = 12, NA = 5 };
    const int G = SANITIZED ? 3 : 5;
    pgr_err err = {0};
    pgr_adapter *ads[NA] = {
        make_adapter(PGR_AD_LORA, "q,v", "all", "all", 256, 1),
        make_adapter(PGR_AD_LORA, "q,k,v,o,gate,up,down", "all", "all", 128, 2),
        make_adapter(PGR_AD_LOREFT, "resid", "0,4,8,12", "f3+l3", 1, 3),
        make_adapter(PGR_AD_DIREFT, "resid", "2-6", "all", 1, 4),
        make_adapter(PGR_AD_LORA, "k,o,down", "5-20", "all", 256, 5),
    };
    for (int a = 0; a < NA; a++)
        CHECK(ads[a] != NULL);
    /* ReFT random W, b are small: scale them up so tokens change */
    for (int a = 2; a <= 3; a++)
        for (int l = 0; l < ads[a]->n_layer; l++)
            if (ads[a]->reft_W[l].data)
                for (int i = 0; i < ads[a]->spec.rank * ads[a]->dim; i++)
                    ads[a]->reft_W[l].data[i] *= 40;
    pgr_adapter_set *set = NULL;
    pgr_sched_cfg cfg;
    pgr_sched_cfg_defaults(&cfg);
    cfg.step_tokens = 40; /* chunked prefill mixed with decode */
    cfg.prefill_chunk = 9;
    cfg.max_active = 8; /* fewer than requests: some join mid-flight */
    CHECK(pgr_adapter_set_new(model, cfg.max_active, &set, &err) == 0);
    cfg.adapt.bind = ad_bind, cfg.adapt.unbind = ad_unbind, cfg.adapt.active = ad_active;
    pgr_adapter_set_hooks(set, &cfg.adapt.hooks);
    cfg.adapt.user = set;
    pgr_sched *s = NULL;
    CHECK(pgr_sched_new(model, tok, &cfg, &s, &err) == 0);
    int32_t ids[NR][40];
    int len[NR];
    const pgr_adapter *rad[NR];
    int mode[NR];
    static outcome alone[NR], many[NR], base[NR];
    for (int r = 0; r < NR; r++) {
        len[r] = 8 + (r * 7) % 25;
        make_prompt(ids[r], len[r], 500 + (unsigned)r);
        rad[r] = r % 6 == 5 ? NULL : ads[r % NA];
        mode[r] = (r / 2) % 2 ? PGR_SCHED_MODE_ALL : PGR_SCHED_MODE_PREFILL;
        CHECK(submit(s, "solo", ids[r], len[r], G, rad[r], mode[r], &alone[r], &err) == 0);
        outcome_wait(&alone[r]);
        CHECK(submit(s, "solo", ids[r], len[r], G, NULL, 0, &base[r], &err) == 0);
        outcome_wait(&base[r]);
    }
    char user[16];
    for (int r = 0; r < NR; r++) {
        snprintf(user, sizeof user, "u%d", r % 4);
        CHECK(submit(s, user, ids[r], len[r], G, rad[r], mode[r], &many[r], &err) == 0);
    }
    int changed = 0;
    for (int r = 0; r < NR; r++) {
        outcome_wait(&many[r]);
        CHECK_INT(many[r].status, PGR_SCHED_DONE);
        CHECK_INT(many[r].n_gen, alone[r].n_gen);
        CHECK_MSG(memcmp(many[r].gen, alone[r].gen, sizeof(int32_t) * (size_t)alone[r].n_gen) == 0,
                  "request %d (%s, %s): batched tokens differ from alone", r,
                  rad[r] ? pgr_adapter_method_name(rad[r]->spec.method) : "base",
                  mode[r] ? "all" : "prefill");
        changed += rad[r] && memcmp(alone[r].gen, base[r].gen, sizeof(int32_t) * (size_t)G) != 0;
    }
    printf("    %d of %d adapted requests generate other tokens than the base model\n", changed,
           NR - NR / 6);
    CHECK(changed >= NR / 2); /* the adapters matter, so equality above means something */
    CHECK(pgr_sched_wait_idle(s, 10000000));
    pgr_sched_stats st;
    pgr_sched_stats_get(s, &st);
    CHECK_INT(st.kv_free_blocks, st.kv_blocks);
    CHECK(st.base_only_steps > 0 && st.base_only_steps < st.steps);
    /* prefill-only traffic: every decode step runs without hooks */
    uint64_t steps0 = st.steps, base0 = st.base_only_steps;
    static outcome pre[4];
    for (int r = 0; r < 4; r++)
        CHECK(submit(s, "p", ids[r], len[r], G, ads[r % NA], PGR_SCHED_MODE_PREFILL, &pre[r],
                     &err) == 0);
    for (int r = 0; r < 4; r++)
        outcome_wait(&pre[r]);
    CHECK(pgr_sched_wait_idle(s, 10000000));
    pgr_sched_stats_get(s, &st);
    /* prompts fit in few steps; the G-1 decode-only steps are base only */
    CHECK(st.base_only_steps - base0 >= (uint64_t)(G - 1));
    printf("    prefill-only: %llu of %llu steps base only\n",
           (unsigned long long)(st.base_only_steps - base0),
           (unsigned long long)(st.steps - steps0));
    pgr_sched_free(s);
    pgr_adapter_set_free(set);
    for (int a = 0; a < NA; a++)
        pgr_adapter_free(ads[a]);
}

/* ---- prefill mode against a plain reference ---------------------------------------- */

/* The adapter math written again, independently of adapter.c and the
 * kernels: double accumulation, the pyreft position rule from its
 * definition, prompt positions only (it is only used for the prompt). */
typedef struct ref_ctx {
    const pgr_adapter *ad;
    int prompt_len;
} ref_ctx;

static int ref_acts(const ref_ctx *r, int pos)
{
    const pgr_adapter_spec *s = &r->ad->spec;
    if (pos >= r->prompt_len)
        return 0;
    if (s->method == PGR_AD_LORA || s->pos_first < 0)
        return 1;
    int first = s->pos_first, last = s->pos_last, half = r->prompt_len / 2;
    if (first > half)
        first = half;
    if (last > half)
        last = half;
    return pos < first || pos >= r->prompt_len - last;
}

static int ref_hook(void *user, const pgr_hook_args *h, pgr_err *err)
{
    (void)err;
    ref_ctx *r = user;
    const pgr_adapter *ad = r->ad;
    for (int t = 0; t < h->batch->n_tok; t++) {
        if (!ref_acts(r, h->batch->pos[t]))
            continue;
        float *y = h->out + (size_t)t * h->out_dim;
        if (ad->spec.method == PGR_AD_LORA && h->site != PGR_SITE_RESID) {
            const pgr_adapter_tensor *A = &ad->lora_a[(size_t)h->layer * PGR_SITE_COUNT + h->site];
            const pgr_adapter_tensor *B = &ad->lora_b[(size_t)h->layer * PGR_SITE_COUNT + h->site];
            if (!A->data)
                continue;
            const float *x = h->in + (size_t)t * h->in_dim;
            double u[64];
            for (int j = 0; j < A->rows; j++) {
                u[j] = 0;
                for (int i = 0; i < A->cols; i++)
                    u[j] += (double)A->data[(size_t)j * A->cols + i] * x[i];
            }
            double scale = (double)ad->spec.alpha / ad->spec.rank;
            for (int q = 0; q < B->rows; q++) {
                double d = 0;
                for (int j = 0; j < B->cols; j++)
                    d += (double)B->data[(size_t)q * B->cols + j] * u[j];
                y[q] = (float)(y[q] + scale * d);
            }
        } else if (ad->spec.method != PGR_AD_LORA && h->site == PGR_SITE_RESID) {
            const pgr_adapter_tensor *R = &ad->reft_R[h->layer], *W = &ad->reft_W[h->layer];
            if (!R->data)
                continue;
            const float *b = ad->reft_b[h->layer].data;
            int d = R->cols;
            double u[64];
            for (int j = 0; j < R->rows; j++) {
                double wh = b[j], rh = 0;
                for (int i = 0; i < d; i++) {
                    wh += (double)W->data[(size_t)j * d + i] * y[i];
                    rh += (double)R->data[(size_t)j * d + i] * y[i];
                }
                u[j] = ad->spec.method == PGR_AD_LOREFT ? wh - rh : wh;
            }
            for (int i = 0; i < d; i++) {
                double delta = 0;
                for (int j = 0; j < R->rows; j++)
                    delta += u[j] * R->data[(size_t)j * d + i];
                y[i] = (float)(y[i] + delta);
            }
        }
    }
    return 0;
}

static int argmax(const float *x, int n)
{
    int b = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[b])
            b = i;
    return b;
}

/* Prompt with hooks h (NULL: none), then G steps with hooks dh: greedy
 * (written to gen), or feeding gen when given (so that a near-tie that
 * float noise flips cannot make two runs diverge). */
static int run(pgr_engine *e, pgr_kv *kv, const pgr_hooks *h, const pgr_hooks *dh,
               const int32_t *ids, int n, int G, int32_t *gen, int given, float *lg)
{
    pgr_err err = {0};
    int s = pgr_kv_seq_open(kv, &err), rc = -1;
    int32_t sq[64], ps[64];
    for (int i = 0; i < n; i++)
        sq[i] = s, ps[i] = i;
    pgr_engine_set_hooks(e, h);
    pgr_batch b = {n, ids, sq, ps, NULL};
    if (pgr_forward(e, kv, &b, lg, &err) != 0)
        goto done;
    pgr_engine_set_hooks(e, dh);
    for (int k = 0; k < G; k++) {
        int32_t t = given ? gen[k] : argmax(lg + (size_t)k * V, V), sp = s, pp = n + k;
        gen[k] = t;
        pgr_batch b1 = {1, &t, &sp, &pp, NULL};
        if (pgr_forward(e, kv, &b1, lg + (size_t)(k + 1) * V, &err) != 0)
            goto done;
    }
    rc = 0;
done:
    if (rc)
        fprintf(stderr, "    run: %s\n", err.msg);
    pgr_engine_set_hooks(e, NULL);
    pgr_kv_seq_close(kv, s);
    return rc;
}

static void test_prefill_vs_plain_reference(void)
{
    if (!model)
        SKIP("no model");
    enum { N = 21 };
    const int G = SANITIZED ? 3 : 6;
    pgr_err err = {0};
    pgr_engine *e = NULL;
    pgr_kv *kv = NULL;
    pgr_adapter_set *set = NULL;
    CHECK(pgr_engine_new(model, NULL, 2, &e, &err) == 0);
    CHECK(pgr_kv_new(model, 64, 16, 2, &kv, &err) == 0);
    CHECK(pgr_adapter_set_new(model, 2, &set, &err) == 0);
    int32_t ids[N], gen_set[16], gen_ref[16], gen_all[16];
    make_prompt(ids, N, 77);
    size_t sz = sizeof(float) * (size_t)V * (size_t)(G + 1);
    float *lset = malloc(sz), *lref = malloc(sz), *lall = malloc(sz);
    pgr_adapter *ads[3] = {make_adapter(PGR_AD_LORA, "q,k,v,o,gate,up,down", "all", "all", 16, 7),
                           make_adapter(PGR_AD_LOREFT, "resid", "1,5,9,13", "f7+l7", 1, 8),
                           make_adapter(PGR_AD_DIREFT, "resid", "3-8", "f2+l4", 1, 9)};
    /* stronger interventions; not much stronger: at W x 40 the adapted
     * attention-sink position's keys leave fp16's range in the KV cache and
     * float-vs-double noise stops being small */
    for (int a = 1; a < 3; a++)
        for (int l = 0; l < ads[a]->n_layer; l++)
            if (ads[a]->reft_W[l].data)
                for (int i = 0; i < ads[a]->spec.rank * ads[a]->dim; i++)
                    ads[a]->reft_W[l].data[i] *= 8;
    for (int a = 0; a < 3; a++) {
        CHECK(ads[a] != NULL);
        const char *name = pgr_adapter_method_name(ads[a]->spec.method);
        /* the adapter set, prefill mode, hooks installed throughout */
        pgr_hooks hs;
        pgr_adapter_set_hooks(set, &hs);
        for (int q = 0; q < 2; q++) /* whichever sequence id run() opens */
            CHECK(pgr_adapter_set_bind(set, q, ads[a], PGR_AD_PREFILL, N, &err) == 0);
        CHECK(run(e, kv, &hs, &hs, ids, N, G, gen_set, 0, lset) == 0);
        /* the plain reference for the prompt, then no hooks at all */
        ref_ctx rc = {ads[a], N};
        pgr_hooks hr;
        memset(&hr, 0, sizeof hr);
        for (int site = 0; site < PGR_SITE_COUNT; site++)
            hr.fn[site] = ref_hook;
        hr.user = &rc;
        memcpy(gen_ref, gen_set, sizeof gen_ref);
        CHECK(run(e, kv, &hr, NULL, ids, N, G, gen_ref, 1, lref) == 0);
        double worst = 0, prompt = 0;
        for (size_t i = 0; i < (size_t)V * (size_t)(G + 1); i++)
            worst = fmax(worst, fabs((double)lset[i] - lref[i]));
        for (size_t i = 0; i < (size_t)V; i++)
            prompt = fmax(prompt, fabs((double)lset[i] - lref[i]));
        printf("    %s: last prompt position's logits within %.3g\n", name, prompt);
        printf("    %s prefill mode vs plain reference: max logit difference %.3g\n", name,
               worst);
        /* the same tokens fed to both: every step's greedy choice agrees,
         * except at a near-tie the noise below can flip */
        int agree = 0, ties = 0;
        for (int k = 0; k <= G; k++) {
            const float *a = lset + (size_t)k * V, *b = lref + (size_t)k * V;
            int ia = argmax(a, V), ib = argmax(b, V);
            float second = -INFINITY;
            for (int i = 0; i < V; i++)
                if (i != ia && a[i] > second)
                    second = a[i];
            if (ia == ib)
                agree++;
            else if (a[ia] - second < 3 * worst)
                ties++;
        }
        CHECK_MSG(agree + ties == G + 1 && ties <= 1,
                  "%s: greedy tokens agree with the plain reference at %d of %d steps (%d ties)",
                  name, agree, G + 1, ties);
        /* float (set) vs double (reference) sums differ by ~1e-7 relative at
         * each site (test_adapter checks single sites to that); the engine's
         * 8-bit activation rounding of the next projection turns such a
         * difference into a flipped quantum now and then, which moves logits
         * by tenths (docs/inference.md), so the bound here is loose; the
         * tokens must be the same. */
        CHECK_MSG(worst < 1.5, "%s: logits differ by %g", name, worst);
        /* all mode acts on the decode steps too: its logits move */
        for (int q = 0; q < 2; q++)
            CHECK(pgr_adapter_set_bind(set, q, ads[a], PGR_AD_ALL, N, &err) == 0);
        memcpy(gen_all, gen_set, sizeof gen_all);
        CHECK(run(e, kv, &hs, &hs, ids, N, G, gen_all, 1, lall) == 0);
        double moved = 0;
        for (size_t i = (size_t)V; i < (size_t)V * 2; i++)
            moved = fmax(moved, fabs((double)lall[i] - lset[i]));
        printf("    %s all mode: first decode step's logits move by %.3g\n", name, moved);
        CHECK_MSG(moved > 0.05, "%s: all mode's first decode step equals prefill mode's", name);
        for (int q = 0; q < 2; q++)
            pgr_adapter_set_unbind(set, q);
        pgr_adapter_free(ads[a]);
    }
    free(lset), free(lref), free(lall);
    pgr_adapter_set_free(set);
    pgr_kv_free(kv);
    pgr_engine_free(e);
}

int main(void)
{
    pgr_err err = {0};
    if (pgr_model_load(MODEL, &model, &err) != 0 ||
        pgr_tok_load(pgr_model_gguf(model), &tok, &err) != 0) {
        fprintf(stderr, "    %s\n", err.msg);
        pgr_model_free(model);
        model = NULL;
    } else {
        V = pgr_model_config(model)->vocab;
    }
    RUN(test_prefill_vs_plain_reference);
    RUN(test_sched_adapters_batch_equals_alone);
    pgr_tok_free(tok);
    pgr_model_free(model);
    return check_summary("test_preft");
}
