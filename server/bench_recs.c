/* `peergraph bench recommend`: offline evaluation of the recommender.
 *
 * For each evaluated author (those with at least --min-works works), a
 * share of their works is held out: the recommender is told not to credit
 * the author with them (recs_opts.hidden), so they are neither the author's
 * own works nor evidence; their co-authors who appear on no other work of
 * the author are held out with them. Then:
 *   works     recall@10 = held-out works among the top 10 / min(held out, 10)
 *   coauthors recall@10 = held-out co-authors among the top 10 / min(..., 10)
 * for our graph recommender (recs_graph, the endpoint's graph ranking) and
 * for a text-similarity baseline: TF-IDF cosine between the author's
 * remaining works (title + abstract, summed and normalised) and every other
 * work; for people, the authors of the 30 most similar works ranked by
 * summed similarity. Deterministic for a seed. Adapter scores are not part
 * of it: the evaluated authors have no trained adapters.
 *
 * The graph is --db (an ingested graph) or one generated into a temporary
 * SQLite file with the generator of bench gen. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "graph/graph.h"
#include "server/api_gen.h"
#include "server/api_recs.h"

/* ---- TF-IDF ----------------------------------------------------------------- */
typedef struct term_w {
    int term;
    float w;
} term_w;

typedef struct doc {
    char key[24]; /* W12 */
    term_w *v;    /* sorted by term, L2-normalised */
    int n;
} doc;

typedef struct corpus {
    json_t *vocab; /* word -> term id */
    int *df;       /* (n_terms) */
    int n_terms, cap_terms;
    doc *docs;
    size_t n_docs, cap_docs;
    json_t *by_key; /* W12 -> doc index */
} corpus;

static const char *const STOP[] = {
    "the",   "and",   "for", "with", "that", "this", "are",  "from", "our",  "we",   "on",  "in",
    "of",    "to",    "a",   "an",   "is",   "by",   "as",   "be",   "it",   "its",  "can", "which",
    "these", "their", "not", "at",   "or",   "has",  "have", "was",  "were", "also", NULL};

static int is_stop(const char *w)
{
    for (const char *const *s = STOP; *s; s++)
        if (!strcmp(*s, w))
            return 1;
    return 0;
}

static int term_cmp(const void *a, const void *b)
{
    const term_w *x = a, *y = b;
    return (x->term > y->term) - (x->term < y->term);
}

/* Words of 3+ ASCII letters or digits, lower-cased, stop words out; counts
 * per term into a fresh sorted vector (raw term frequencies). */
static int tokenize(corpus *c, const char *text, term_w **out, int *n_out, pgr_err *err)
{
    term_w *v = NULL;
    int n = 0, cap = 0;
    char w[64];
    size_t wl = 0;
    for (const char *p = text;; p++) {
        unsigned char ch = (unsigned char)*p;
        int alnum =
            (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        if (alnum) {
            if (wl < sizeof w - 1)
                w[wl++] = (char)(ch | (ch >= 'A' && ch <= 'Z' ? 0x20 : 0));
            continue;
        }
        if (wl >= 3 && wl < sizeof w - 1) {
            w[wl] = 0;
            if (!is_stop(w)) {
                json_t *id = json_object_get(c->vocab, w);
                int t;
                if (id) {
                    t = (int)json_integer_value(id);
                } else {
                    if (c->n_terms == c->cap_terms) {
                        int cap2 = c->cap_terms ? c->cap_terms * 2 : 1024;
                        int *df = realloc(c->df, (size_t)cap2 * sizeof *df);
                        if (!df)
                            goto oom;
                        c->df = df;
                        c->cap_terms = cap2;
                    }
                    t = c->n_terms++;
                    c->df[t] = 0;
                    json_object_set_new(c->vocab, w, json_integer(t));
                }
                int found = 0;
                for (int i = 0; i < n && !found; i++)
                    if (v[i].term == t) {
                        v[i].w += 1;
                        found = 1;
                    }
                if (!found) {
                    if (n == cap) {
                        cap = cap ? cap * 2 : 32;
                        term_w *v2 = realloc(v, (size_t)cap * sizeof *v2);
                        if (!v2)
                            goto oom;
                        v = v2;
                    }
                    v[n++] = (term_w){t, 1};
                }
            }
        }
        wl = 0;
        if (!ch)
            break;
    }
    if (n)
        qsort(v, (size_t)n, sizeof *v, term_cmp);
    *out = v;
    *n_out = n;
    return 0;
oom:
    free(v);
    return pgr_errf(err, PGR_ENOMEM, "bench recommend: out of memory tokenizing");
}

static int add_doc(void *ctx, pgr_id id, const char *title, const char *abstract, pgr_err *err)
{
    corpus *c = ctx;
    pgr_sb text = {0};
    pgr_sb_printf(&text, "%s %s", title ? title : "", abstract ? abstract : "");
    if (!pgr_sb_ok(&text))
        return pgr_errf(err, PGR_ENOMEM, "bench recommend: out of memory");
    if (c->n_docs == c->cap_docs) {
        size_t cap = c->cap_docs ? c->cap_docs * 2 : 1024;
        doc *d = realloc(c->docs, cap * sizeof *d);
        if (!d) {
            pgr_sb_free(&text);
            return pgr_errf(err, PGR_ENOMEM, "bench recommend: out of memory");
        }
        c->docs = d;
        c->cap_docs = cap;
    }
    doc *d = &c->docs[c->n_docs];
    memset(d, 0, sizeof *d);
    snprintf(d->key, sizeof d->key, "W%lld", (long long)id);
    int rc = tokenize(c, text.data ? text.data : "", &d->v, &d->n, err);
    pgr_sb_free(&text);
    if (rc != 0)
        return -1;
    for (int i = 0; i < d->n; i++)
        c->df[d->v[i].term]++;
    json_object_set_new(c->by_key, d->key, json_integer((json_int_t)c->n_docs));
    c->n_docs++;
    return 0;
}

/* Weights: (1 + ln tf) * ln(N / df), then unit length. */
static void weigh(corpus *c)
{
    for (size_t i = 0; i < c->n_docs; i++) {
        doc *d = &c->docs[i];
        double norm = 0;
        for (int k = 0; k < d->n; k++) {
            double idf = log((double)c->n_docs / (double)c->df[d->v[k].term]);
            d->v[k].w = (float)((1 + log(d->v[k].w)) * idf);
            norm += (double)d->v[k].w * d->v[k].w;
        }
        norm = sqrt(norm);
        for (int k = 0; k < d->n; k++)
            d->v[k].w = norm > 0 ? (float)(d->v[k].w / norm) : 0;
    }
}

static void corpus_free(corpus *c)
{
    for (size_t i = 0; i < c->n_docs; i++)
        free(c->docs[i].v);
    free(c->docs);
    free(c->df);
    json_decref(c->vocab);
    json_decref(c->by_key);
}

/* ---- one author --------------------------------------------------------------- */
typedef struct scored {
    const char *key;
    double s;
} scored;

static int scored_cmp(const void *a, const void *b)
{
    const scored *x = a, *y = b;
    if (x->s != y->s)
        return x->s < y->s ? 1 : -1;
    return strcmp(x->key, y->key);
}

/* Text baseline for works: every document not known, by cosine with the
 * profile (dense profile over the vocabulary). Fills top[0..k). */
static int text_top_works(corpus *c, const json_t *known, size_t k, scored *top, size_t *n_top,
                          double *prof)
{
    memset(prof, 0, (size_t)c->n_terms * sizeof *prof);
    const char *key;
    json_t *v;
    double norm = 0;
    json_object_foreach((json_t *)known, key, v)
    {
        json_t *at = json_object_get(c->by_key, key);
        if (!at)
            continue;
        doc *d = &c->docs[json_integer_value(at)];
        for (int i = 0; i < d->n; i++)
            prof[d->v[i].term] += d->v[i].w;
    }
    for (int t = 0; t < c->n_terms; t++)
        norm += prof[t] * prof[t];
    norm = sqrt(norm);
    size_t n = 0;
    for (size_t i = 0; i < c->n_docs; i++) {
        doc *d = &c->docs[i];
        if (json_object_get(known, d->key))
            continue;
        double s = 0;
        for (int t = 0; t < d->n; t++)
            s += prof[d->v[t].term] * d->v[t].w;
        s = norm > 0 ? s / norm : 0;
        scored x = {d->key, s};
        /* keep the k best in top (insertion: k is small) */
        if (n < k || scored_cmp(&x, &top[n - 1]) < 0) {
            size_t at = n < k ? n++ : k - 1;
            top[at] = x;
            while (at > 0 && scored_cmp(&top[at], &top[at - 1]) < 0) {
                scored tmp = top[at];
                top[at] = top[at - 1];
                top[at - 1] = tmp;
                at--;
            }
        }
    }
    *n_top = n;
    return 0;
}

typedef struct totals {
    double ours_w, text_w, ours_c, text_c;
    int n_w, n_c;
    double ms_ours;
} totals;

static double recall(json_t *ranked_keys, const json_t *held, size_t n_held)
{
    size_t hits = 0, i;
    json_t *v;
    json_array_foreach(ranked_keys, i, v)
    {
        if (i >= 10)
            break;
        hits += json_object_get(held, json_string_value(v)) != NULL;
    }
    return (double)hits / (double)(n_held < 10 ? n_held : 10);
}

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static int eval_author(pgr_store *st, corpus *c, const char *aid, double share, uint64_t seed,
                       double *prof, totals *t, int verbose, pgr_err *err)
{
    int rc = -1;
    json_t *res = NULL, *hidden = json_object(), *known = json_object(), *held_co = json_object(),
           *known_co = json_object(), *ours = json_array(), *text = json_array();
    recs_list lw = {0}, lc = {0};
    static const char *const sel[] = {"id", "authorships"};
    const char *vals[1] = {aid};
    pgr_filter f = {"authorships.author.id", PGR_OP_EQ, vals, 1};
    pgr_sort so = {"id", 0};
    pgr_query q = {0};
    q.entity = PGR_WORKS;
    q.filters = &f;
    q.n_filters = 1;
    q.sorts = &so;
    q.n_sorts = 1;
    q.per_page = 200;
    q.select = sel;
    q.n_select = 2;
    if (pgr_list(st, &q, &res, err) != 0)
        goto cleanup;
    json_t *works = json_object_get(res, "results");
    size_t n = json_array_size(works), n_hide = (size_t)floor(share * (double)n), i, k;
    if (n_hide < 1)
        n_hide = 1;
    /* a deterministic pick: the n_hide works with the smallest hash(seed, id) */
    scored *order = calloc(n ? n : 1, sizeof *order);
    if (!order) {
        pgr_errf(err, PGR_ENOMEM, "bench recommend: out of memory");
        goto cleanup;
    }
    json_t *w, *a;
    json_array_foreach(works, i, w)
    {
        const char *id = json_string_value(json_object_get(w, "id"));
        order[i].key = id;
        order[i].s = (double)(mix(seed ^ mix((uint64_t)strtoull(id + 1, NULL, 10))) >> 11);
    }
    qsort(order, n, sizeof *order, scored_cmp);
    for (i = 0; i < n; i++)
        json_object_set_new(i < n_hide ? hidden : known, order[i].key, json_true());
    free(order);
    json_array_foreach(works, i, w)
    {
        const char *id = json_string_value(json_object_get(w, "id"));
        int is_known = json_object_get(known, id) != NULL;
        json_array_foreach(json_object_get(w, "authorships"), k, a)
        {
            const char *who =
                json_string_value(json_object_get(json_object_get(a, "author"), "id"));
            if (!who || !strcmp(who, aid))
                continue;
            json_object_set_new(is_known ? known_co : held_co, who, json_true());
        }
    }
    const char *key;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(held_co, tmp, key, v) if (json_object_get(known_co, key))
        json_object_del(held_co, key);

    /* ours, works */
    recs_opts o = {RECS_WORKS, hidden};
    uint64_t t0 = pgr_now_us();
    if (recs_graph(st, aid, &o, &lw, err) != 0)
        goto cleanup;
    t->ms_ours += (double)(pgr_now_us() - t0) / 1e3;
    for (i = 0; i < lw.n && i < 10; i++)
        json_array_append_new(ours, json_string(lw.v[i].id));
    double r_ours = recall(ours, hidden, n_hide);
    /* text, works */
    scored top[30];
    size_t n_top = 0;
    text_top_works(c, known, 30, top, &n_top, prof);
    for (i = 0; i < n_top && i < 10; i++)
        json_array_append_new(text, json_string(top[i].key));
    double r_text = recall(text, hidden, n_hide);
    t->ours_w += r_ours;
    t->text_w += r_text;
    t->n_w++;
    if (verbose)
        fprintf(stderr,
                "bench recommend: %s: %zu works, %zu held out: works recall@10 ours %.2f text %.2f",
                aid, n, n_hide, r_ours, r_text);

    /* people, when some co-author is held out */
    size_t n_held_co = json_object_size(held_co);
    if (n_held_co) {
        json_array_clear(ours);
        json_array_clear(text);
        o.kind = RECS_COAUTHORS;
        t0 = pgr_now_us();
        if (recs_graph(st, aid, &o, &lc, err) != 0)
            goto cleanup;
        t->ms_ours += (double)(pgr_now_us() - t0) / 1e3;
        for (i = 0; i < lc.n && i < 10; i++)
            json_array_append_new(ours, json_string(lc.v[i].id));
        /* text: the authors of the 30 most similar works, by summed similarity */
        const char *ids[30];
        for (i = 0; i < n_top; i++)
            ids[i] = top[i].key;
        pgr_filter fi = {"id", PGR_OP_EQ, ids, n_top};
        pgr_query qi = {0};
        qi.entity = PGR_WORKS;
        qi.filters = &fi;
        qi.n_filters = 1;
        qi.per_page = 30;
        qi.select = sel;
        qi.n_select = 2;
        json_t *out = NULL;
        if (n_top && pgr_list(st, &qi, &out, err) != 0)
            goto cleanup;
        json_t *sum = json_object();
        json_array_foreach(json_object_get(out, "results"), i, w)
        {
            const char *wid = json_string_value(json_object_get(w, "id"));
            double sim = 0;
            for (size_t m = 0; m < n_top; m++)
                if (!strcmp(top[m].key, wid))
                    sim = top[m].s;
            json_array_foreach(json_object_get(w, "authorships"), k, a)
            {
                const char *who =
                    json_string_value(json_object_get(json_object_get(a, "author"), "id"));
                if (!who || !strcmp(who, aid) || json_object_get(known_co, who))
                    continue;
                json_object_set_new(sum, who,
                                    json_real(json_real_value(json_object_get(sum, who)) + sim));
            }
        }
        json_decref(out);
        size_t ns = json_object_size(sum), j = 0;
        scored *people = calloc(ns ? ns : 1, sizeof *people);
        if (!people) {
            json_decref(sum);
            pgr_errf(err, PGR_ENOMEM, "bench recommend: out of memory");
            goto cleanup;
        }
        json_object_foreach(sum, key, v) people[j++] = (scored){key, json_real_value(v)};
        qsort(people, ns, sizeof *people, scored_cmp);
        for (i = 0; i < ns && i < 10; i++)
            json_array_append_new(text, json_string(people[i].key));
        free(people);
        json_decref(sum);
        double rc_ours = recall(ours, held_co, n_held_co),
               rc_text = recall(text, held_co, n_held_co);
        t->ours_c += rc_ours;
        t->text_c += rc_text;
        t->n_c++;
        if (verbose)
            fprintf(stderr, "; %zu co-authors held out: recall@10 ours %.2f text %.2f", n_held_co,
                    rc_ours, rc_text);
    }
    if (verbose)
        fprintf(stderr, "\n");
    rc = 0;
cleanup:
    recs_list_free(&lw);
    recs_list_free(&lc);
    json_decref(res);
    json_decref(hidden);
    json_decref(known);
    json_decref(held_co);
    json_decref(known_co);
    json_decref(ours);
    json_decref(text);
    return rc;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: peergraph bench recommend [--db URL | --works N --gen-authors M] [options]\n"
            "  --db URL          evaluate on this graph (e.g. the ingested seed pages)\n"
            "  --works N         else generate a graph of N works (default 3000) ...\n"
            "  --gen-authors M   ... and M authors (default 800) into a temporary SQLite file\n"
            "  --hide F          share of each author's works held out (default 0.25)\n"
            "  --min-works N     evaluate authors with at least N works (default 4)\n"
            "  --max-authors N   evaluate at most N authors, most prolific first (default 100)\n"
            "  --seed S          generator and hold-out seed (default 7)\n"
            "  -v                one line per author on stderr\n");
}

int bench_recommend_main(int argc, char **argv)
{
    enum { O_DB = 256, O_WORKS, O_GEN_AUTHORS, O_HIDE, O_MIN, O_MAX, O_SEED };
    static const struct option opts[] = {{"db", required_argument, NULL, O_DB},
                                         {"works", required_argument, NULL, O_WORKS},
                                         {"gen-authors", required_argument, NULL, O_GEN_AUTHORS},
                                         {"hide", required_argument, NULL, O_HIDE},
                                         {"min-works", required_argument, NULL, O_MIN},
                                         {"max-authors", required_argument, NULL, O_MAX},
                                         {"seed", required_argument, NULL, O_SEED},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *db = NULL;
    long works = 3000, gen_authors = 800, min_works = 4, max_authors = 100;
    double share = 0.25;
    unsigned long long seed = 7;
    int verbose = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case O_DB:
            db = optarg;
            break;
        case O_WORKS:
        case O_GEN_AUTHORS:
        case O_MIN:
        case O_MAX: {
            long v = strtol(optarg, &end, 10);
            if (!*optarg || *end || v < 1 || v > 10000000) {
                fprintf(stderr, "peergraph bench recommend: --%s: '%s' is not 1..10000000\n",
                        opts[c - O_DB].name, optarg);
                return 2;
            }
            *(c == O_WORKS         ? &works
              : c == O_GEN_AUTHORS ? &gen_authors
              : c == O_MIN         ? &min_works
                                   : &max_authors) = v;
            break;
        }
        case O_HIDE:
            share = strtod(optarg, &end);
            if (!*optarg || *end || !(share > 0 && share < 1)) {
                fprintf(stderr, "peergraph bench recommend: --hide: '%s' is not in (0, 1)\n",
                        optarg);
                return 2;
            }
            break;
        case O_SEED:
            seed = strtoull(optarg, &end, 10);
            if (!*optarg || *end) {
                fprintf(stderr, "peergraph bench recommend: --seed: '%s' is not a number\n",
                        optarg);
                return 2;
            }
            break;
        case 'v':
            verbose = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "peergraph bench recommend: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    int rc = 1;
    pgr_err err = {0};
    pgr_store *st = NULL;
    corpus cp = {0};
    json_t *authors = NULL;
    double *prof = NULL;
    char tmp[256] = "", url[300];
    if (!db) {
        const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        snprintf(tmp, sizeof tmp, "%s/peergraph-bench-recs-%ld.db", dir, (long)getpid());
        unlink(tmp);
        snprintf(url, sizeof url, "sqlite:%s", tmp);
        db = url;
    }
    if (pgr_store_open(db, &st, &err) != 0)
        goto fail;
    if (tmp[0]) {
        api_gen_opts go = {.works = works, .authors = gen_authors, .seed = seed};
        fprintf(stderr, "bench recommend: generating %ld works, %ld authors (seed %llu)\n", works,
                gen_authors, seed);
        if (api_gen_graph(st, &go, &err) != 0)
            goto fail;
    }
    cp.vocab = json_object();
    cp.by_key = json_object();
    if (pgr_works_text_each(st, add_doc, &cp, &err) != 0)
        goto fail;
    weigh(&cp);
    prof = calloc(cp.n_terms ? (size_t)cp.n_terms : 1, sizeof *prof);
    if (!prof) {
        pgr_errf(&err, PGR_ENOMEM, "bench recommend: out of memory");
        goto fail;
    }
    /* the most prolific authors first */
    char minw[32];
    snprintf(minw, sizeof minw, "%ld", min_works - 1);
    const char *vals[1] = {minw};
    pgr_filter f = {"works_count", PGR_OP_GT, vals, 1};
    pgr_sort so[2] = {{"works_count", 1}, {"id", 0}};
    static const char *const sel[] = {"id", "works_count"};
    pgr_query q = {0};
    q.entity = PGR_AUTHORS;
    q.filters = &f;
    q.n_filters = 1;
    q.sorts = so;
    q.n_sorts = 2;
    q.per_page = max_authors < 200 ? (int)max_authors : 200;
    q.select = sel;
    q.n_select = 2;
    if (pgr_list(st, &q, &authors, &err) != 0)
        goto fail;
    totals t = {0};
    size_t i;
    json_t *a;
    uint64_t t0 = pgr_now_us();
    json_array_foreach(json_object_get(authors, "results"), i, a)
    {
        if (eval_author(st, &cp, json_string_value(json_object_get(a, "id")), share, seed, prof, &t,
                        verbose, &err) != 0)
            goto fail;
    }
    double secs = (double)(pgr_now_us() - t0) / 1e6;
    if (!t.n_w) {
        fprintf(stderr, "peergraph bench recommend: no author has %ld or more works in %s\n",
                min_works, db);
        goto done;
    }
    printf("{\"bench\":\"recommend\",\"kind\":\"works\",\"authors\":%d,\"hide\":%.2f,"
           "\"recall_at_10\":{\"graph\":%.4f,\"text_tfidf\":%.4f}}\n",
           t.n_w, share, t.ours_w / t.n_w, t.text_w / t.n_w);
    if (t.n_c)
        printf("{\"bench\":\"recommend\",\"kind\":\"coauthors\",\"authors\":%d,\"hide\":%.2f,"
               "\"recall_at_10\":{\"graph\":%.4f,\"text_tfidf\":%.4f}}\n",
               t.n_c, share, t.ours_c / t.n_c, t.text_c / t.n_c);
    printf("\nrecall@10 on %s (%zu works in the corpus; %.0f%% of each author's works held out)\n",
           tmp[0] ? "a generated graph" : db, cp.n_docs, share * 100);
    printf("  %-10s %8s %10s %10s\n", "kind", "authors", "graph", "text tf-idf");
    printf("  %-10s %8d %10.3f %10.3f\n", "works", t.n_w, t.ours_w / t.n_w, t.text_w / t.n_w);
    if (t.n_c)
        printf("  %-10s %8d %10.3f %10.3f\n", "coauthors", t.n_c, t.ours_c / t.n_c,
               t.text_c / t.n_c);
    printf("  graph recommender: %.1f ms per request on average; %.1f s in all\n",
           t.ms_ours / (t.n_w + t.n_c), secs);
done:
    rc = 0;
    goto cleanup;
fail:
    fprintf(stderr, "peergraph bench recommend: %s\n", err.msg);
cleanup:
    json_decref(authors);
    corpus_free(&cp);
    free(prof);
    pgr_store_close(st);
    if (tmp[0]) {
        unlink(tmp);
        for (const char *const *x = (const char *const[]){"-wal", "-shm", "-journal", NULL}; *x;
             x++) {
            char side[300];
            snprintf(side, sizeof side, "%s%s", tmp, *x);
            unlink(side);
        }
    }
    return rc;
}
