/* Bulk loading of generated graphs (see graph.h, "bulk loading"): rows are
 * buffered per table as JSON arrays and written many to a statement, the
 * database expanding the one JSON parameter (json_each on SQLite,
 * json_array_elements on PostgreSQL; both name the element `value`, and
 * `->>` reads an array element as text in both). No identity lookups, no
 * provenance, no per-row full text: the caller promises new rows in an
 * empty graph, and pgr_bulk_finish builds full text and metrics once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/store_impl.h"

#define OOM(err) pgr_errf(err, PGR_ENOMEM, "out of memory")
#define BULK_ROWS 2000 /* rows per statement */

/* Tables in the order they are written (foreign keys point backwards). */
enum { BK_AUTHORS, BK_AUTHOR_INSTS, BK_WORKS, BK_AUTHORSHIPS, BK_WORK_TOPICS, BK_CITATIONS, BK_N };

/* %s = the dialect's JSON array expander. ::casts are PostgreSQL's (the
 * SQLite backend drops them; its ->> already yields integers and reals).
 * WHERE true: SQLite would read the ON of ON CONFLICT as a join's. */
static const char *const bulk_sql[BK_N] = {
    "INSERT INTO authors (id, display_name, norm_name) SELECT (value->>0)::bigint, "
    "value->>1, value->>2 FROM %s($1::json) WHERE true",
    "INSERT INTO author_institutions (author_id, institution_id, year) SELECT "
    "(value->>0)::bigint, (value->>1)::bigint, 0 FROM %s($1::json) WHERE true "
    "ON CONFLICT DO NOTHING",
    "INSERT INTO works (id, arxiv_id, doi, title, norm_title, year, date, sort_date, type, "
    "venue_id, abstract, src_cited_by_count, cited_by_count, has_code, score) SELECT "
    "(value->>0)::bigint, value->>1, value->>2, value->>3, value->>4, (value->>5)::bigint, "
    "value->>6, value->>7, value->>8, (value->>9)::bigint, value->>10, (value->>11)::bigint, "
    "COALESCE((value->>11)::bigint, 0), (value->>12)::bigint, (value->>13)::float8 "
    "FROM %s($1::json) WHERE true",
    "INSERT INTO authorships (work_id, author_id, position) SELECT (value->>0)::bigint, "
    "(value->>1)::bigint, (value->>2)::bigint FROM %s($1::json) WHERE true "
    "ON CONFLICT DO NOTHING",
    "INSERT INTO work_topics (work_id, topic_id, weight) SELECT (value->>0)::bigint, "
    "(value->>1)::bigint, (value->>2)::float8 FROM %s($1::json) WHERE true "
    "ON CONFLICT DO NOTHING",
    "INSERT INTO citations (citing_id, ref, cited_id) SELECT (value->>0)::bigint, value->>1, "
    "(value->>2)::bigint FROM %s($1::json) WHERE true ON CONFLICT DO NOTHING",
};
static const char *const bulk_names[BK_N] = {"bulk_authors",     "bulk_author_institutions",
                                             "bulk_works",       "bulk_authorships",
                                             "bulk_work_topics", "bulk_citations"};

struct pgr_bulk {
    pgr_sb rows[BK_N]; /* "[[...],[...]" without the closing bracket */
    int n[BK_N];
    pgr_id max_work, max_author;
};

/* A JSON string (or null) appended to sb. */
void pgr_json_str(pgr_sb *sb, const char *v)
{
    if (!v) {
        pgr_sb_puts(sb, "null");
        return;
    }
    pgr_sb_putc(sb, '"');
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p == '"' || *p == '\\') {
            pgr_sb_putc(sb, '\\');
            pgr_sb_putc(sb, (char)*p);
        } else if (*p < 0x20) {
            pgr_sb_printf(sb, "\\u%04x", *p);
        } else {
            pgr_sb_putc(sb, (char)*p);
        }
    }
    pgr_sb_putc(sb, '"');
}

static void j_int(pgr_sb *sb, int64_t v, int null_if_negative)
{
    if (null_if_negative && v < 0)
        pgr_sb_puts(sb, "null");
    else
        pgr_sb_printf(sb, "%lld", (long long)v);
}

static int bulk_flush_table(pgr_store *s, int t, pgr_err *err)
{
    pgr_bulk *b = s->bulk;
    if (!b->n[t])
        return 0;
    pgr_sb_putc(&b->rows[t], ']');
    if (!pgr_sb_ok(&b->rows[t]))
        return OOM(err);
    char sql[1024];
    snprintf(sql, sizeof sql, bulk_sql[t],
             !strcmp(s->be->name, "sqlite") ? "json_each" : "json_array_elements");
    pgr_stmt *st = pgr_st_dyn(s, bulk_names[t], sql, err);
    if (!st)
        return -1;
    pgr_bind_text(st, 1, b->rows[t].data);
    int rc = pgr_exec_st(st, err);
    pgr_sb_reset(&b->rows[t]);
    b->n[t] = 0;
    s->wrote = 1;
    return rc;
}

int pgr_bulk_flush(pgr_store *s, pgr_err *err)
{
    if (!s->bulk)
        return 0;
    for (int t = 0; t < BK_N; t++)
        if (bulk_flush_table(s, t, err) != 0)
            return -1;
    return 0;
}

/* Starts a row of table t; flushes everything first when t's buffer is full
 * (all tables, in order, so that foreign keys find their rows). */
static pgr_sb *row(pgr_store *s, int t, pgr_err *err)
{
    if (!s->in_tx) {
        pgr_errf(err, PGR_EINVAL, "%s: bulk rows need a transaction (pgr_begin)", bulk_names[t]);
        return NULL;
    }
    if (!s->bulk) {
        /* the ids the caller assigns and pgr_bulk_finish's full text assume it */
        pgr_id any = 0;
        pgr_stmt *st = pgr_st_dyn(s, "bulk_empty",
                                  "SELECT id FROM works UNION ALL SELECT id FROM authors LIMIT 1",
                                  err);
        if (!st || pgr_query_id(st, &any, err) != 0)
            return NULL;
        if (any) {
            pgr_errf(err, PGR_EINVAL, "%s: bulk loading needs a graph without works and authors",
                     bulk_names[t]);
            return NULL;
        }
        /* SQLite's default 64 MiB page cache holds the works indexes (random
         * keys: titles, arXiv ids) up to about 200k works; beyond, every
         * insert reads and writes back pages it just evicted, and 1M works
         * took an hour instead of minutes. A bulk load is a one-shot
         * process: the cache it grows dies with the connection. */
        if (!strcmp(s->be->name, "sqlite") &&
            s->be->exec(s, "bulk_cache", "PRAGMA cache_size=-1048576", err) != 0)
            return NULL;
        s->bulk = calloc(1, sizeof *s->bulk);
        if (!s->bulk) {
            OOM(err);
            return NULL;
        }
    }
    pgr_bulk *b = s->bulk;
    if (b->n[t] >= BULK_ROWS && pgr_bulk_flush(s, err) != 0)
        return NULL;
    pgr_sb *sb = &b->rows[t];
    pgr_sb_putc(sb, b->n[t]++ ? ',' : '[');
    pgr_sb_putc(sb, '[');
    return sb;
}

int pgr_bulk_author(pgr_store *s, pgr_id id, const char *display_name, const char *norm_name,
                    pgr_err *err)
{
    if (id <= 0 || !display_name || !norm_name)
        return pgr_errf(err, PGR_EINVAL, "bulk_author: id, display_name and norm_name needed");
    pgr_sb *sb = row(s, BK_AUTHORS, err);
    if (!sb)
        return -1;
    j_int(sb, id, 0);
    pgr_sb_putc(sb, ',');
    pgr_json_str(sb, display_name);
    pgr_sb_putc(sb, ',');
    pgr_json_str(sb, norm_name);
    pgr_sb_putc(sb, ']');
    if (id > s->bulk->max_author)
        s->bulk->max_author = id;
    return pgr_sb_ok(sb) ? 0 : OOM(err);
}

/* Edges: a row of integers (and one text for citations). */
static int edge_row(pgr_store *s, int t, pgr_id a, pgr_id b, const char *text, double w,
                    pgr_err *err)
{
    pgr_sb *sb = row(s, t, err);
    if (!sb)
        return -1;
    j_int(sb, a, 0);
    pgr_sb_putc(sb, ',');
    if (t == BK_CITATIONS) {
        pgr_json_str(sb, text);
        pgr_sb_putc(sb, ',');
        j_int(sb, b > 0 ? b : -1, 1);
    } else {
        j_int(sb, b, 0);
    }
    if (t == BK_AUTHORSHIPS)
        pgr_sb_printf(sb, ",%d", (int)w);
    else if (t == BK_WORK_TOPICS)
        pgr_sb_printf(sb, ",%.17g", w);
    pgr_sb_putc(sb, ']');
    return pgr_sb_ok(sb) ? 0 : OOM(err);
}

int pgr_bulk_author_institution(pgr_store *s, pgr_id author, pgr_id institution, pgr_err *err)
{
    return edge_row(s, BK_AUTHOR_INSTS, author, institution, NULL, 0, err);
}

int pgr_bulk_work(pgr_store *s, pgr_id id, const pgr_work_rec *w, pgr_err *err)
{
    if (id <= 0 || !w->title || !w->norm_title)
        return pgr_errf(err, PGR_EINVAL, "bulk_work: id, title and norm_title needed");
    pgr_id vid = 0;
    if (pgr_venue_id(s, w->venue, &vid, err) != 0)
        return -1;
    char sort_date[16];
    pgr_sort_date(w, sort_date);
    pgr_sb *sb = row(s, BK_WORKS, err);
    if (!sb)
        return -1;
    j_int(sb, id, 0);
    pgr_sb_putc(sb, ',');
    pgr_json_str(sb, w->arxiv_id);
    pgr_sb_putc(sb, ',');
    pgr_json_str(sb, w->doi);
    pgr_sb_putc(sb, ',');
    pgr_json_str(sb, w->title);
    pgr_sb_putc(sb, ',');
    pgr_json_str(sb, w->norm_title);
    pgr_sb_putc(sb, ',');
    j_int(sb, w->year > 0 ? w->year : -1, 1);
    pgr_sb_putc(sb, ',');
    pgr_json_str(sb, w->date);
    pgr_sb_putc(sb, ',');
    pgr_json_str(sb, sort_date);
    pgr_sb_putc(sb, ',');
    pgr_json_str(sb, w->type);
    pgr_sb_putc(sb, ',');
    j_int(sb, vid > 0 ? vid : -1, 1);
    pgr_sb_putc(sb, ',');
    pgr_json_str(sb, w->abstract);
    pgr_sb_putc(sb, ',');
    j_int(sb, w->cited_by_count, 1);
    pgr_sb_putc(sb, ',');
    j_int(sb, w->has_code, 1);
    pgr_sb_putc(sb, ',');
    if (w->score == w->score) /* not NAN */
        pgr_sb_printf(sb, "%.17g", w->score);
    else
        pgr_sb_puts(sb, "null");
    pgr_sb_putc(sb, ']');
    if (id > s->bulk->max_work)
        s->bulk->max_work = id;
    return pgr_sb_ok(sb) ? 0 : OOM(err);
}

int pgr_bulk_authorship(pgr_store *s, pgr_id work, pgr_id author, int position, pgr_err *err)
{
    return edge_row(s, BK_AUTHORSHIPS, work, author, NULL, position, err);
}

int pgr_bulk_work_topic(pgr_store *s, pgr_id work, pgr_id topic, double weight, pgr_err *err)
{
    return edge_row(s, BK_WORK_TOPICS, work, topic, NULL, weight, err);
}

int pgr_bulk_citation(pgr_store *s, pgr_id citing, const char *ref, pgr_id cited, pgr_err *err)
{
    if (!ref)
        return pgr_errf(err, PGR_EINVAL, "bulk_citation: ref needed");
    return edge_row(s, BK_CITATIONS, citing, cited, ref, 0, err);
}

/* PostgreSQL's identity sequences did not see the explicit ids. */
static int fix_sequences(pgr_store *s, pgr_err *err)
{
    if (strcmp(s->be->name, "postgres") != 0)
        return 0;
    return s->be->exec(
        s, "bulk_sequences",
        "SELECT setval(pg_get_serial_sequence('works', 'id'), "
        "GREATEST((SELECT MAX(id) FROM works), 1)); "
        "SELECT setval(pg_get_serial_sequence('authors', 'id'), "
        "GREATEST((SELECT MAX(id) FROM authors), 1));",
        err);
}

int pgr_bulk_finish(pgr_store *s, pgr_err *err)
{
    if (!s->bulk)
        return 0;
    pgr_bulk *b = s->bulk;
    int rc = pgr_bulk_flush(s, err);
    /* full text of every bulk row, written when the transaction commits */
    for (pgr_id i = 1; rc == 0 && i <= b->max_work; i++)
        if (pgr_idset_add(&s->fts_works, i) != 0)
            rc = OOM(err);
    for (pgr_id i = 1; rc == 0 && i <= b->max_author; i++)
        if (pgr_idset_add(&s->fts_authors, i) != 0)
            rc = OOM(err);
    if (rc == 0)
        rc = fix_sequences(s, err);
    pgr_bulk_discard(s);
    return rc;
}

void pgr_bulk_discard(pgr_store *s)
{
    if (!s->bulk)
        return;
    for (int t = 0; t < BK_N; t++)
        pgr_sb_free(&s->bulk->rows[t]);
    free(s->bulk);
    s->bulk = NULL;
}
