/* Test support for the graph store (see graphgen.h). */
#include "tests/support/graphgen.h"

#include <libpq-fe.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *pg_dbs[64];
static int n_pg_dbs;

/* "postgres://u@h:p/postgres" -> "postgres://u@h:p/NAME" */
static char *pg_url_for(const char *base, const char *db)
{
    const char *slash = strrchr(base, '/');
    if (!slash || slash < base + 11)
        return NULL;
    size_t n = (size_t)(slash - base);
    char *u = malloc(n + strlen(db) + 2);
    if (u)
        sprintf(u, "%.*s/%s", (int)n, base, db);
    return u;
}

static void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

static int pg_admin(const char *sql)
{
    const char *base = getenv("PEERGRAPH_TEST_PG");
    PGconn *c = PQconnectdb(base);
    int ok = PQstatus(c) == CONNECTION_OK;
    if (ok) {
        PQsetNoticeProcessor(c, quiet, NULL);
        PGresult *r = PQexec(c, sql);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            fprintf(stderr, "    %s: %s", sql, PQerrorMessage(c));
        PQclear(r);
    }
    PQfinish(c);
    return ok ? 0 : -1;
}

char *gg_fresh_db(int backend, const char *name, const char **why)
{
    char buf[512];
    if (backend == GG_SQLITE) {
        const char *tmp = getenv("PEERGRAPH_TEST_TMP");
        snprintf(buf, sizeof buf, "%s/%s-%d.db", tmp && *tmp ? tmp : "/tmp", name, (int)getpid());
        unlink(buf);
        char side[600];
        snprintf(side, sizeof side, "%s-wal", buf);
        unlink(side);
        snprintf(side, sizeof side, "%s-shm", buf);
        unlink(side);
        char *u = malloc(strlen(buf) + 8);
        if (u)
            sprintf(u, "sqlite:%s", buf);
        return u;
    }
    const char *base = getenv("PEERGRAPH_TEST_PG");
    if (!base || !*base) {
        *why = "PEERGRAPH_TEST_PG is not set (tests/run.sh sets it)";
        return NULL;
    }
    char db[128];
    snprintf(db, sizeof db, "pgr_%s_%d", name, (int)getpid());
    snprintf(buf, sizeof buf, "DROP DATABASE IF EXISTS %s", db);
    pg_admin(buf);
    snprintf(buf, sizeof buf, "CREATE DATABASE %s", db);
    if (pg_admin(buf) != 0) {
        *why = "could not create a test database in PEERGRAPH_TEST_PG";
        return NULL;
    }
    if (n_pg_dbs < 64)
        pg_dbs[n_pg_dbs++] = strdup(db);
    return pg_url_for(base, db);
}

void gg_cleanup(void)
{
    char buf[256];
    for (int i = 0; i < n_pg_dbs; i++) {
        snprintf(buf, sizeof buf, "DROP DATABASE IF EXISTS %s WITH (FORCE)", pg_dbs[i]);
        pg_admin(buf);
        free(pg_dbs[i]);
    }
    n_pg_dbs = 0;
}

int gg_exec_raw(const char *url, const char *sql)
{
    if (!strncmp(url, "sqlite:", 7)) {
        sqlite3 *db;
        if (sqlite3_open(url + 7, &db) != SQLITE_OK) {
            sqlite3_close(db);
            return -1;
        }
        char *msg = NULL;
        int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
        if (rc != SQLITE_OK)
            fprintf(stderr, "    %s: %s\n", sql, msg);
        sqlite3_free(msg);
        sqlite3_close(db);
        return rc == SQLITE_OK ? 0 : -1;
    }
    PGconn *c = PQconnectdb(url);
    int ok = PQstatus(c) == CONNECTION_OK;
    if (ok) {
        PGresult *r = PQexec(c, sql);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
        if (!ok)
            fprintf(stderr, "    %s: %s", sql, PQerrorMessage(c));
        PQclear(r);
    }
    PQfinish(c);
    return ok ? 0 : -1;
}

/* ---- the generated graph ---- */
static unsigned lcg(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (*s >> 8) & 0xffffff;
}

static const char *words[] = {
    "graph",    "neural",   "language", "model",     "adapter",  "prefill", "attention",
    "sparse",   "learning", "retrieval", "citation", "network",  "bayesian", "kernel",
    "transformer", "diffusion", "causal", "probing", "interpretability", "scaling",
    "Müller",   "naïve",    "quantum",  "reasoning", "benchmark", "token",   "memory"};
#define N_WORDS (sizeof words / sizeof words[0])
static const char *firsts[] = {"Zhengxuan", "Aryaman", "Ana",   "José",  "Li",   "Maria",
                               "Chen",      "Olga",    "Kofi",  "Søren", "Amir", "Yuki"};
static const char *lasts[] = {"Wu",     "Arora", "García", "Müller", "Wang", "Smith",
                              "Ivanova", "Mensah", "Kim",   "Okafor", "Rossi", "Tanaka"};
static const char *types[] = {"preprint", "article", "proceedings-article"};
static const char *topic_codes[] = {"cs.CL", "cs.LG", "cs.AI", "stat.ML", "cs.IR", "cs.CV",
                                    "math.ST", "q-bio.NC"};
static const char *topic_names[] = {"Computation and Language", "Machine Learning",
                                    "Artificial Intelligence", "Machine Learning (stat)",
                                    "Information Retrieval", "Computer Vision",
                                    "Statistics Theory", "Neurons and Cognition"};
static const char *venues[] = {"arXiv", "NeurIPS", "ACL", "Journal of Graphs"};

void gg_generate(gg_graph *g, int n_works, int n_authors, unsigned seed)
{
    memset(g, 0, sizeof *g);
    g->n_works = n_works;
    g->n_authors = n_authors;
    g->n_topics = 8;
    g->n_venues = 4;
    g->works = calloc((size_t)n_works, sizeof *g->works);
    g->author_names = calloc((size_t)n_authors, sizeof *g->author_names);
    g->author_ids = calloc((size_t)n_authors, sizeof *g->author_ids);
    g->topic_ids = calloc((size_t)g->n_topics, sizeof *g->topic_ids);
    unsigned s = seed;
    for (int a = 0; a < n_authors; a++)
        snprintf(g->author_names[a], sizeof g->author_names[a], "%s %s%s",
                 firsts[lcg(&s) % 12], lasts[lcg(&s) % 12],
                 a < 144 ? "" : (a % 2 ? " Jr" : " II")); /* mostly distinct people */
    for (int i = 0; i < n_works; i++) {
        gg_work *w = &g->works[i];
        w->year = lcg(&s) % 10 == 0 ? 0 : 2015 + (int)(lcg(&s) % 12);
        w->type = types[lcg(&s) % 3];
        w->has_code = (int)(lcg(&s) % 3) - 1;
        unsigned r = lcg(&s) % 100;
        w->cites = r < 40 ? (long)(r % 5) : r < 90 ? (long)(r - 35) : (long)(r * 7);
        w->n_auth = 1 + (int)(lcg(&s) % GG_MAX_AUTH);
        for (int k = 0; k < w->n_auth; k++) {
            int a;
            int dup;
            do {
                a = (int)(lcg(&s) % (unsigned)n_authors);
                dup = 0;
                for (int j = 0; j < k; j++)
                    dup |= w->auth[j] == a;
            } while (dup);
            w->auth[k] = a;
        }
        w->n_topics = (int)(lcg(&s) % (GG_MAX_TOPICS + 1));
        for (int k = 0; k < w->n_topics; k++) {
            int t;
            int dup;
            do {
                t = (int)(lcg(&s) % 8);
                dup = 0;
                for (int j = 0; j < k; j++)
                    dup |= w->topics[j] == t;
            } while (dup);
            w->topics[k] = t;
        }
        w->venue = (int)(lcg(&s) % 5) - 1;
        snprintf(w->title, sizeof w->title, "%s %s for %s %s %d", words[lcg(&s) % N_WORDS],
                 words[lcg(&s) % N_WORDS], words[lcg(&s) % N_WORDS], words[lcg(&s) % N_WORDS], i);
        size_t n = 0;
        for (int k = 0; k < 20 && n < sizeof w->abstract - 40; k++)
            n += (size_t)snprintf(w->abstract + n, sizeof w->abstract - n, "%s%s",
                                  k ? " " : "", words[lcg(&s) % N_WORDS]);
        snprintf(w->arxiv, sizeof w->arxiv, "26%02d.%05d", 1 + i % 12, i);
        if (i % 3 == 0)
            snprintf(w->doi, sizeof w->doi, "10.1234/gg.%d", i);
        w->truncated = w->n_auth >= 5 && i % 2;
    }
}

void gg_free(gg_graph *g)
{
    free(g->works);
    free(g->author_names);
    free(g->author_ids);
    free(g->topic_ids);
    memset(g, 0, sizeof *g);
}

static void fold_name(const char *in, char *out, size_t n)
{
    pgr_sb sb = {0};
    /* the tests' own normalisation: lower-case ASCII, keep the rest */
    for (const char *p = in; *p; p++)
        pgr_sb_putc(&sb, (*p >= 'A' && *p <= 'Z') ? (char)(*p + 32) : *p);
    snprintf(out, n, "%s", sb.data ? sb.data : "");
    pgr_sb_free(&sb);
}

long gg_expected_cites(const gg_graph *g, int w)
{
    long internal = 0;
    for (int i = w + 1; i < g->n_works; i++)
        for (int k = 1; k <= 3 && k <= i; k += 1 + i % 2)
            internal += i - k == w;
    return internal > g->works[w].cites ? internal : g->works[w].cites;
}

int gg_load(pgr_store *s, gg_graph *g, pgr_err *err)
{
    pgr_source_doc d = {.uri = "generated://graph", .format = "generated", .sha256 = "00",
                        .capture_date = "2026-11-22"};
    if (pgr_begin(s, err) != 0)
        return -1;
    if (pgr_source_upsert(s, &d, &g->src, err) != 0)
        goto fail;
    for (int t = 0; t < g->n_topics; t++)
        if (pgr_topic_upsert(s, "arxiv", topic_codes[t], topic_names[t], &g->topic_ids[t], err))
            goto fail;
    pgr_id inst;
    if (pgr_institution_upsert(s, "Stanford University", "stanford university",
                               "https://ror.org/00f54p054", "US", &inst, err) != 0)
        goto fail;
    for (int a = 0; a < g->n_authors; a++) {
        char norm[64];
        fold_name(g->author_names[a], norm, sizeof norm);
        pgr_author_rec ar = {.display_name = g->author_names[a], .norm_name = norm};
        char orcid[32];
        if (a % 7 == 0) {
            snprintf(orcid, sizeof orcid, "0000-0002-%04d-000X", a);
            ar.orcid = orcid;
        }
        if (pgr_author_upsert(s, g->src, 0, &ar, &g->author_ids[a], NULL, err) != 0)
            goto fail;
        if (a % 5 == 0) {
            char variant[64], vnorm[64];
            snprintf(variant, sizeof variant, "%c. %s", g->author_names[a][0],
                     strchr(g->author_names[a], ' ') + 1);
            fold_name(variant, vnorm, sizeof vnorm);
            if (pgr_author_add_variant(s, g->src, g->author_ids[a], variant, vnorm, err) != 0)
                goto fail;
        }
        if (a % 4 == 0 &&
            pgr_author_institution_put(s, g->src, g->author_ids[a], inst, 2025, err) != 0)
            goto fail;
    }
    for (int i = 0; i < g->n_works; i++) {
        gg_work *w = &g->works[i];
        char norm[200];
        fold_name(w->title, norm, sizeof norm);
        char date[16];
        if (w->year && i % 2)
            snprintf(date, sizeof date, "%04d-%02d-%02d", w->year, 1 + i % 12, 1 + i % 28);
        pgr_work_rec wr = {.title = w->title, .norm_title = norm, .year = w->year,
                           .date = w->year && i % 2 ? date : NULL, .type = w->type,
                           .venue = w->venue >= 0 ? venues[w->venue] : NULL,
                           .abstract = i % 4 ? w->abstract : NULL, .arxiv_id = w->arxiv,
                           .doi = w->doi[0] ? w->doi : NULL, .cited_by_count = w->cites,
                           .has_code = w->has_code, .score = i % 5 ? NAN : 0.5 * i,
                           .authors_truncated = w->truncated ? "et al." : NULL};
        if (pgr_work_upsert(s, g->src, 0, &wr, &w->id, NULL, err) != 0)
            goto fail;
        for (int k = 0; k < w->n_auth; k++)
            if (pgr_authorship_put(s, g->src, w->id, g->author_ids[w->auth[k]], k + 1,
                                   g->author_names[w->auth[k]], k == 0 ? "Stanford" : NULL,
                                   k == 0 ? inst : 0, err) != 0)
                goto fail;
        for (int k = 0; k < w->n_topics; k++)
            if (pgr_work_topic_put(s, g->src, w->id, g->topic_ids[w->topics[k]],
                                   1.0 / (k + 1), err) != 0)
                goto fail;
        if (w->year && pgr_work_counts_put(s, g->src, w->id, w->year, w->cites / 2, err) != 0)
            goto fail;
    }
    /* citations: each work cites up to 3 earlier works, and one unknown paper */
    for (int i = 1; i < g->n_works; i++) {
        for (int k = 1; k <= 3 && k <= i; k += 1 + i % 2) {
            char ref[48];
            snprintf(ref, sizeof ref, "arxiv:%s", g->works[i - k].arxiv);
            if (pgr_citation_put(s, g->src, g->works[i].id, ref, 0, err) != 0)
                goto fail;
        }
        if (i % 10 == 0 && pgr_citation_put(s, g->src, g->works[i].id, "doi:10.9999/missing", 0,
                                            err) != 0)
            goto fail;
    }
    if (g->n_authors > 0) {
        if (pgr_claim_put(s, g->src, g->author_ids[0], "h_index", "h-index: 12", 12, "2026-11-22",
                          err) != 0 ||
            pgr_claim_put(s, g->src, g->author_ids[0], "trust", "Trust 21 - Emerging", 21,
                          "2026-11-22", err) != 0 ||
            pgr_ownership_put(s, g->src, g->author_ids[0], "inferred", 0.875,
                              g->n_authors > 1 ? g->author_names[1] : NULL, 0.125,
                              "appears on 7 of 8 entries", err) != 0 ||
            pgr_author_counts_put(s, g->src, g->author_ids[0], 2025, 4, 100, err) != 0)
            goto fail;
    }
    if (pgr_metrics_recompute_dirty(s, err) != 0)
        goto fail;
    return pgr_commit(s, err);
fail:
    pgr_rollback(s, NULL);
    return -1;
}
