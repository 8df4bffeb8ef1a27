/* Training data for one researcher from the graph (see train_data.h). */
#include "inference/train_data.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

typedef struct work_txt {
    const char *key, *title, *abstract; /* borrowed from the JSON */
    char hash[65];                      /* sha256(key): the split order */
} work_txt;

static int by_hash(const void *a, const void *b)
{
    return strcmp(((const work_txt *)a)->hash, ((const work_txt *)b)->hash);
}

/* The author's name and usable works (abstract present, non-empty), in id order
 * as the store gives them most-cited first: we sort by key for data_sha256. */
static int read_works(pgr_store *s, const char *author, json_t **author_js, json_t **works_js,
                      work_txt **out, size_t *n_out, char **key_out, const char **name_out,
                      pgr_err *err)
{
    static const char *const sel[] = {"id", "display_name"};
    *out = NULL;
    *n_out = 0;
    if (pgr_get(s, PGR_AUTHORS, author, sel, 2, author_js, err) != 0)
        return -1;
    if (pgr_author_works_text(s, author, 0, works_js, err) != 0)
        return -1;
    const char *key = json_string_value(json_object_get(*author_js, "id"));
    const char *name = json_string_value(json_object_get(*author_js, "display_name"));
    if (!key || !name)
        return pgr_errf(err, PGR_EINTERNAL, "author %s: no id or display_name", author);
    *key_out = (char *)key;
    *name_out = name;
    size_t n = json_array_size(*works_js);
    work_txt *w = calloc(n ? n : 1, sizeof *w);
    if (!w)
        return pgr_errf(err, PGR_ENOMEM, "author %s: out of memory", author);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(*works_js, i);
        const char *wk = json_string_value(json_object_get(o, "id"));
        const char *t = json_string_value(json_object_get(o, "title"));
        const char *a = json_string_value(json_object_get(o, "abstract"));
        if (!wk || !a || !*a)
            continue;
        w[k].key = wk, w[k].title = t ? t : "", w[k].abstract = a;
        pgr_sha256_hex(wk, strlen(wk), w[k].hash);
        k++;
    }
    *out = w;
    *n_out = k;
    return 0;
}

/* "W12" < "W9" as numbers: keys are one letter then digits */
static int by_key(const void *a, const void *b)
{
    const char *x = ((const work_txt *)a)->key, *y = ((const work_txt *)b)->key;
    size_t lx = strlen(x), ly = strlen(y);
    return lx != ly ? (lx < ly ? -1 : 1) : strcmp(x, y);
}

static int data_hash(const char *name, work_txt *w, size_t n, char out[65], pgr_err *err)
{
    qsort(w, n, sizeof *w, by_key);
    pgr_sb sb = {0};
    pgr_sb_printf(&sb, "%s\n", name);
    for (size_t i = 0; i < n; i++) {
        pgr_sb_printf(&sb, "%s\n%s\n", w[i].key, w[i].title);
        pgr_sb_puts(&sb, w[i].abstract);
        pgr_sb_putc(&sb, '\n');
    }
    if (!pgr_sb_ok(&sb)) {
        pgr_sb_free(&sb);
        return pgr_errf(err, PGR_ENOMEM, "training data: out of memory");
    }
    pgr_sha256_hex(sb.data ? sb.data : "", sb.len, out);
    pgr_sb_free(&sb);
    return 0;
}

int pgr_train_data_sha256(pgr_store *s, const char *author, char out[65], pgr_err *err)
{
    json_t *aj = NULL, *wj = NULL;
    work_txt *w = NULL;
    size_t n;
    char *key;
    const char *name;
    int rc = read_works(s, author, &aj, &wj, &w, &n, &key, &name, err);
    if (rc == 0)
        rc = data_hash(name, w, n, out, err);
    free(w);
    json_decref(aj);
    json_decref(wj);
    return rc;
}

void pgr_train_corpus_free(pgr_train_corpus *c)
{
    if (!c)
        return;
    free(c->author_key);
    free(c->author_name);
    for (size_t i = 0; i < c->n_works; i++)
        free(c->work_keys ? c->work_keys[i] : NULL);
    free(c->work_keys);
    free(c->heldout);
    free(c->train);
    free(c->test);
    free(c->tok);
    free(c);
}

/* One sequence: prompt ids then continuation ids (cut to max_tok), appended
 * to pool; records offset/lengths in *seq (tok fixed up once the pool stops
 * moving). */
static int add_seq(pgr_tokvec *pool, const pgr_tokvec *prompt, const pgr_tokvec *cont, int max_tok,
                   pgr_train_seq *seq, size_t *off, pgr_err *err)
{
    if (prompt->n < 1 || cont->n < 1 || prompt->n + 1 > (size_t)max_tok)
        return 1; /* nothing to learn, or the prompt alone is too long: skip */
    size_t nc = cont->n;
    if (prompt->n + nc > (size_t)max_tok)
        nc = (size_t)max_tok - prompt->n;
    size_t need = pool->n + prompt->n + nc;
    if (need > pool->cap) {
        size_t cap = need * 2;
        int32_t *v = realloc(pool->v, cap * sizeof *v);
        if (!v)
            return pgr_errf(err, PGR_ENOMEM, "training data: out of memory");
        pool->v = v, pool->cap = cap;
    }
    *off = pool->n;
    memcpy(pool->v + pool->n, prompt->v, prompt->n * sizeof *pool->v);
    memcpy(pool->v + pool->n + prompt->n, cont->v, nc * sizeof *pool->v);
    pool->n = need;
    seq->n_tok = (int)(prompt->n + nc);
    seq->prompt_len = (int)prompt->n;
    return 0;
}

int pgr_train_corpus_load(pgr_store *s, const char *author, const pgr_tokenizer *tok, int max_tok,
                          pgr_train_corpus **out, pgr_err *err)
{
    int rc = -1;
    json_t *aj = NULL, *wj = NULL;
    work_txt *w = NULL;
    size_t n = 0, *offs = NULL;
    char *key;
    const char *name;
    pgr_tokvec pool = {0}, pr = {0}, co = {0};
    pgr_sb sb = {0};
    *out = NULL;
    pgr_train_corpus *c = calloc(1, sizeof *c);
    if (!c)
        return pgr_errf(err, PGR_ENOMEM, "training data: out of memory");
    if (read_works(s, author, &aj, &wj, &w, &n, &key, &name, err) != 0 ||
        data_hash(name, w, n, c->data_sha256, err) != 0)
        goto cleanup;
    c->author_key = strdup(key);
    c->author_name = strdup(name);
    c->work_keys = calloc(n ? n : 1, sizeof *c->work_keys);
    c->heldout = calloc(n ? n : 1, 1);
    c->train = calloc(2 * n + 1, sizeof *c->train);
    c->test = calloc(2 * n + 1, sizeof *c->test);
    offs = calloc(4 * n + 2, sizeof *offs);
    if (!c->author_key || !c->author_name || !c->work_keys || !c->heldout || !c->train ||
        !c->test || !offs) {
        pgr_errf(err, PGR_ENOMEM, "training data: out of memory");
        goto cleanup;
    }
    qsort(w, n, sizeof *w, by_hash);
    const size_t n_held = n >= 2 ? (n + 4) / 5 : 0;
    c->n_works = n;
    const int32_t im_end = pgr_tok_im_end(tok);
    /* training works first, then held-out, so each set's sequences are contiguous */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n; i++) {
            const int held = i < n_held;
            if (held != pass)
                continue;
            c->heldout[i] = (uint8_t)held;
            if (!(c->work_keys[i] = strdup(w[i].key))) {
                pgr_errf(err, PGR_ENOMEM, "training data: out of memory");
                goto cleanup;
            }
            for (int fmt = 0; fmt < 2; fmt++) {
                pr.n = co.n = 0;
                pgr_sb_reset(&sb);
                int e;
                if (fmt == 0) {
                    pgr_sb_printf(&sb, "A paper by %s.\n", name);
                    e = pgr_tok_encode(tok, sb.data, sb.len, PGR_TOK_ADD_BOS, &pr, err);
                    pgr_sb_reset(&sb);
                    pgr_sb_printf(&sb, "%s\n%s", w[i].title, w[i].abstract);
                } else {
                    pgr_sb_printf(&sb, "What would %s say about \"%s\"?", name, w[i].title);
                    e = pgr_tok_chat_encode(tok, NULL, sb.data, &pr, err);
                    pgr_sb_reset(&sb);
                    pgr_sb_puts(&sb, w[i].abstract);
                }
                if (e != 0 || !pgr_sb_ok(&sb) ||
                    pgr_tok_encode(tok, sb.data, sb.len, 0, &co, err) != 0) {
                    if (!pgr_sb_ok(&sb))
                        pgr_errf(err, PGR_ENOMEM, "training data: out of memory");
                    goto cleanup;
                }
                if (fmt == 1 && im_end >= 0) { /* the turn ends as the template ends it */
                    if (co.n + 1 > co.cap) {
                        int32_t *v = realloc(co.v, (co.n + 1) * sizeof *v);
                        if (!v) {
                            pgr_errf(err, PGR_ENOMEM, "training data: out of memory");
                            goto cleanup;
                        }
                        co.v = v, co.cap = co.n + 1;
                    }
                    co.v[co.n++] = im_end;
                }
                pgr_train_seq *seq = held ? &c->test[c->n_test] : &c->train[c->n_train];
                size_t *off = &offs[(held ? 2 * n + 1 + c->n_test : c->n_train)];
                int r = add_seq(&pool, &pr, &co, max_tok, seq, off, err);
                if (r < 0)
                    goto cleanup;
                if (r == 0) {
                    if (held)
                        c->n_test++;
                    else {
                        c->n_train++;
                        c->n_tokens_train += (size_t)seq->n_tok;
                    }
                }
            }
        }
    c->tok = pool.v;
    pool.v = NULL;
    for (size_t i = 0; i < c->n_train; i++)
        c->train[i].tok = c->tok + offs[i];
    for (size_t i = 0; i < c->n_test; i++)
        c->test[i].tok = c->tok + offs[2 * n + 1 + i];
    *out = c;
    c = NULL;
    rc = 0;
cleanup:
    pgr_train_corpus_free(c);
    free(offs);
    free(w);
    free(pool.v);
    free(pr.v);
    free(co.v);
    pgr_sb_free(&sb);
    json_decref(aj);
    json_decref(wj);
    return rc;
}
