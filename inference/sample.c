/* Sampling and stop strings (see sample.h). */
#include "inference/sample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct pgr_sampler {
    pgr_sample_cfg cfg;
    int n_vocab;
    uint64_t rng;
    struct cand {
        int32_t id;
        float logit;
    } *c; /* (n_vocab) */
    uint8_t *seen; /* (n_vocab) penalty bookkeeping */
};

void pgr_sample_defaults(pgr_sample_cfg *cfg)
{
    cfg->temperature = 0;
    cfg->top_k = 40;
    cfg->top_p = 0.95f;
    cfg->min_p = 0.05f;
    cfg->repeat_penalty = 1.0f;
    cfg->repeat_last_n = 64;
    cfg->seed = 0;
}

pgr_sampler *pgr_sampler_new(const pgr_sample_cfg *cfg, int n_vocab)
{
    if (n_vocab < 1)
        return NULL;
    pgr_sampler *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cfg = *cfg;
    s->n_vocab = n_vocab;
    s->rng = cfg->seed ^ 0x853c49e6748fea9bull;
    s->c = malloc((size_t)n_vocab * sizeof *s->c);
    s->seen = calloc((size_t)n_vocab, 1);
    if (!s->c || !s->seen) {
        pgr_sampler_free(s);
        return NULL;
    }
    return s;
}

void pgr_sampler_free(pgr_sampler *s)
{
    if (!s)
        return;
    free(s->c);
    free(s->seen);
    free(s);
}

/* splitmix64: small, deterministic, good enough for drawing tokens */
static double next_uniform(pgr_sampler *s)
{
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) * (1.0 / 9007199254740992.0); /* [0, 1) */
}

static int cand_desc(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    if (x->logit != y->logit)
        return x->logit < y->logit ? 1 : -1;
    return x->id - y->id;
}

int pgr_sampler_is_greedy(const pgr_sampler *s)
{
    const pgr_sample_cfg *c = &s->cfg;
    return c->temperature <= 0 &&
           (c->repeat_penalty == 1.0f || c->repeat_penalty <= 0 || c->repeat_last_n <= 0);
}

int32_t pgr_sample(pgr_sampler *s, float *logits, const int32_t *history, size_t n_history)
{
    const pgr_sample_cfg *cfg = &s->cfg;
    const int V = s->n_vocab;
    /* repetition penalty: once per distinct token in the window */
    if (cfg->repeat_penalty != 1.0f && cfg->repeat_penalty > 0 && cfg->repeat_last_n > 0) {
        size_t from = n_history > (size_t)cfg->repeat_last_n ? n_history - (size_t)cfg->repeat_last_n : 0;
        for (size_t i = from; i < n_history; i++) {
            int32_t t = history[i];
            if (t < 0 || t >= V || s->seen[t])
                continue;
            s->seen[t] = 1;
            logits[t] = logits[t] > 0 ? logits[t] / cfg->repeat_penalty : logits[t] * cfg->repeat_penalty;
        }
        for (size_t i = from; i < n_history; i++)
            if (history[i] >= 0 && history[i] < V)
                s->seen[history[i]] = 0;
    }
    if (cfg->temperature <= 0) {
        int32_t best = 0;
        for (int i = 1; i < V; i++)
            if (logits[i] > logits[best])
                best = i;
        return best;
    }
    float mx = logits[0];
    for (int i = 1; i < V; i++)
        if (logits[i] > mx)
            mx = logits[i];
    /* Candidates: drop what cannot matter (probability below e^-30 of the
     * best, before temperature), so sorting stays cheap on 50k vocabularies. */
    const float floor_logit = mx - 30.0f * (cfg->temperature > 1 ? cfg->temperature : 1);
    int n = 0;
    for (int i = 0; i < V; i++)
        if (logits[i] >= floor_logit && isfinite(logits[i])) {
            s->c[n].id = i;
            s->c[n].logit = logits[i];
            n++;
        }
    qsort(s->c, (size_t)n, sizeof *s->c, cand_desc);
    if (cfg->top_k > 0 && n > cfg->top_k)
        n = cfg->top_k;
    if (cfg->top_p < 1.0f && n > 1) {
        double sum = 0, acc = 0;
        for (int i = 0; i < n; i++)
            sum += exp((double)s->c[i].logit - s->c[0].logit);
        for (int i = 0; i < n; i++) {
            acc += exp((double)s->c[i].logit - s->c[0].logit) / sum;
            if (acc >= cfg->top_p) {
                n = i + 1;
                break;
            }
        }
    }
    if (cfg->min_p > 0 && n > 1) {
        const float thr = s->c[0].logit + logf(cfg->min_p);
        int k = 1;
        while (k < n && s->c[k].logit >= thr)
            k++;
        n = k;
    }
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += exp(((double)s->c[i].logit - s->c[0].logit) / cfg->temperature);
    double r = next_uniform(s) * sum, acc = 0;
    for (int i = 0; i < n; i++) {
        acc += exp(((double)s->c[i].logit - s->c[0].logit) / cfg->temperature);
        if (r < acc)
            return s->c[i].id;
    }
    return s->c[n - 1].id;
}

/* ---- stop strings ------------------------------------------------------------ */
void pgr_stop_init(pgr_stopper *st, const char *const *stops, size_t n_stops)
{
    memset(st, 0, sizeof *st);
    st->stops = stops;
    st->n_stops = n_stops;
}

void pgr_stop_free(pgr_stopper *st) { pgr_sb_free(&st->text); }

void pgr_stop_feed(pgr_stopper *st, const char *piece, size_t len, const char **out,
                   size_t *out_len)
{
    *out = "";
    *out_len = 0;
    if (st->stopped)
        return;
    pgr_sb_append(&st->text, piece, len);
    if (!pgr_sb_ok(&st->text) || !st->text.data)
        return;
    const char *t = st->text.data;
    const size_t n = st->text.len;
    size_t safe = n;
    for (size_t k = 0; k < st->n_stops; k++) {
        const char *s = st->stops[k];
        size_t sl = strlen(s);
        if (!sl)
            continue;
        /* a full match that starts in the unreleased part (or straddles it) */
        size_t from = st->shown >= sl ? st->shown - sl + 1 : 0;
        const char *hit = memmem(t + from, n - from, s, sl);
        if (hit) {
            size_t at = (size_t)(hit - t);
            if (at < safe)
                safe = at;
            st->stopped = 1;
            continue;
        }
        /* a suffix of the text that is a prefix of the stop string: hold it */
        for (size_t m = sl - 1 < n ? sl - 1 : n; m > 0; m--)
            if (memcmp(t + n - m, s, m) == 0) {
                if (n - m < safe)
                    safe = n - m;
                break;
            }
    }
    if (safe < st->shown)
        safe = st->shown;
    *out = t + st->shown;
    *out_len = safe - st->shown;
    st->shown = safe;
}

void pgr_stop_finish(pgr_stopper *st, const char **out, size_t *out_len)
{
    *out = "";
    *out_len = 0;
    if (st->stopped || !st->text.data)
        return;
    *out = st->text.data + st->shown;
    *out_len = st->text.len - st->shown;
    st->shown = st->text.len;
}
