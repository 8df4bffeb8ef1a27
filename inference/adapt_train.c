/* peergraph adapt --author / --changed: see adapt_train.h. */
#include "inference/adapt_train.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inference/train.h"
#include "inference/train_data.h"

void pgr_adapt_args_default(pgr_adapt_args *a)
{
    memset(a, 0, sizeof *a);
    a->method = PGR_AD_LORA;
    a->mode = PGR_AD_PREFILL;
    a->rank = 8;
    /* the configuration of docs/training.md's table (CPU time of a shared VM) */
    a->steps = 16;
    a->batch = 1;
    a->max_tok = 64;
    a->n_threads = 2;
    a->seed = 1;
}

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Mean loss per continuation token of seqs under t (no gradient). */
static int eval_loss(pgr_trainer *t, const pgr_train_seq *seqs, size_t n, double *mean, long *ntok,
                     pgr_err *err)
{
    double sum = 0;
    long cnt = 0;
    for (size_t i = 0; i < n; i++) {
        double l;
        int np;
        if (pgr_trainer_loss(t, &seqs[i], 0.0f, &l, &np, err) != 0)
            return -1;
        sum += l, cnt += np;
    }
    *mean = cnt ? sum / (double)cnt : NAN;
    if (ntok)
        *ntok = cnt;
    return 0;
}

static size_t n_eval(const pgr_train_corpus *c, const pgr_adapt_args *a)
{
    return a->max_eval > 0 && (size_t)a->max_eval < c->n_test ? (size_t)a->max_eval : c->n_test;
}

typedef struct train_result {
    pgr_adapter *ad;
    double first, last, heldout, seconds, tok_per_s;
} train_result;

/* Trains one adapter of spec in mode on c->train; evaluates it on c->test. */
static int train_one(const pgr_model *m, const pgr_adapter_spec *spec, int mode,
                     const pgr_train_corpus *c, const pgr_adapt_args *a, train_result *r,
                     pgr_err *err)
{
    int rc = -1;
    pgr_trainer *t = NULL;
    size_t *order = NULL;
    memset(r, 0, sizeof *r);
    if (pgr_adapter_new_trainable(spec, m, a->seed, &r->ad, err) != 0 ||
        pgr_trainer_new_on(m, r->ad, mode, a->max_tok, a->n_threads, a->device, &t, err) != 0)
        goto cleanup;
    pgr_train_opts o;
    pgr_train_opts_default(&o, spec->method, a->steps);
    if (a->lr > 0)
        o.lr = a->lr;
    order = malloc(c->n_train * sizeof *order);
    if (!order) {
        pgr_errf(err, PGR_ENOMEM, "adapt: out of memory");
        goto cleanup;
    }
    uint64_t rng = a->seed * 0x2545f4914f6cdd1dull + 7;
    size_t next = c->n_train; /* a fresh permutation when it reaches n_train */
    double tail_sum = 0;
    int tail_n = 0;
    long toks = 0;
    const uint64_t t0 = pgr_now_us();
    for (int step = 0; step < a->steps; step++) {
        const pgr_train_seq *batch[64];
        int nb = a->batch < 64 ? a->batch : 64, npred = 0;
        for (int i = 0; i < nb; i++) {
            if (next >= c->n_train) { /* Fisher-Yates, deterministic in the seed */
                for (size_t k = 0; k < c->n_train; k++)
                    order[k] = k;
                for (size_t k = c->n_train; k > 1; k--) {
                    size_t j = (size_t)(rng_next(&rng) % k);
                    size_t tmp = order[k - 1];
                    order[k - 1] = order[j], order[j] = tmp;
                }
                next = 0;
            }
            batch[i] = &c->train[order[next++]];
            npred += batch[i]->n_tok - batch[i]->prompt_len;
        }
        double sum = 0;
        for (int i = 0; i < nb; i++) {
            double l;
            int np;
            if (pgr_trainer_loss(t, batch[i], 1.0f / (float)npred, &l, &np, err) != 0)
                goto cleanup;
            sum += l;
            toks += batch[i]->n_tok;
        }
        double gn;
        pgr_trainer_step(t, &o, step, &gn);
        const double mean = sum / npred;
        if (step == 0)
            r->first = mean;
        if (step >= a->steps - 5)
            tail_sum += mean, tail_n++;
        if (a->log && (step % 10 == 0 || step == a->steps - 1))
            fprintf(a->log, "  step %d/%d loss %.4f grad norm %.3f lr %.2e\n", step + 1, a->steps,
                    mean, gn, (double)pgr_train_lr(&o, step));
    }
    r->seconds = (double)(pgr_now_us() - t0) / 1e6;
    r->tok_per_s = r->seconds > 0 ? (double)toks / r->seconds : 0;
    r->last = tail_n ? tail_sum / tail_n : NAN;
    if (eval_loss(t, c->test, n_eval(c, a), &r->heldout, NULL, err) != 0)
        goto cleanup;
    rc = 0;
cleanup:
    free(order);
    pgr_trainer_free(t);
    if (rc != 0) {
        pgr_adapter_free(r->ad);
        r->ad = NULL;
    }
    return rc;
}

static int adapters_dir(const pgr_adapt_args *a, char *out, size_t cap, pgr_err *err)
{
    char dir[PATH_MAX];
    if (a->adapters_dir)
        snprintf(dir, sizeof dir, "%s", a->adapters_dir);
    else if (a->db_url && strncmp(a->db_url, "sqlite:", 7) == 0) {
        const char *p = a->db_url + 7, *slash = strrchr(p, '/');
        if (slash)
            snprintf(dir, sizeof dir, "%.*s/adapters", (int)(slash - p), p);
        else
            snprintf(dir, sizeof dir, "adapters");
    } else
        snprintf(dir, sizeof dir, "adapters");
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return pgr_errf(err, PGR_EIO, "adapters directory %s: %s", dir, strerror(errno));
    if (!realpath(dir, out) || strlen(out) + 1 > cap)
        return pgr_errf(err, PGR_EIO, "adapters directory %s: %s", dir, strerror(errno));
    return 0;
}

static json_t *keys_json(const pgr_train_corpus *c, int held)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < c->n_works; i++)
        if (c->heldout[i] == held)
            json_array_append_new(arr, json_string(c->work_keys[i]));
    return arr;
}

/* json_real that writes null for NaN (no held-out works) */
static json_t *jnum(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

int pgr_adapt_author(pgr_store *s, const pgr_model *m, const char *model_sha256,
                     const pgr_tokenizer *tok, const char *author, const pgr_adapt_args *a,
                     pgr_id *adapter_id, pgr_err *err)
{
    int rc = -1;
    pgr_train_corpus *c = NULL;
    pgr_trainer *base = NULL;
    train_result res[2] = {{0}};
    json_t *metrics = NULL;
    char *mtxt = NULL;
    *adapter_id = 0;
    pgr_adapter_spec spec;
    pgr_adapter_spec_default(&spec, m);
    spec.method = a->method;
    spec.mode = a->mode;
    spec.rank = a->rank;
    spec.alpha = 2.0f * (float)a->rank;
    const char *targets =
        a->method == PGR_AD_LORA ? (a->targets ? a->targets : "q,k,v,o,gate,up,down") : "resid";
    const char *positions = a->positions ? a->positions : "f7+l7";
    if (pgr_adapter_parse_targets(targets, &spec.targets, err) != 0 ||
        pgr_adapter_parse_layers(a->layers ? a->layers : "all", pgr_model_config(m)->n_layer, &spec,
                                 err) != 0 ||
        pgr_adapter_parse_positions(positions, &spec.pos_first, &spec.pos_last, err) != 0 ||
        pgr_adapter_spec_check(&spec, m, err) != 0)
        goto cleanup;
    if (a->steps < 1 || a->batch < 1 || a->batch > 64) {
        pgr_errf(err, PGR_EINVAL, "adapt: steps %d / batch %d out of range (batch 1..64)", a->steps,
                 a->batch);
        goto cleanup;
    }
    if (pgr_train_corpus_load(s, author, tok, a->max_tok, &c, err) != 0)
        goto cleanup;
    if (c->n_train == 0) {
        if (a->log)
            fprintf(a->log, "peergraph adapt: %s (%s) has no work with an abstract: skipped\n",
                    c->author_key, c->author_name);
        rc = 0;
        goto cleanup;
    }
    size_t n_held = 0;
    for (size_t i = 0; i < c->n_works; i++)
        n_held += c->heldout[i];
    if (a->log)
        fprintf(a->log,
                "peergraph adapt: %s (%s): %zu works (%zu held out), %zu training sequences "
                "(%zu tokens), %zu held-out sequences; %s %s rank %d, %d steps of %d on %s\n",
                c->author_key, c->author_name, c->n_works, n_held, c->n_train, c->n_tokens_train,
                c->n_test, pgr_adapter_method_name(a->method), pgr_adapter_mode_name(a->mode),
                a->rank, a->steps, a->batch, a->device ? a->device : "cpu");
    double base_loss = NAN;
    long held_tok = 0;
    if (pgr_trainer_new_on(m, NULL, PGR_AD_ALL, a->max_tok, a->n_threads, a->device, &base,
                           err) != 0 ||
        eval_loss(base, c->test, n_eval(c, a), &base_loss, &held_tok, err) != 0)
        goto cleanup;
    const int modes[2] = {a->mode, a->mode == PGR_AD_PREFILL ? PGR_AD_ALL : PGR_AD_PREFILL};
    for (int i = 0; i < 1 + !!a->compare; i++) {
        if (a->log)
            fprintf(a->log, " training %s %s\n", pgr_adapter_method_name(a->method),
                    pgr_adapter_mode_name(modes[i]));
        if (train_one(m, &spec, modes[i], c, a, &res[i], err) != 0)
            goto cleanup;
    }
    /* The file is named by its own sha256, so a retrain never rewrites a
     * file an older row describes (rows are provenance: docs/training.md). */
    char dir[PATH_MAX], path[PATH_MAX + 128], tmp[PATH_MAX + 128], file_sha[65];
    if (adapters_dir(a, dir, sizeof dir, err) != 0)
        goto cleanup;
    snprintf(tmp, sizeof tmp, "%s/.%s-%s-%s.%ld.training", dir, c->author_key,
             pgr_adapter_method_name(a->method), pgr_adapter_mode_name(a->mode), (long)getpid());
    memcpy(res[0].ad->base_sha256, model_sha256, 65);
    if (pgr_adapter_save(res[0].ad, tmp, err) != 0)
        goto cleanup;
    {
        char *bytes = NULL;
        size_t nb = 0;
        if (pgr_read_file(tmp, &bytes, &nb, err) != 0) {
            unlink(tmp);
            goto cleanup;
        }
        pgr_sha256_hex(bytes, nb, file_sha);
        free(bytes);
    }
    snprintf(path, sizeof path, "%s/%s-%s-%s-%.16s.pgad", dir, c->author_key,
             pgr_adapter_method_name(a->method), pgr_adapter_mode_name(a->mode), file_sha);
    if (rename(tmp, path) != 0) {
        pgr_errf(err, PGR_EIO, "adapt: rename %s -> %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        goto cleanup;
    }
    /* metrics and provenance */
    pgr_train_opts dflt;
    pgr_train_opts_default(&dflt, a->method, a->steps);
    const float lr_used = a->lr > 0 ? a->lr : dflt.lr;
    json_t *hl = json_pack("{so}", "base", jnum(base_loss));
    for (int i = 0; i < 1 + !!a->compare; i++)
        json_object_set_new(hl, pgr_adapter_mode_name(modes[i]), jnum(res[i].heldout));
    metrics = json_pack(
        "{ss ss sI si si si sf ss ss ss so so sI sI sI so s{sfsf} sf sf ss}", "data_sha256",
        c->data_sha256, "adapter_sha256", file_sha, "seed", (json_int_t)a->seed, "steps", a->steps, "batch", a->batch,
        "max_tokens", a->max_tok, "lr", (double)lr_used, "targets", targets, "layers",
        a->layers ? a->layers : "all", "positions", positions, "works_train", keys_json(c, 0),
        "works_heldout", keys_json(c, 1), "train_sequences", (json_int_t)c->n_train,
        "heldout_sequences", (json_int_t)c->n_test, "heldout_tokens", (json_int_t)held_tok,
        "heldout_loss", hl, "train_loss", "first", res[0].first, "last", res[0].last, "seconds",
        res[0].seconds, "train_tokens_per_s", res[0].tok_per_s, "base_model_sha256", model_sha256);
    if (metrics)
        json_object_set_new(metrics, "device", json_string(a->device ? a->device : "cpu"));
    if (!metrics || !(mtxt = json_dumps(metrics, JSON_COMPACT | JSON_SORT_KEYS))) {
        pgr_errf(err, PGR_ENOMEM, "adapt: metrics JSON");
        goto cleanup;
    }
    pgr_id aid;
    if (pgr_resolve_id(s, PGR_AUTHORS, c->author_key, &aid, err) != 0)
        goto cleanup;
    pgr_adapter_rec rec = {aid,
                           pgr_adapter_method_name(a->method),
                           pgr_adapter_mode_name(a->mode),
                           a->rank,
                           path,
                           model_sha256,
                           mtxt};
    if (pgr_adapter_add(s, &rec, adapter_id, err) != 0)
        goto cleanup;
    if (a->log) {
        fprintf(a->log, " held-out loss (nats/token over %ld tokens): base %.4f, %s %.4f", held_tok,
                base_loss, pgr_adapter_mode_name(modes[0]), res[0].heldout);
        if (a->compare)
            fprintf(a->log, ", %s %.4f", pgr_adapter_mode_name(modes[1]), res[1].heldout);
        fprintf(a->log, "\n wrote %s (adapter %lld)\n", path, (long long)*adapter_id);
    }
    rc = 0;
cleanup:
    free(mtxt);
    json_decref(metrics);
    pgr_adapter_free(res[0].ad);
    pgr_adapter_free(res[1].ad);
    pgr_trainer_free(base);
    pgr_train_corpus_free(c);
    return rc;
}

const char *pgr_adapt_state_name(int state)
{
    switch (state) {
    case PGR_ADAPT_NONE: return "none";
    case PGR_ADAPT_STALE: return "changed";
    case PGR_ADAPT_CURRENT: return "current";
    case PGR_ADAPT_UNTRAINED: return "untrained";
    }
    return "?";
}

int pgr_adapt_state(pgr_store *s, const char *author, const char *model_sha256, int *state,
                    pgr_id *adapter_id, pgr_err *err)
{
    char data_sha[65];
    pgr_id id;
    json_t *row = NULL;
    *state = PGR_ADAPT_NONE;
    if (adapter_id)
        *adapter_id = 0;
    if (pgr_resolve_id(s, PGR_AUTHORS, author, &id, err) != 0 ||
        pgr_author_resolve(s, id, &id, err) != 0 ||
        pgr_train_data_sha256(s, author, data_sha, err) != 0 ||
        pgr_adapter_current(s, id, model_sha256, &row, NULL, err) != 0)
        return -1;
    if (row) {
        if (adapter_id)
            *adapter_id = (pgr_id)json_integer_value(json_object_get(row, "id"));
        const char *ds =
            json_string_value(json_object_get(json_object_get(row, "metrics"), "data_sha256"));
        *state = !ds ? PGR_ADAPT_UNTRAINED
                     : strcmp(ds, data_sha) == 0 ? PGR_ADAPT_CURRENT : PGR_ADAPT_STALE;
    }
    json_decref(row);
    return 0;
}

int pgr_adapt_changed(pgr_store *s, const pgr_model *m, const char *model_sha256,
                      const pgr_tokenizer *tok, const pgr_adapt_args *a, int *n_trained,
                      pgr_err *err)
{
    pgr_id *ids = NULL;
    size_t n = 0;
    int rc = -1;
    *n_trained = 0;
    if (pgr_adapter_candidates(s, &ids, &n, err) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char key[32];
        int state;
        pgr_id cur;
        snprintf(key, sizeof key, "%c%lld", pgr_entity_letter(PGR_AUTHORS), (long long)ids[i]);
        if (pgr_adapt_state(s, key, model_sha256, &state, &cur, err) != 0) {
            if (err->code == PGR_ENOTFOUND) /* merged away or deleted since */
                continue;
            goto cleanup;
        }
        const int train = state == PGR_ADAPT_NONE || state == PGR_ADAPT_STALE;
        if (a->log) {
            fprintf(a->log, "peergraph adapt: %s: %s: ", key, pgr_adapt_state_name(state));
            if (state == PGR_ADAPT_NONE)
                fprintf(a->log, "no adapter for this base model");
            else if (state == PGR_ADAPT_STALE)
                fprintf(a->log, "works changed since adapter %lld was trained", (long long)cur);
            else if (state == PGR_ADAPT_CURRENT)
                fprintf(a->log, "adapter %lld is current", (long long)cur);
            else
                fprintf(a->log, "adapter %lld was registered, not trained here: left alone",
                        (long long)cur);
            fprintf(a->log, "%s\n", !train ? "" : a->dry_run ? ": would train" : ": training");
        }
        if (!train || a->dry_run) {
            *n_trained += train;
            continue;
        }
        pgr_id aid;
        if (pgr_adapt_author(s, m, model_sha256, tok, key, a, &aid, err) != 0)
            goto cleanup;
        *n_trained += aid > 0;
    }
    rc = 0;
cleanup:
    free(ids);
    return rc;
}
