/* The graph builder on real stores (a SQLite file, and the PostgreSQL server
 * of PEERGRAPH_TEST_PG): identity of works and authors, merges and their
 * undo, page owners, unchanged and changed files, rejected files.
 * Records are constructed here (the parsers have their own tests); the
 * results are read back with plain SQL, not through the code under test. */
#include "tests/check.h"

#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include "graph/graph.h"
#include "indexer/builder.h"
#include "indexer/ingest.h"

/* ---- a database per test, on each backend ------------------------------ */

typedef struct db {
    int pg;
    char url[512];
    char path[400];     /* sqlite file */
    char pg_name[64];   /* postgres database */
    sqlite3 *lite;
    PGconn *conn;
} db;

static int seq_;

static const char *tmpdir(void)
{
    const char *t = getenv("PEERGRAPH_TEST_TMP");
    return t && *t ? t : "/tmp";
}

/* URL of database name on the server of base (replaces the path). */
static void pg_url_with_db(const char *base, const char *name, char *out, size_t n)
{
    const char *scheme = strstr(base, "://");
    const char *slash = scheme ? strchr(scheme + 3, '/') : NULL;
    size_t head = slash ? (size_t)(slash - base) : strlen(base);
    const char *q = slash ? strchr(slash, '?') : NULL;
    snprintf(out, n, "%.*s/%s%s", (int)head, base, name, q ? q : "");
}

/* Opens a fresh database; returns 0, or 1 to skip (no PostgreSQL). */
static int db_open(db *d, int pg)
{
    memset(d, 0, sizeof *d);
    d->pg = pg;
    seq_++;
    if (!pg) {
        snprintf(d->path, sizeof d->path, "%s/builder_%d_%d.db", tmpdir(), (int)getpid(), seq_);
        unlink(d->path);
        snprintf(d->url, sizeof d->url, "sqlite:%s", d->path);
        return 0;
    }
    const char *base = getenv("PEERGRAPH_TEST_PG");
    if (!base || !*base)
        return 1;
    snprintf(d->pg_name, sizeof d->pg_name, "builder_%d_%d", (int)getpid(), seq_);
    PGconn *c = PQconnectdb(base);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "    cannot connect to %s: %s", base, PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", d->pg_name);
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    PQfinish(c);
    if (!ok)
        return -1;
    pg_url_with_db(base, d->pg_name, d->url, sizeof d->url);
    return 0;
}

static void db_close(db *d)
{
    if (d->lite)
        sqlite3_close(d->lite);
    if (d->conn)
        PQfinish(d->conn);
    d->lite = NULL;
    d->conn = NULL;
    if (!d->pg && d->path[0]) {
        unlink(d->path);
        char p[420];
        snprintf(p, sizeof p, "%s.lock", d->path);
        unlink(p);
        snprintf(p, sizeof p, "%s-wal", d->path);
        unlink(p);
        snprintf(p, sizeof p, "%s-shm", d->path);
        unlink(p);
    }
    if (d->pg) {
        PGconn *c = PQconnectdb(getenv("PEERGRAPH_TEST_PG"));
        char sql[128];
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", d->pg_name);
        PQclear(PQexec(c, sql));
        PQfinish(c);
    }
}

/* Runs a query returning one text cell (NULL -> "(null)"); "<error>" on failure. */
static char cell_[4096];
static const char *q1(db *d, const char *sql)
{
    snprintf(cell_, sizeof cell_, "<error>");
    if (!d->pg) {
        if (!d->lite && sqlite3_open(d->path, &d->lite) != SQLITE_OK)
            return cell_;
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(d->lite, sql, -1, &st, NULL) != SQLITE_OK) {
            fprintf(stderr, "    sql: %s: %s\n", sql, sqlite3_errmsg(d->lite));
            return cell_;
        }
        if (sqlite3_step(st) == SQLITE_ROW) {
            const unsigned char *t = sqlite3_column_text(st, 0);
            snprintf(cell_, sizeof cell_, "%s", t ? (const char *)t : "(null)");
        } else {
            snprintf(cell_, sizeof cell_, "(no row)");
        }
        sqlite3_finalize(st);
        return cell_;
    }
    if (!d->conn)
        d->conn = PQconnectdb(d->url);
    PGresult *r = PQexec(d->conn, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fprintf(stderr, "    sql: %s: %s", sql, PQerrorMessage(d->conn));
    else if (PQntuples(r) == 0)
        snprintf(cell_, sizeof cell_, "(no row)");
    else
        snprintf(cell_, sizeof cell_, "%s", PQgetisnull(r, 0, 0) ? "(null)" : PQgetvalue(r, 0, 0));
    PQclear(r);
    return cell_;
}

static long qn(db *d, const char *sql)
{
    const char *v = q1(d, sql);
    char *end;
    long n = strtol(v, &end, 10);
    return *end ? -999 : n;
}

/* ---- record construction ---------------------------------------------- */

static ix_work work(const char *title, int year)
{
    ix_work w;
    memset(&w, 0, sizeof w);
    w.title = title;
    w.year = year;
    w.has_code = -1;
    w.score = NAN;
    w.cited_by_count = -1;
    w.line = 1;
    return w;
}

#define AUTH(name) {.raw_name = name, .display_name = name}

static int feed(ix_builder *b, const char *uri, const char *sha, const ix_profile *p,
                const ix_work *ws, size_t n, int ok)
{
    pgr_err err = {0};
    ix_sink sink;
    if (ix_builder_source_begin(b, uri, "test", sha, "2026-11-22", &sink, &err) < 0) {
        fprintf(stderr, "    begin %s: %s\n", uri, err.msg);
        return -1;
    }
    int good = 1;
    if (p && sink.profile(sink.ctx, p, &err) < 0)
        good = 0;
    for (size_t i = 0; good && i < n; i++)
        if (sink.work(sink.ctx, &ws[i], &err) < 0) {
            fprintf(stderr, "    work %zu of %s: %s\n", i, uri, err.msg);
            good = 0;
        }
    if (ix_builder_source_end(b, good && ok, &err) < 0)
        return good && ok ? (fprintf(stderr, "    end %s: %s\n", uri, err.msg), -1) : 1;
    return 0;
}

typedef struct env {
    db d;
    pgr_store *s;
    ix_builder *b;
} env;

static int env_open(env *e, int pg)
{
    memset(e, 0, sizeof *e);
    int r = db_open(&e->d, pg);
    if (r)
        return r;
    pgr_err err = {0};
    if (pgr_store_open(e->d.url, &e->s, &err) < 0 || ix_builder_new(e->s, 0, &e->b, &err) < 0) {
        fprintf(stderr, "    open %s: %s\n", e->d.url, err.msg);
        return -1;
    }
    return 0;
}

static void env_close(env *e)
{
    ix_builder_free(e->b);
    pgr_store_close(e->s);
    db_close(&e->d);
}

#define OPEN_ENV(e, pg)                                                                    \
    do {                                                                                   \
        int r_ = env_open(&(e), pg);                                                       \
        if (r_ == 1)                                                                       \
            SKIP("PEERGRAPH_TEST_PG not set");                                             \
        CHECK_MSG(r_ == 0, "cannot open a %s store", pg ? "postgres" : "sqlite");          \
    } while (0)

/* ---- the PreFT case: one paper on two pages ------------------------------ */

static void preft_case(int pg)
{
    env e;
    OPEN_ENV(e, pg);
    /* page 1: header owner, entries without author lists (as on 000) */
    ix_profile p1 = {.site = "researchgraph", .owner_name = "Zhengxuan Wu",
                     .method = IX_OWNER_HEADER, .confidence = 1.0,
                     .runner_up_confidence = NAN, .evidence = "named in the page header"};
    ix_claim c1[] = {{"trust", "Trust 21 - Emerging", 21}, {"followers", "0followers", 0}};
    p1.claims = c1;
    p1.n_claims = 2;
    ix_work w1[2] = {work("PreFT: Prefill-only finetuning for efficient inference", 2026),
                     work("Causal Distillation for Language Models", 2022)};
    w1[0].type = "preprint";
    w1[0].venue = "arXiv";
    CHECK(feed(e.b, "page000", "aa", &p1, w1, 2, 1) == 0);

    /* page 2: the same PreFT with its arXiv id and a truncated author list */
    ix_author_ref a1[] = {AUTH("Andrew Lanpouthakoun"), AUTH("Aryaman Arora"),
                          AUTH("Zhengxuan Wu"), AUTH("Dhruv Pai"), AUTH("Benjamin Keigwin")};
    ix_author_ref a2[] = {AUTH("Aryaman Arora"), AUTH("Zhengxuan Wu"), AUTH("Jacob Steinhardt"),
                          AUTH("Sarah Schwettmann")};
    ix_topic_ref t1[] = {{.scheme = "arxiv", .code = "cs.CL", .score = NAN},
                         {.scheme = "site", .code = "LG", .score = NAN}};
    ix_work w2[2] = {work("PreFT: Prefill-Only Finetuning for Efficient Inference", 2026),
                     work("Language Model Circuits Are Sparse in the Neuron Basis", 2026)};
    w2[0].arxiv_id = "2605.14217";
    w2[0].arxiv_version = 1;
    w2[0].date = "2026-05-14";
    w2[0].authors = a1;
    w2[0].n_authors = 5;
    w2[0].authors_truncated = "+2";
    w2[0].cited_by_count = 0;
    w2[0].topics = t1;
    w2[0].n_topics = 2;
    w2[1].arxiv_id = "2601.22594";
    w2[1].authors = a2;
    w2[1].n_authors = 4;
    w2[1].cited_by_count = 11;
    ix_profile p2 = {.site = "arxiv-profile", .owner_name = "Zhengxuan Wu",
                     .method = IX_OWNER_HEADER, .confidence = 1.0, .runner_up_confidence = NAN};
    CHECK(feed(e.b, "page001", "bb", &p2, w2, 2, 1) == 0);

    CHECK_INT(qn(&e.d, "SELECT COUNT(*) FROM works"), 3);
    CHECK_STR(q1(&e.d, "SELECT arxiv_id FROM works WHERE norm_title LIKE 'preft%'"), "2605.14217");
    CHECK_INT(qn(&e.d, "SELECT COUNT(DISTINCT p.source_id) FROM provenance p JOIN works w ON "
                       "p.kind = 1 AND p.fact_id = w.id WHERE w.arxiv_id = '2605.14217'"),
              2);
    /* one Zhengxuan Wu, with all three works (two of them inferred from page 1) */
    CHECK_INT(qn(&e.d, "SELECT COUNT(*) FROM authors WHERE norm_name = 'zhengxuan wu' AND "
                       "merged_into IS NULL"),
              1);
    CHECK_INT(qn(&e.d, "SELECT COUNT(*) FROM authorships s JOIN authors a ON a.id = s.author_id "
                       "WHERE a.norm_name = 'zhengxuan wu'"),
              3);
    CHECK_INT(qn(&e.d, "SELECT COUNT(*) FROM authorships s JOIN authors a ON a.id = s.author_id "
                       "WHERE a.norm_name = 'zhengxuan wu' AND s.raw_name IS NULL"),
              1); /* Causal Distillation: printed nowhere, the page's owner */
    /* Aryaman Arora: one person on two works (shared co-author) */
    CHECK_INT(qn(&e.d, "SELECT COUNT(*) FROM authors WHERE norm_name = 'aryaman arora'"), 1);
    CHECK_INT(qn(&e.d, "SELECT COUNT(*) FROM authorships s JOIN authors a ON a.id = s.author_id "
                       "WHERE a.norm_name = 'aryaman arora'"),
              2);
    /* site code LG became the arXiv category with its name */
    CHECK_STR(q1(&e.d, "SELECT display_name FROM topics WHERE scheme = 'arxiv' AND code = 'cs.LG'"),
              "Machine Learning");
    CHECK_INT(qn(&e.d, "SELECT COUNT(*) FROM ownership o JOIN authors a ON a.id = o.author_id "
                       "WHERE a.norm_name = 'zhengxuan wu' AND o.method = 'header'"),
              2);
    CHECK_STR(q1(&e.d, "SELECT text FROM claims WHERE name = 'trust'"), "Trust 21 - Emerging");
    CHECK_STR(q1(&e.d, "SELECT capture_date FROM claims WHERE name = 'trust'"), "2026-11-22");
    CHECK_INT(qn(&e.d, "SELECT COUNT(*) FROM author_merges"), 0);
    env_close(&e);
}
static void test_preft_sqlite(void) { preft_case(0); }
static void test_preft_pg(void) { preft_case(1); }

/* ---- similar names stay apart; same name needs evidence; merge + undo ---- */

static void names_case(int pg)
{
    env e;
    OPEN_ENV(e, pg);
    ix_author_ref a1[] = {AUTH("Zhengxuan Wu"), AUTH("Zhengxiao Liu")};
    ix_author_ref a2[] = {AUTH("Liangyu Wang"), AUTH("Xinhai Wang"), AUTH("Di Wang")};
    ix_work w1[2] = {work("Paper one", 2024), work("Paper two", 2024)};
    w1[0].authors = a1;
    w1[0].n_authors = 2;
    w1[1].authors = a2;
    w1[1].n_authors = 3;
    CHECK(feed(e.b, "s1", "1", NULL, w1, 2, 1) == 0);
    CHECK_INT(qn(&e.d, "SELECT COUNT(*) FROM authors"), 5);

    /* the same name on two unrelated works: two people until evidence */
    ix_author_ref x[] = {AUTH("Wei Wang"), AUTH("Lei Zhang")};
    ix_author_ref y[] = {AUTH("Wei Wang"), AUTH("Hao Li")};
    ix_work wx = work("Work X", 2020), wy = work("Work Y", 2021);
    wx.authors = x;
    wx.n_authors = 2;
    wy.authors = y;
    wy.n_authors = 2;
    CHECK(feed(e.b, "s2", "2", NULL, &wx, 1, 1) == 0);
    CHECK(feed(e.b, "s3", "3", NULL, &wy, 1, 1) == 0);
    CHECK_INT(qn(&e.d, "SELECT COUNT(*) FROM authors WHERE norm_name = 'wei wang'"), 2);
    CHECK_INT(qn(&e.d, "SELECT COUNT(*) FROM author_merges"), 0);

    /* a work with Wei Wang, Lei Zhang and Hao Li: both Wei Wangs share a
     * co-author with it, so they are one person: merged, with evidence */
    ix_author_ref z[] = {AUTH("Wei Wang"), AUTH("Lei Zhang"), AUTH("Hao Li")};
    ix_work wz = work("Work Z", 2022);
    wz.authors = z;
    wz.n_authors = 3;
    CHECK(feed(e.b, "s4", "4", NULL, &wz, 1, 1) == 0);
    CHECK_INT(qn(&e.d, "SELECT COUNT(*) FROM authors WHERE norm_name = 'wei wang' AND "
                       "merged_into IS NULL"),
              1);
    CHECK_INT(qn(&e.d, "SELECT COUNT(*) FROM author_merges"), 1);
    CHECK(strstr(q1(&e.d, "SELECT evidence FROM author_merges"), "co-author") != NULL);
    CHECK_INT(ix_builder_stats(e.b)->merges, 1);
    CHECK_INT(qn(&e.d, "SELECT COUNT(*) FROM authorships s JOIN authors a ON a.id = s.author_id "
                       "WHERE a.norm_name = 'wei wang' AND a.merged_into IS NULL"),
              3);

    /* undo */
    pgr_err err = {0};
    long mid = qn(&e.d, "SELECT id FROM author_merges");
    CHECK_MSG(pgr_author_unmerge(e.s, mid, &err) == 0, "unmerge: %s", err.msg);
    CHECK_INT(qn(&e.d, "SELECT COUNT(*) FROM authors WHERE norm_name = 'wei wang' AND "
                       "merged_into IS NULL"),
              2);
    env_close(&e);
}
static void test_names_sqlite(void) { names_case(0); }
static void test_names_pg(void) { names_case(1); }

/* ---- inferred owner hidden by a truncated list ---------------------------- */

static void owner_case(int pg)
{
    env e;
    OPEN_ENV(e, pg);
    ix_profile p = {.site = "metrics-card", .owner_name = "Liangyu Wang",
                    .method = IX_OWNER_INFERRED, .confidence = 0.9, .runner_up = "Huanyi Xie",
                    .runner_up_confidence = 0.6,
                    .evidence = "on 9 of 10 entries; hidden by et al. on 1"};
    ix_author_ref v1[] = {AUTH("Liangyu Wang"), AUTH("Huanyi Xie"), AUTH("Di Wang")};
    ix_author_ref v2[] = {AUTH("Difei Xu"), AUTH("Meng Ding"), AUTH("Zebin Ma")};
    ix_work w[2] = {work("DistZO2: High-Throughput Zeroth-Order Fine-tuning", 2025),
                    work("Differentially Private Non-convex Optimization", 2026)};
    w[0].authors = v1;
    w[0].n_authors = 3;
    w[1].authors = v2;
    w[1].n_authors = 3;
    w[1].authors_truncated = "et al.";
    CHECK(feed(e.b, "page002", "c2", &p, w, 2, 1) == 0);
    CHECK_INT(qn(&e.d, "SELECT COUNT(*) FROM authors WHERE norm_name = 'liangyu wang'"), 1);
    CHECK_INT(qn(&e.d, "SELECT COUNT(*) FROM authorships s JOIN authors a ON a.id = s.author_id "
                       "WHERE a.norm_name = 'liangyu wang'"),
              2);
    CHECK_INT(qn(&e.d, "SELECT s.position FROM authorships s JOIN authors a ON a.id = s.author_id "
                       "JOIN works w ON w.id = s.work_id WHERE a.norm_name = 'liangyu wang' AND "
                       "s.raw_name IS NULL"),
              4);
    CHECK_STR(q1(&e.d, "SELECT method FROM ownership"), "inferred");
    CHECK_STR(q1(&e.d, "SELECT runner_up FROM ownership"), "Huanyi Xie");
    CHECK(fabs(atof(q1(&e.d, "SELECT confidence FROM ownership")) - 0.9) < 1e-9);
    env_close(&e);
}
static void test_owner_sqlite(void) { owner_case(0); }
static void test_owner_pg(void) { owner_case(1); }

/* ---- a rolled-back source leaves nothing ---------------------------------- */

static void rollback_case(int pg)
{
    env e;
    OPEN_ENV(e, pg);
    ix_author_ref a[] = {AUTH("Ada Lovelace")};
    ix_work w[2] = {work("Notes on the Analytical Engine", 1843), work("", 1843)};
    w[0].authors = a;
    w[0].n_authors = 1;
    /* the second work has no title: the parser-level error rolls back both */
    CHECK(feed(e.b, "bad", "x", NULL, w, 2, 1) == 1);
    CHECK_INT(qn(&e.d, "SELECT COUNT(*) FROM works"), 0);
    CHECK_INT(qn(&e.d, "SELECT COUNT(*) FROM authors"), 0);
    CHECK_INT(qn(&e.d, "SELECT COUNT(*) FROM source_docs"), 0);
    CHECK_INT(ix_builder_stats(e.b)->files_rejected, 1);
    /* and the same file, good, lands */
    CHECK(feed(e.b, "bad", "y", NULL, w, 1, 1) == 0);
    CHECK_INT(qn(&e.d, "SELECT COUNT(*) FROM works"), 1);
    env_close(&e);
}
static void test_rollback_sqlite(void) { rollback_case(0); }
static void test_rollback_pg(void) { rollback_case(1); }

/* ---- same title and year: one work unless the ids disagree ---------------- */

static void title_case(int pg)
{
    env e;
    OPEN_ENV(e, pg);
    ix_work w[3] = {work("Introduction", 2020), work("Introduction", 2020),
                    work("INTRODUCTION.", 2020)};
    w[0].arxiv_id = "2001.00001";
    w[1].arxiv_id = "2001.00002"; /* another paper that happens to share the title */
    CHECK(feed(e.b, "a", "1", NULL, w, 2, 1) == 0);
    CHECK_INT(qn(&e.d, "SELECT COUNT(*) FROM works"), 2);
    CHECK(feed(e.b, "b", "2", NULL, &w[2], 1, 1) == 0); /* no id: joins the first */
    CHECK_INT(qn(&e.d, "SELECT COUNT(*) FROM works"), 2);
    CHECK_INT(qn(&e.d, "SELECT COUNT(*) FROM provenance p JOIN works w ON p.kind = 1 AND "
                       "p.fact_id = w.id WHERE w.arxiv_id = '2001.00001'"),
              2);
    env_close(&e);
}
static void test_title_sqlite(void) { title_case(0); }
static void test_title_pg(void) { title_case(1); }

/* ---- the same paper under two arXiv ids: the DOI decides ---------------- */

static void doi_case(int pg)
{
    env e;
    OPEN_ENV(e, pg);
    ix_work a = work("A study of shared things", 2021), b = work("Shared things, published", 2021);
    a.arxiv_id = "2101.00001";
    a.arxiv_version = 1;
    a.doi = "10.1000/xyz";
    b.arxiv_id = "2101.99999"; /* the other source names another arXiv id */
    b.arxiv_version = 3;
    b.doi = "10.1000/xyz";
    b.openalex_id = "W123";
    CHECK(feed(e.b, "arxiv", "1", NULL, &a, 1, 1) == 0);
    CHECK(feed(e.b, "openalex", "2", NULL, &b, 1, 1) == 0);
    CHECK_INT(qn(&e.d, "SELECT COUNT(*) FROM works"), 1);
    /* the work keeps its arXiv id and version, gains the OpenAlex id, and
     * both sources are its provenance */
    CHECK_STR(q1(&e.d, "SELECT arxiv_id || ' v' || arxiv_version || ' ' || openalex_id FROM works"),
              "2101.00001 v1 W123");
    CHECK_INT(qn(&e.d, "SELECT COUNT(*) FROM provenance WHERE kind = 1"), 2);
    /* a third record whose arXiv id is another work's and whose DOI is this
     * one's: it joins the DOI's work, and neither work loses or swaps an id */
    ix_work c = work("Something else entirely", 2022), d = work("Shared things again", 2021);
    c.arxiv_id = "2201.00002";
    d.arxiv_id = "2201.00002";
    d.doi = "10.1000/xyz";
    CHECK(feed(e.b, "arxiv2", "3", NULL, &c, 1, 1) == 0);
    CHECK(feed(e.b, "s2", "4", NULL, &d, 1, 1) == 0); /* no UNIQUE conflict: lands */
    CHECK_INT(qn(&e.d, "SELECT COUNT(*) FROM works"), 2);
    CHECK_STR(q1(&e.d, "SELECT arxiv_id FROM works WHERE doi = '10.1000/xyz'"), "2101.00001");
    CHECK_STR(q1(&e.d, "SELECT COALESCE(doi, '-') FROM works WHERE arxiv_id = '2201.00002'"), "-");
    CHECK_INT(qn(&e.d, "SELECT COUNT(*) FROM provenance p JOIN works w ON p.kind = 1 AND "
                       "p.fact_id = w.id WHERE w.doi = '10.1000/xyz'"),
              3);
    env_close(&e);
}
static void test_doi_sqlite(void) { doi_case(0); }
static void test_doi_pg(void) { doi_case(1); }

int main(void)
{
    RUN(test_preft_sqlite);
    RUN(test_preft_pg);
    RUN(test_names_sqlite);
    RUN(test_names_pg);
    RUN(test_owner_sqlite);
    RUN(test_owner_pg);
    RUN(test_rollback_sqlite);
    RUN(test_rollback_pg);
    RUN(test_title_sqlite);
    RUN(test_title_pg);
    RUN(test_doi_sqlite);
    RUN(test_doi_pg);
    return check_summary("test_builder");
}
