/* The write side of the store: upserts with provenance, deleting one source's
 * facts, merges, claims, ownership, adapters, and the full-text refresh at
 * commit. Written once for both backends over the statement table. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/store_impl.h"

/* Fact kinds of the provenance table (schema/sqlite/001_graph.sql). */
enum {
    FACT_WORK = 1,
    FACT_AUTHOR = 2,
    FACT_AUTHORSHIP = 3,
    FACT_WORK_TOPIC = 4,
    FACT_CITATION = 5,
    FACT_AUTHOR_NAME = 6,
    FACT_AUTHOR_INST = 7,
    FACT_WORK_COUNTS = 8,
    FACT_AUTHOR_COUNTS = 9,
    MOVE_CLAIM = 10,
    MOVE_OWNERSHIP = 11,
    MOVE_ADDED_NAME = 12,
    MOVE_ADAPTER = 13
};

#define OOM(err) pgr_errf(err, PGR_ENOMEM, "out of memory")

/* Provenance rows are buffered and written at commit (or before anything
 * reads provenance): an ingest writes one per fact. They are sorted first, so
 * the inserts walk the primary key in order and duplicates go. SQLite steps
 * one prepared single-row insert per row (in process: no parsing, no round
 * trip; building a 400-row VALUES text made its parser 6% of an ingest);
 * PostgreSQL gets PROV_BATCH rows a statement as one JSON array parameter
 * (one round trip each). */
#define PROV_BATCH 2000
#define PROV_BUFFER (1u << 20)

static int prov_cmp(const void *a, const void *b)
{
    const pgr_id *x = a, *y = b;
    for (int i = 0; i < 3; i++)
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    return 0;
}

int pgr_prov_flush(pgr_store *s, pgr_err *err)
{
    if (!s->prov_n)
        return 0;
    qsort(s->prov, s->prov_n, sizeof *s->prov, prov_cmp);
    int rc = 0;
    if (!strcmp(s->be->name, "sqlite")) {
        pgr_stmt *st = pgr_st_dyn(s, "provenance_add",
                                  "INSERT INTO provenance (kind, fact_id, source_id) VALUES ($1, "
                                  "$2, $3) ON CONFLICT DO NOTHING",
                                  err);
        if (!st)
            return -1;
        for (size_t k = 0; rc == 0 && k < s->prov_n; k++) {
            if (k && !prov_cmp(s->prov[k], s->prov[k - 1]))
                continue;
            pgr_bind_int(st, 1, s->prov[k][0]);
            pgr_bind_int(st, 2, s->prov[k][1]);
            pgr_bind_int(st, 3, s->prov[k][2]);
            rc = pgr_exec_st(st, err);
        }
    } else {
        pgr_sb js = {0};
        pgr_stmt *st = pgr_st_dyn(
            s, "provenance_add_many",
            "INSERT INTO provenance (kind, fact_id, source_id) SELECT (value->>0)::int, "
            "(value->>1)::bigint, (value->>2)::bigint FROM json_array_elements($1::json) "
            "ON CONFLICT DO NOTHING",
            err);
        if (!st)
            return -1;
        for (size_t i = 0; rc == 0 && i < s->prov_n;) {
            pgr_sb_reset(&js);
            pgr_sb_putc(&js, '[');
            size_t end = i + PROV_BATCH < s->prov_n ? i + PROV_BATCH : s->prov_n;
            for (size_t k = i; k < end; k++)
                pgr_sb_printf(&js, "%s[%lld,%lld,%lld]", k > i ? "," : "",
                              (long long)s->prov[k][0], (long long)s->prov[k][1],
                              (long long)s->prov[k][2]);
            pgr_sb_putc(&js, ']');
            if (!pgr_sb_ok(&js)) {
                rc = OOM(err);
                break;
            }
            pgr_bind_text(st, 1, js.data);
            rc = pgr_exec_st(st, err);
            i = end;
        }
        pgr_sb_free(&js);
    }
    if (rc == 0)
        s->prov_n = 0;
    return rc;
}

static int prov(pgr_store *s, pgr_id src, int kind, pgr_id fact, pgr_err *err)
{
    if (src <= 0 || fact <= 0)
        return 0;
    if (s->prov_n == s->prov_cap) {
        size_t cap = s->prov_cap ? s->prov_cap * 2 : 256, bytes;
        if (!pgr_mul_ok(cap, sizeof *s->prov, &bytes))
            return OOM(err);
        void *v = realloc(s->prov, bytes);
        if (!v)
            return OOM(err);
        s->prov = v;
        s->prov_cap = cap;
    }
    s->prov[s->prov_n][0] = kind;
    s->prov[s->prov_n][1] = fact;
    s->prov[s->prov_n][2] = src;
    s->prov_n++;
    /* written at commit or before a read of provenance; a very large file
     * writes them in pieces of PROV_BUFFER rows (24 MiB) */
    return s->prov_n >= PROV_BUFFER ? pgr_prov_flush(s, err) : 0;
}

/* Runs a statement that returns one id column (INSERT ... RETURNING id). */
static int run_id(pgr_stmt *st, pgr_id *out, pgr_err *err)
{
    if (pgr_query_id(st, out, err) != 0)
        return -1;
    if (*out <= 0)
        return pgr_errf(err, PGR_EINTERNAL, "%s: %s: returned no id", st->s->be->name, st->name);
    return 0;
}

static int find_text(pgr_store *s, int stmt, const char *v, pgr_id *out, pgr_err *err)
{
    *out = 0;
    if (!v)
        return 0;
    pgr_stmt *st = pgr_st(s, stmt, err);
    if (!st)
        return -1;
    pgr_bind_text(st, 1, v);
    return pgr_query_id(st, out, err);
}

static int mark(pgr_idset *set, pgr_id id, pgr_err *err)
{
    return pgr_idset_add(set, id) == 0 ? 0 : OOM(err);
}

/* The statement for an edge upsert ST_id (INSERT ... RETURNING id): on a
 * backend that queues writes (PostgreSQL) with a source, the variant that
 * writes the provenance row on the server (pgr_st_prov), so the write needs
 * no round trip of its own; otherwise ST_id itself. */
static pgr_stmt *edge_st(pgr_store *s, int id, pgr_id src, int kind, pgr_err *err)
{
    if (s->be->queue && src > 0)
        return pgr_st_prov(s, id, kind, err);
    return pgr_st(s, id, err);
}

/* Runs an edge upsert from edge_st (all its parameters bound) and records
 * its provenance: queued with the source as the last parameter, or run now
 * with the returned id kept for pgr_prov_flush. */
static int edge_write(pgr_store *s, pgr_stmt *st, pgr_id src, int kind, pgr_err *err)
{
    s->wrote = 1;
    if (s->be->queue) {
        if (src > 0)
            pgr_bind_int(st, st->n_params + 1, src);
        return pgr_exec_queued(st, err);
    }
    pgr_id id;
    if (run_id(st, &id, err) != 0)
        return -1;
    return prov(s, src, kind, id, err);
}

/* ---- client-side ids (PostgreSQL) ----
 * A new work's or author's id is handed out here so that its insert can be
 * queued like any write: the identity sequence's next value at the first
 * insert of the transaction, then one up each; pgr_commit sets the sequence
 * to the last one given (pgr_ids_sync), as nextval for each would have. The
 * ingest run lock keeps other writers of works and authors away meanwhile. */
static const char *const id_tables[2] = {"works", "authors"};

static int next_id(pgr_store *s, int which, pgr_id *id, pgr_err *err)
{
    if (!s->next_ids[which]) {
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT nextval(pg_get_serial_sequence('%s', 'id'))",
                 id_tables[which]);
        pgr_stmt *st = pgr_st_dyn(s, "next_id", sql, err);
        pgr_id v = 0;
        if (!st || pgr_query_id(st, &v, err) != 0)
            return -1;
        if (v <= 0)
            return pgr_errf(err, PGR_EINTERNAL, "postgres: %s id sequence gave %lld",
                            id_tables[which], (long long)v);
        s->next_ids[which] = v;
    }
    *id = s->last_ids[which] = s->next_ids[which]++;
    return 0;
}

int pgr_ids_sync(pgr_store *s, pgr_err *err)
{
    int rc = 0;
    for (int w = 0; w < 2 && rc == 0; w++) {
        if (!s->last_ids[w])
            continue;
        char sql[160];
        snprintf(sql, sizeof sql, "SELECT setval(pg_get_serial_sequence('%s', 'id'), %lld)",
                 id_tables[w], (long long)s->last_ids[w]);
        rc = s->be->exec(s, "ids_sync", sql, err);
    }
    pgr_ids_forget(s);
    return rc;
}

void pgr_ids_forget(pgr_store *s)
{
    s->next_ids[0] = s->next_ids[1] = s->last_ids[0] = s->last_ids[1] = 0;
}

/* ---- runs and sources ---- */
int pgr_run_start(pgr_store *s, const char *args, pgr_id *out, pgr_err *err)
{
    char now[32];
    pgr_now_iso(now);
    int own, rc = -1;
    if (pgr_tx_enter(s, &own, err) != 0)
        return -1;
    pgr_stmt *st = pgr_st(s, ST_RUN_START, err);
    if (st) {
        pgr_bind_text(st, 1, now);
        pgr_bind_text(st, 2, args);
        rc = run_id(st, out, err);
    }
    return pgr_tx_leave(s, own, rc, err);
}

int pgr_run_finish(pgr_store *s, pgr_id id, const char *status, const char *summary_json,
                   pgr_err *err)
{
    char now[32];
    pgr_now_iso(now);
    int own, rc = -1;
    if (pgr_tx_enter(s, &own, err) != 0)
        return -1;
    pgr_stmt *st = pgr_st(s, ST_RUN_FINISH, err);
    if (st) {
        pgr_bind_int(st, 1, id);
        pgr_bind_text(st, 2, now);
        pgr_bind_text(st, 3, status ? status : "done");
        pgr_bind_text(st, 4, summary_json);
        rc = pgr_exec_st(st, err);
    }
    return pgr_tx_leave(s, own, rc, err);
}

int pgr_source_find(pgr_store *s, const char *uri, pgr_id *id, char sha256_out[65], pgr_err *err)
{
    *id = 0;
    if (sha256_out)
        sha256_out[0] = '\0';
    pgr_stmt *st = pgr_st(s, ST_SOURCE_FIND, err);
    if (!st)
        return -1;
    pgr_bind_text(st, 1, uri);
    int rc = pgr_step(st, err);
    if (rc == 1) {
        *id = pgr_col_int(st, 0);
        const char *h = pgr_col_text(st, 1);
        if (sha256_out && h)
            snprintf(sha256_out, 65, "%s", h);
    }
    pgr_reset(st);
    return rc < 0 ? -1 : 0;
}

int pgr_source_upsert(pgr_store *s, const pgr_source_doc *d, pgr_id *id, pgr_err *err)
{
    if (!d->uri || !d->sha256)
        return pgr_errf(err, PGR_EINVAL, "source_upsert: uri and sha256 are required");
    char now[32];
    pgr_now_iso(now);
    int own, rc = -1;
    if (pgr_tx_enter(s, &own, err) != 0)
        return -1;
    pgr_stmt *st = pgr_st(s, ST_SOURCE_UPSERT, err);
    if (st) {
        pgr_bind_text(st, 1, d->uri);
        pgr_bind_text(st, 2, d->format);
        pgr_bind_text(st, 3, d->sha256);
        pgr_bind_text(st, 4, d->capture_date);
        pgr_bind_id(st, 5, d->run_id);
        pgr_bind_text(st, 6, now);
        rc = run_id(st, id, err);
        s->wrote = 1;
    }
    return pgr_tx_leave(s, own, rc, err);
}

/* Adds every id the statement returns (first column) to set. */
static int collect_into(pgr_stmt *st, pgr_idset *set, pgr_err *err)
{
    int rc;
    while ((rc = pgr_step(st, err)) == 1)
        if (!pgr_col_null(st, 0) && pgr_idset_add(set, pgr_col_int(st, 0)) != 0) {
            pgr_reset(st);
            return OOM(err);
        }
    pgr_reset(st);
    return rc < 0 ? -1 : 0;
}

int pgr_source_delete_facts(pgr_store *s, pgr_id src, pgr_err *err)
{
    static const int order[] = {ST_SRC_WORKS,           ST_SRC_AUTHORS,      ST_DEL_AUTHOR_COUNTS,
                                ST_DEL_WORK_COUNTS,     ST_DEL_AUTHOR_INSTS, ST_DEL_AUTHOR_NAMES,
                                ST_DEL_CITATIONS,       ST_DEL_WORK_TOPICS,  ST_DEL_AUTHORSHIPS,
                                ST_DEL_WORKS,           ST_DEL_AUTHORS,      ST_DEL_PROV,
                                ST_DEL_CLAIMS,          ST_DEL_OWNERSHIP,    ST_DEL_TOPIC_CLAIMS,
                                ST_DEL_AUTHOR_CLAIMS};
    int own, rc = 0;
    if (pgr_tx_enter(s, &own, err) != 0)
        return -1;
    rc = pgr_prov_flush(s, err); /* what follows reads provenance */
    for (size_t i = 0; rc == 0 && i < sizeof order / sizeof order[0]; i++) {
        pgr_stmt *st = pgr_st(s, order[i], err);
        if (!st) {
            rc = -1;
            break;
        }
        pgr_bind_int(st, 1, src);
        if (order[i] == ST_SRC_WORKS) {
            rc = collect_into(st, &s->fts_works, err);
        } else if (order[i] == ST_SRC_AUTHORS) {
            size_t before = s->fts_authors.n;
            rc = collect_into(st, &s->fts_authors, err);
            for (size_t k = before; rc == 0 && k < s->fts_authors.n; k++)
                rc = mark(&s->dirty_authors, s->fts_authors.v[k], err);
        } else {
            rc = pgr_exec_st(st, err);
        }
    }
    s->wrote = 1;
    return pgr_tx_leave(s, own, rc, err);
}

/* ---- works ---- */
int pgr_venue_id(pgr_store *s, const char *name, pgr_id *id, pgr_err *err)
{
    *id = 0;
    if (!name || !*name)
        return 0;
    if (s->venue_cache_name && !strcmp(s->venue_cache_name, name)) {
        *id = s->venue_cache_id;
        return 0;
    }
    pgr_sb norm = {0};
    pgr_fold(name, &norm);
    if (!pgr_sb_ok(&norm)) {
        pgr_sb_free(&norm);
        return OOM(err);
    }
    const char *key = norm.data ? norm.data : "";
    int rc = find_text(s, ST_VENUE_FIND, key, id, err);
    if (rc == 0 && !*id) {
        pgr_stmt *st = pgr_st(s, ST_VENUE_INSERT, err);
        rc = -1;
        if (st) {
            pgr_bind_text(st, 1, name);
            pgr_bind_text(st, 2, key);
            rc = run_id(st, id, err);
        }
    }
    pgr_sb_free(&norm);
    if (rc == 0) {
        free(s->venue_cache_name);
        s->venue_cache_name = strdup(name);
        s->venue_cache_id = s->venue_cache_name ? *id : 0;
    }
    return rc;
}

int pgr_work_find(pgr_store *s, enum pgr_work_key key, const char *value, pgr_id *id,
                  pgr_err *err)
{
    static const int stmts[] = {ST_WORK_BY_ARXIV, ST_WORK_BY_DOI, ST_WORK_BY_OPENALEX,
                                ST_WORK_BY_S2};
    *id = 0;
    if ((unsigned)key >= sizeof stmts / sizeof stmts[0])
        return pgr_errf(err, PGR_EINVAL, "work_find: unknown key %d", (int)key);
    return find_text(s, stmts[key], value, id, err);
}

int pgr_work_find_title(pgr_store *s, const char *norm_title, int year, pgr_id *id, pgr_err *err)
{
    *id = 0;
    if (!norm_title || !*norm_title)
        return 0;
    pgr_stmt *st = pgr_st(s, year ? ST_WORK_BY_TITLE_YEAR : ST_WORK_BY_TITLE, err);
    if (!st)
        return -1;
    pgr_bind_text(st, 1, norm_title);
    if (year)
        pgr_bind_int(st, 2, year);
    return pgr_query_id(st, id, err);
}

/* Citations that name this work by one of its ids now point at it. */
static int resolve_refs_to(pgr_store *s, pgr_id id, const pgr_work_rec *w, pgr_err *err)
{
    if (!w->arxiv_id && !w->doi && !w->openalex_id && !w->s2_id)
        return 0;
    char refs[4][300];
    const char *pfx[4] = {"arxiv:", "doi:", "openalex:", "s2:"};
    const char *val[4] = {w->arxiv_id, w->doi, w->openalex_id, w->s2_id};
    pgr_stmt *st = pgr_st(s, ST_WORK_REFS_RESOLVE, err);
    if (!st)
        return -1;
    pgr_bind_int(st, 1, id);
    for (int i = 0; i < 4; i++) {
        if (val[i] && strlen(val[i]) < 280) {
            snprintf(refs[i], sizeof refs[i], "%s%s", pfx[i], val[i]);
            pgr_bind_text(st, 2 + i, refs[i]);
        } else {
            pgr_bind_null(st, 2 + i);
        }
    }
    if (s->be->queue) {
        /* queued: whether a reference named it is not known here, so the
         * work counts as cited anew (its authors' metrics are recomputed,
         * which gives the same figures when nothing changed) */
        if (pgr_exec_queued(st, err) != 0)
            return -1;
        return mark(&s->dirty_cited, id, err);
    }
    if (pgr_exec_st(st, err) != 0)
        return -1;
    return st->changes > 0 ? mark(&s->dirty_cited, id, err) : 0;
}

void pgr_sort_date(const pgr_work_rec *w, char out[16])
{
    out[0] = '\0';
    if (w->date)
        snprintf(out, 16, "%.10s", w->date);
    else if (w->year > 0 && w->year < 10000)
        snprintf(out, 16, "%04d", w->year);
}

static int work_store(pgr_store *s, pgr_id src, pgr_id found, const pgr_work_rec *w,
                      pgr_id *out_id, int *created, pgr_err *err);

/* ---- work keys of a load into an empty graph ----
 * A set of "K\x1fvalue" strings (K: a arXiv id, d DOI, o OpenAlex, s S2, t
 * normalised title), open addressing, size a power of two. */
typedef struct pgr_keyset {
    char **slot;
    size_t n, cap;
} pgr_keyset;

void pgr_keys_forget(pgr_store *s)
{
    if (s->keys) {
        for (size_t i = 0; i < s->keys->cap; i++)
            free(s->keys->slot[i]);
        free(s->keys->slot);
        free(s->keys);
        s->keys = NULL;
    }
    s->keys_mode = 0;
}

static char **key_slot(pgr_keyset *ks, const char *k)
{
    for (size_t j = pgr_fnv1a(k, strlen(k)) & (ks->cap - 1);; j = (j + 1) & (ks->cap - 1))
        if (!ks->slot[j] || !strcmp(ks->slot[j], k))
            return &ks->slot[j];
}

/* key: kind letter + value into buf (NULL when the value does not fit: such
 * a key is never "known absent"). */
static const char *key_text(char kind, const char *v, pgr_sb *buf)
{
    pgr_sb_reset(buf);
    pgr_sb_putc(buf, kind);
    pgr_sb_putc(buf, '\x1f');
    pgr_sb_puts(buf, v);
    return pgr_sb_ok(buf) ? buf->data : NULL;
}

static int keys_add(pgr_store *s, char kind, const char *v, pgr_sb *buf)
{
    if (!v)
        return 0;
    pgr_keyset *ks = s->keys;
    const char *k = key_text(kind, v, buf);
    if (!k)
        return -1;
    if ((ks->n + 1) * 2 > ks->cap) {
        size_t cap = ks->cap ? ks->cap * 2 : 4096;
        pgr_keyset grown = {calloc(cap, sizeof(char *)), 0, cap};
        if (!grown.slot)
            return -1;
        for (size_t i = 0; i < ks->cap; i++)
            if (ks->slot[i])
                *key_slot(&grown, ks->slot[i]) = ks->slot[i];
        free(ks->slot);
        grown.n = ks->n;
        *ks = grown;
    }
    char **sl = key_slot(ks, k);
    if (*sl)
        return 0;
    if (!(*sl = strdup(k)))
        return -1;
    ks->n++;
    return 0;
}

static int keys_has(pgr_store *s, char kind, const char *v, pgr_sb *buf)
{
    if (!v)
        return 0;
    const char *k = key_text(kind, v, buf);
    return !k || (s->keys->cap && *key_slot(s->keys, k) != NULL);
}

/* 1 when no work with w's keys can exist: the graph had no works when the
 * transaction began and none of the keys was written in it. Decides the
 * mode at the first work of a transaction. 0 = look up; -1 error. */
static int keys_absent(pgr_store *s, const pgr_work_rec *w, pgr_err *err)
{
    if (s->keys_mode == 0) {
        pgr_stmt *st = pgr_st_dyn(s, "works_any", "SELECT id FROM works LIMIT 1", err);
        pgr_id any = 0;
        if (!st || pgr_query_id(st, &any, err) != 0)
            return -1;
        s->keys_mode = 2;
        if (!any && s->in_tx && (s->keys = calloc(1, sizeof *s->keys)))
            s->keys_mode = 1;
    }
    if (s->keys_mode != 1)
        return 0;
    pgr_sb buf = {0};
    int known = keys_has(s, 'a', w->arxiv_id, &buf) || keys_has(s, 'd', w->doi, &buf) ||
                keys_has(s, 'o', w->openalex_id, &buf) || keys_has(s, 's', w->s2_id, &buf) ||
                keys_has(s, 't', w->norm_title, &buf);
    pgr_sb_free(&buf);
    return !known;
}

/* Records the keys of a work written in a keys_mode 1 transaction (all
 * that the record names: more than the row keeps is harmless). */
static int keys_note(pgr_store *s, const pgr_work_rec *w, pgr_err *err)
{
    if (s->keys_mode != 1)
        return 0;
    pgr_sb buf = {0};
    int rc = keys_add(s, 'a', w->arxiv_id, &buf) || keys_add(s, 'd', w->doi, &buf) ||
             keys_add(s, 'o', w->openalex_id, &buf) || keys_add(s, 's', w->s2_id, &buf) ||
             keys_add(s, 't', w->norm_title, &buf);
    pgr_sb_free(&buf);
    if (rc) {
        pgr_keys_forget(s); /* out of memory: stop skipping lookups for this transaction */
        s->keys_mode = 2;
        return OOM(err);
    }
    return 0;
}

/* The stored external ids of work id (malloc'd copies, NULL when none). */
static int work_ids_get(pgr_store *s, pgr_id id, char *out[4], pgr_err *err)
{
    pgr_stmt *st = pgr_st(s, ST_WORK_IDS, err);
    if (!st)
        return -1;
    pgr_bind_int(st, 1, id);
    int rc = pgr_step(st, err);
    for (int i = 0; rc == 1 && i < 4; i++) {
        const char *v = pgr_col_text(st, i);
        if (v && !(out[i] = strdup(v)))
            rc = OOM(err);
    }
    pgr_reset(st);
    return rc < 0 ? -1 : 0;
}

static int work_write(pgr_store *s, pgr_id src, pgr_id id, const pgr_work_rec *w, pgr_id *out_id,
                      int *created, pgr_err *err)
{
    pgr_id found = id;
    if (id)
        return work_store(s, src, id, w, out_id, created, err);
    /* The record's ids, DOI first: when they name different works (another
     * source gave the paper a different arXiv id), the DOI decides, and the
     * ids that belong to another work or differ from the ones the work has
     * are not written: a work keeps the ids it has, and an id is never taken
     * from the work that holds it. */
    static const int by[] = {ST_WORK_BY_DOI, ST_WORK_BY_ARXIV, ST_WORK_BY_OPENALEX, ST_WORK_BY_S2};
    const char *keys[] = {w->doi, w->arxiv_id, w->openalex_id, w->s2_id};
    pgr_id hit[4] = {0};
    char *have[4] = {NULL, NULL, NULL, NULL};
    int rc = -1;
    int absent = keys_absent(s, w, err);
    if (absent < 0)
        return -1;
    if (absent) /* a load into an empty graph, keys never seen: a new work */
        return work_store(s, src, 0, w, out_id, created, err);
    /* every lookup bound first and sent together (PostgreSQL: one round
     * trip; SQLite runs each only when it is read) */
    pgr_stmt *sts[5] = {NULL}, *compat = NULL;
    int ns = 0;
    for (int i = 0; i < 4; i++) {
        if (!keys[i])
            continue;
        if (!(sts[ns] = pgr_st(s, by[i], err)))
            goto cleanup;
        pgr_bind_text(sts[ns++], 1, keys[i]);
    }
    if (w->norm_title && *w->norm_title) {
        if (!(compat = sts[ns] = pgr_st(s, ST_WORK_BY_TITLE_COMPAT, err)))
            goto cleanup;
        pgr_bind_text(compat, 1, w->norm_title);
        pgr_bind_int(compat, 2, w->year);
        pgr_bind_text(compat, 3, w->arxiv_id);
        pgr_bind_text(compat, 4, w->doi);
        ns++;
    }
    if (pgr_batch(s, sts, ns, err) != 0) {
        for (int i = 0; i < ns; i++)
            pgr_reset(sts[i]);
        goto cleanup;
    }
    for (int i = 0, k = 0; i < 4; i++) {
        if (!keys[i])
            continue;
        if (pgr_query_id(sts[k++], &hit[i], err) != 0) {
            for (; k < ns; k++)
                pgr_reset(sts[k]);
            goto cleanup;
        }
        if (!found)
            found = hit[i];
    }
    /* same title and year, unless the ids say they are different papers:
     * two arXiv ids (or two DOIs) never name one work */
    if (compat) {
        if (found)
            pgr_reset(compat);
        else if (pgr_query_id(compat, &found, err) != 0)
            goto cleanup;
    }
    pgr_work_rec wr = *w;
    if (found && (keys[0] || keys[1] || keys[2] || keys[3])) {
        if (work_ids_get(s, found, have, err) != 0)
            goto cleanup;
        const char **put[] = {&wr.doi, &wr.arxiv_id, &wr.openalex_id, &wr.s2_id};
        for (int i = 0; i < 4; i++)
            if (keys[i] && ((hit[i] && hit[i] != found) || (have[i] && strcmp(have[i], keys[i]))))
                *put[i] = NULL;
        if (w->arxiv_id && !wr.arxiv_id)
            wr.arxiv_version = 0; /* the version of an id the work does not carry */
    }
    rc = work_store(s, src, found, &wr, out_id, created, err);
cleanup:
    for (int i = 0; i < 4; i++)
        free(have[i]);
    return rc;
}

/* Inserts (found == 0) or updates work found with w. */
static int work_store(pgr_store *s, pgr_id src, pgr_id found, const pgr_work_rec *w,
                      pgr_id *out_id, int *created, pgr_err *err)
{
    pgr_id vid = 0;
    if (pgr_venue_id(s, w->venue, &vid, err) != 0)
        return -1;
    char sort_date[16];
    pgr_sort_date(w, sort_date);
    long cites = w->cited_by_count;
    int64_t has_code = w->has_code < 0 ? -1 : (w->has_code ? 1 : 0);
    pgr_stmt *st;
    if (!found) {
        if (!w->norm_title || !w->title)
            return pgr_errf(err, PGR_EINVAL, "work_upsert: a new work needs title and norm_title");
        int queued = s->be->queue != NULL;
        if (queued && next_id(s, 0, &found, err) != 0)
            return -1;
        if (!(st = pgr_st(s, queued ? ST_WORK_INSERT_ID : ST_WORK_INSERT, err)))
            return -1;
        pgr_bind_text(st, 1, w->arxiv_id);
        pgr_bind_text(st, 2, w->doi);
        pgr_bind_text(st, 3, w->openalex_id);
        pgr_bind_text(st, 4, w->s2_id);
        pgr_bind_text(st, 5, w->title);
        pgr_bind_text(st, 6, w->norm_title);
        pgr_bind_id(st, 7, w->year);
        pgr_bind_text(st, 8, w->date);
        pgr_bind_text(st, 9, sort_date);
        pgr_bind_text(st, 10, w->type);
        pgr_bind_id(st, 11, vid);
        pgr_bind_text(st, 12, w->abstract);
        pgr_bind_text(st, 13, w->authors_truncated);
        pgr_bind_optint(st, 14, cites);
        pgr_bind_optint(st, 15, has_code);
        pgr_bind_double(st, 16, w->score);
        pgr_bind_id(st, 17, w->arxiv_version);
        pgr_bind_text(st, 18, w->language);
        pgr_bind_text(st, 19, w->tldr);
        pgr_bind_text(st, 20, w->tldr ? w->tldr_model : NULL);
        if (queued) {
            pgr_bind_int(st, 21, found);
            if (pgr_exec_queued(st, err) != 0)
                return -1;
        } else if (run_id(st, &found, err) != 0) {
            return -1;
        }
        if (created)
            *created = 1;
    } else {
        if (!(st = pgr_st(s, ST_WORK_UPDATE, err)))
            return -1;
        pgr_bind_int(st, 1, found);
        pgr_bind_text(st, 2, w->arxiv_id);
        pgr_bind_text(st, 3, w->doi);
        pgr_bind_text(st, 4, w->openalex_id);
        pgr_bind_text(st, 5, w->s2_id);
        pgr_bind_text(st, 6, w->title);
        pgr_bind_text(st, 7, w->norm_title);
        pgr_bind_id(st, 8, w->year);
        pgr_bind_text(st, 9, w->date);
        pgr_bind_text(st, 10, sort_date);
        pgr_bind_text(st, 11, w->type);
        pgr_bind_id(st, 12, vid);
        pgr_bind_text(st, 13, w->abstract);
        pgr_bind_text(st, 14, w->authors_truncated);
        pgr_bind_optint(st, 15, cites);
        pgr_bind_optint(st, 16, has_code);
        pgr_bind_double(st, 17, w->score);
        pgr_bind_id(st, 18, w->arxiv_version);
        pgr_bind_text(st, 19, w->language);
        pgr_bind_text(st, 20, w->tldr);
        pgr_bind_text(st, 21, w->tldr ? w->tldr_model : NULL);
        if (pgr_exec_st(st, err) != 0)
            return -1;
        if (st->changes == 0)
            return pgr_errf(err, PGR_ENOTFOUND, "work_upsert: no work W%lld", (long long)found);
        if (created)
            *created = 0;
    }
    *out_id = found;
    if (resolve_refs_to(s, found, w, err) != 0 || prov(s, src, FACT_WORK, found, err) != 0 ||
        mark(&s->fts_works, found, err) != 0 || keys_note(s, w, err) != 0)
        return -1;
    s->wrote = 1;
    return 0;
}

int pgr_work_upsert(pgr_store *s, pgr_id src, pgr_id id, const pgr_work_rec *w, pgr_id *out_id,
                    int *created, pgr_err *err)
{
    int own;
    if (pgr_tx_enter(s, &own, err) != 0)
        return -1;
    return pgr_tx_leave(s, own, work_write(s, src, id, w, out_id, created, err), err);
}

/* ---- authors ---- */
int pgr_author_resolve(pgr_store *s, pgr_id id, pgr_id *current, pgr_err *err)
{
    *current = 0;
    for (int hops = 0; hops < 64; hops++) {
        pgr_stmt *st = pgr_st(s, ST_AUTHOR_MERGED_INTO, err);
        if (!st)
            return -1;
        pgr_bind_int(st, 1, id);
        int rc = pgr_step(st, err);
        pgr_id next = 0;
        if (rc == 1 && !pgr_col_null(st, 1))
            next = pgr_col_int(st, 1);
        pgr_reset(st);
        if (rc < 0)
            return -1;
        if (rc == 0)
            return pgr_errf(err, PGR_ENOTFOUND, "no author A%lld", (long long)id);
        if (!next) {
            *current = id;
            return 0;
        }
        id = next;
    }
    return pgr_errf(err, PGR_EINTERNAL, "author A%lld: merge chain too long", (long long)id);
}

static int author_write(pgr_store *s, pgr_id src, pgr_id id, const pgr_author_rec *a,
                        pgr_id *out_id, int *created, pgr_err *err)
{
    pgr_id found = id;
    if (!found) {
        if (find_text(s, ST_AUTHOR_BY_ORCID, a->orcid, &found, err) != 0 ||
            (!found && find_text(s, ST_AUTHOR_BY_OPENALEX, a->openalex_id, &found, err) != 0) ||
            (!found && find_text(s, ST_AUTHOR_BY_S2, a->s2_id, &found, err) != 0))
            return -1;
        if (found && pgr_author_resolve(s, found, &found, err) != 0)
            return -1;
    }
    pgr_stmt *st;
    if (!found) {
        if (!a->display_name || !a->norm_name)
            return pgr_errf(err, PGR_EINVAL,
                            "author_upsert: a new author needs display_name and norm_name");
        int queued = s->be->queue != NULL;
        if (queued && next_id(s, 1, &found, err) != 0)
            return -1;
        if (!(st = pgr_st(s, queued ? ST_AUTHOR_INSERT_ID : ST_AUTHOR_INSERT, err)))
            return -1;
        pgr_bind_text(st, 1, a->display_name);
        pgr_bind_text(st, 2, a->norm_name);
        pgr_bind_text(st, 3, a->orcid);
        pgr_bind_text(st, 4, a->openalex_id);
        pgr_bind_text(st, 5, a->s2_id);
        if (queued) {
            pgr_bind_int(st, 6, found);
            if (pgr_exec_queued(st, err) != 0)
                return -1;
        } else if (run_id(st, &found, err) != 0) {
            return -1;
        }
        if (created)
            *created = 1;
    } else {
        if (created)
            *created = 0;
        if (a->display_name || a->norm_name || a->orcid || a->openalex_id || a->s2_id) {
            if (!(st = pgr_st(s, ST_AUTHOR_UPDATE, err)))
                return -1;
            pgr_bind_int(st, 1, found);
            pgr_bind_text(st, 2, a->display_name);
            pgr_bind_text(st, 3, a->norm_name);
            pgr_bind_text(st, 4, a->orcid);
            pgr_bind_text(st, 5, a->openalex_id);
            pgr_bind_text(st, 6, a->s2_id);
            if (pgr_exec_st(st, err) != 0)
                return -1;
            if (st->changes == 0)
                return pgr_errf(err, PGR_ENOTFOUND, "author_upsert: no author A%lld",
                                (long long)found);
        }
    }
    *out_id = found;
    if (prov(s, src, FACT_AUTHOR, found, err) != 0 || mark(&s->fts_authors, found, err) != 0)
        return -1;
    s->wrote = 1;
    return 0;
}

int pgr_author_find_ext(pgr_store *s, const char *kind, const char *value, pgr_id *id,
                        pgr_err *err)
{
    int stmt = !strcmp(kind, "orcid")      ? ST_AUTHOR_BY_ORCID
               : !strcmp(kind, "openalex") ? ST_AUTHOR_BY_OPENALEX
               : !strcmp(kind, "s2")       ? ST_AUTHOR_BY_S2
                                           : -1;
    *id = 0;
    if (stmt < 0)
        return pgr_errf(err, PGR_EINVAL, "author_find_ext: no author id kind \"%s\"", kind);
    if (find_text(s, stmt, value, id, err) != 0)
        return -1;
    return *id ? pgr_author_resolve(s, *id, id, err) : 0;
}

int pgr_author_upsert(pgr_store *s, pgr_id src, pgr_id id, const pgr_author_rec *a,
                      pgr_id *out_id, int *created, pgr_err *err)
{
    int own;
    if (pgr_tx_enter(s, &own, err) != 0)
        return -1;
    return pgr_tx_leave(s, own, author_write(s, src, id, a, out_id, created, err), err);
}

static int ids_of(pgr_store *s, int stmt, pgr_id key, const char *text_key, pgr_id **ids,
                  size_t *n, pgr_err *err)
{
    *ids = NULL;
    *n = 0;
    pgr_stmt *st = pgr_st(s, stmt, err);
    if (!st)
        return -1;
    if (text_key)
        pgr_bind_text(st, 1, text_key);
    else
        pgr_bind_int(st, 1, key);
    pgr_idset set = {0};
    if (collect_into(st, &set, err) != 0) {
        pgr_idset_free(&set);
        return -1;
    }
    *ids = set.v;
    *n = set.n;
    return 0;
}

int pgr_author_candidates(pgr_store *s, const char *norm_name, pgr_id **ids, size_t *n,
                          pgr_err *err)
{
    return ids_of(s, ST_AUTHOR_CANDIDATES, 0, norm_name ? norm_name : "", ids, n, err);
}

int pgr_author_work_ids(pgr_store *s, pgr_id author, pgr_id **ids, size_t *n, pgr_err *err)
{
    return ids_of(s, ST_AUTHOR_WORK_IDS, author, NULL, ids, n, err);
}

int pgr_author_coauthor_ids(pgr_store *s, pgr_id author, pgr_id **ids, size_t *n, pgr_err *err)
{
    return ids_of(s, ST_AUTHOR_COAUTHOR_IDS, author, NULL, ids, n, err);
}

int pgr_adapter_candidates(pgr_store *s, pgr_id **ids, size_t *n, pgr_err *err)
{
    return ids_of(s, ST_ADAPTER_CANDIDATES, 0, NULL, ids, n, err);
}

int pgr_author_add_variant(pgr_store *s, pgr_id src, pgr_id author, const char *name,
                           const char *norm_name, pgr_err *err)
{
    if (!name || !norm_name)
        return pgr_errf(err, PGR_EINVAL, "author_add_variant: name and norm_name are required");
    int own, rc = -1;
    if (pgr_tx_enter(s, &own, err) != 0)
        return -1;
    pgr_stmt *st = edge_st(s, ST_AUTHOR_NAME_ADD, src, FACT_AUTHOR_NAME, err);
    if (st) {
        pgr_bind_int(st, 1, author);
        pgr_bind_text(st, 2, name);
        pgr_bind_text(st, 3, norm_name);
        rc = edge_write(s, st, src, FACT_AUTHOR_NAME, err);
        if (rc == 0)
            rc = mark(&s->fts_authors, author, err);
        s->wrote = 1;
    }
    return pgr_tx_leave(s, own, rc, err);
}

/* ---- edges ---- */
int pgr_authorship_put(pgr_store *s, pgr_id src, pgr_id work, pgr_id author, int position,
                       const char *raw_name, const char *affiliation, pgr_id institution,
                       pgr_err *err)
{
    int own, rc = -1;
    if (pgr_tx_enter(s, &own, err) != 0)
        return -1;
    pgr_stmt *st = edge_st(s, ST_AUTHORSHIP_PUT, src, FACT_AUTHORSHIP, err);
    if (st) {
        pgr_bind_int(st, 1, work);
        pgr_bind_int(st, 2, author);
        pgr_bind_int(st, 3, position);
        pgr_bind_text(st, 4, raw_name);
        pgr_bind_text(st, 5, affiliation);
        pgr_bind_id(st, 6, institution);
        rc = edge_write(s, st, src, FACT_AUTHORSHIP, err);
        if (rc == 0)
            rc = mark(&s->fts_works, work, err);
        if (rc == 0)
            rc = mark(&s->dirty_authors, author, err);
        s->wrote = 1;
    }
    return pgr_tx_leave(s, own, rc, err);
}

int pgr_topic_upsert(pgr_store *s, const char *scheme, const char *code, const char *name,
                     pgr_id *id, pgr_err *err)
{
    if (!scheme || !code)
        return pgr_errf(err, PGR_EINVAL, "topic_upsert: scheme and code are required");
    int own, rc = -1;
    if (pgr_tx_enter(s, &own, err) != 0)
        return -1;
    pgr_sb norm = {0};
    pgr_stmt *st = pgr_st(s, ST_TOPIC_FIND, err);
    if (!st)
        goto cleanup;
    pgr_bind_text(st, 1, scheme);
    pgr_bind_text(st, 2, code);
    int r = pgr_step(st, err);
    *id = 0;
    int same_name = 1;
    if (r == 1) {
        *id = pgr_col_int(st, 0);
        const char *old = pgr_col_text(st, 1);
        same_name = !name || (old && !strcmp(old, name));
    }
    pgr_reset(st);
    if (r < 0)
        goto cleanup;
    pgr_fold(name ? name : code, &norm);
    if (!pgr_sb_ok(&norm)) {
        OOM(err);
        goto cleanup;
    }
    if (!*id) {
        if (!(st = pgr_st(s, ST_TOPIC_INSERT, err)))
            goto cleanup;
        pgr_bind_text(st, 1, scheme);
        pgr_bind_text(st, 2, code);
        pgr_bind_text(st, 3, name);
        pgr_bind_text(st, 4, norm.data ? norm.data : "");
        if (run_id(st, id, err) != 0)
            goto cleanup;
        s->wrote = 1;
    } else if (!same_name) {
        if (!(st = pgr_st(s, ST_TOPIC_RENAME, err)))
            goto cleanup;
        pgr_bind_int(st, 1, *id);
        pgr_bind_text(st, 2, name);
        pgr_bind_text(st, 3, norm.data ? norm.data : "");
        if (pgr_exec_st(st, err) != 0)
            goto cleanup;
        s->wrote = 1;
    }
    rc = 0;
cleanup:
    pgr_sb_free(&norm);
    return pgr_tx_leave(s, own, rc, err);
}

#define TOPICS_BATCH 500

int pgr_topic_ids_many(pgr_store *s, const char *scheme, const char *const *codes, size_t n,
                       pgr_id *ids, pgr_err *err)
{
    if (!scheme)
        return pgr_errf(err, PGR_EINVAL, "topic_ids_many: scheme is required");
    int own, rc = 0, sqlite = !strcmp(s->be->name, "sqlite");
    if (pgr_tx_enter(s, &own, err) != 0)
        return -1;
    /* [[code, folded name], ...]: inserted in array order (ids as one by
     * one), then every code's id read back with its array index */
    const char *ins = sqlite ? "INSERT INTO topics (scheme, code, display_name, norm_name) "
                               "SELECT $1, value->>0, value->>0, value->>1 FROM json_each($2) "
                               "WHERE true ORDER BY key ON CONFLICT (scheme, code) DO NOTHING"
                             : "INSERT INTO topics (scheme, code, display_name, norm_name) "
                               "SELECT $1, j.value->>0, j.value->>0, j.value->>1 FROM "
                               "json_array_elements($2::json) WITH ORDINALITY AS j(value, o) "
                               "ORDER BY j.o ON CONFLICT (scheme, code) DO NOTHING";
    /* CROSS JOIN: SQLite keeps json_each outside and probes (scheme, code);
     * left to itself it scanned topics and parsed the array per row */
    const char *get = sqlite ? "SELECT j.key, t.id FROM json_each($2) j CROSS JOIN topics t ON "
                               "t.scheme = $1 AND t.code = j.value->>0"
                             : "SELECT j.o - 1, t.id FROM json_array_elements($2::json) WITH "
                               "ORDINALITY AS j(value, o) JOIN topics t ON t.scheme = $1 AND "
                               "t.code = j.value->>0";
    pgr_sb js = {0}, norm = {0};
    for (size_t i = 0; rc == 0 && i < n; i += TOPICS_BATCH) {
        size_t m = n - i < TOPICS_BATCH ? n - i : TOPICS_BATCH;
        pgr_sb_reset(&js);
        pgr_sb_putc(&js, '[');
        for (size_t k = 0; k < m; k++) {
            if (!codes[i + k]) {
                rc = pgr_errf(err, PGR_EINVAL, "topic_ids_many: code %zu is NULL", i + k);
                break;
            }
            pgr_sb_reset(&norm);
            pgr_fold(codes[i + k], &norm);
            pgr_sb_puts(&js, k ? ",[" : "[");
            pgr_json_str(&js, codes[i + k]);
            pgr_sb_putc(&js, ',');
            pgr_json_str(&js, norm.data ? norm.data : "");
            pgr_sb_putc(&js, ']');
            ids[i + k] = 0;
        }
        pgr_sb_putc(&js, ']');
        if (rc == 0 && (!pgr_sb_ok(&js) || !pgr_sb_ok(&norm)))
            rc = OOM(err);
        pgr_stmt *st = rc == 0 ? pgr_st_dyn(s, "topics_insert_many", ins, err) : NULL;
        if (!st) {
            rc = -1;
            break;
        }
        pgr_bind_text(st, 1, scheme);
        pgr_bind_text(st, 2, js.data);
        if ((rc = pgr_exec_st(st, err)) != 0)
            break;
        s->wrote = 1;
        if (!(st = pgr_st_dyn(s, "topics_ids_many", get, err))) {
            rc = -1;
            break;
        }
        pgr_bind_text(st, 1, scheme);
        pgr_bind_text(st, 2, js.data);
        int r;
        while ((r = pgr_step(st, err)) == 1) {
            int64_t k = pgr_col_int(st, 0);
            if (k >= 0 && (size_t)k < m)
                ids[i + (size_t)k] = pgr_col_int(st, 1);
        }
        pgr_reset(st);
        if (r < 0)
            rc = -1;
        for (size_t k = 0; rc == 0 && k < m; k++)
            if (!ids[i + k])
                rc = pgr_errf(err, PGR_EINTERNAL, "topic_ids_many: no id for %s \"%s\"", scheme,
                              codes[i + k]);
    }
    pgr_sb_free(&js);
    pgr_sb_free(&norm);
    return pgr_tx_leave(s, own, rc, err);
}

static int plain_done(pgr_store *s, pgr_stmt *st, int own, pgr_err *err);

int pgr_topic_describe(pgr_store *s, pgr_id topic, const char *description, const char *subfield,
                       const char *field, const char *domain, pgr_err *err)
{
    if (!description && !subfield && !field && !domain)
        return 0;
    int own;
    if (pgr_tx_enter(s, &own, err) != 0)
        return -1;
    pgr_stmt *st = pgr_st(s, ST_TOPIC_DESCRIBE, err);
    if (st) {
        pgr_bind_int(st, 1, topic);
        pgr_bind_text(st, 2, description);
        pgr_bind_text(st, 3, subfield);
        pgr_bind_text(st, 4, field);
        pgr_bind_text(st, 5, domain);
    }
    return plain_done(s, st, own, err);
}

static int edge_done(pgr_store *s, pgr_stmt *st, pgr_id src, int kind, int own, pgr_err *err)
{
    int rc = st ? edge_write(s, st, src, kind, err) : -1;
    return pgr_tx_leave(s, own, rc, err);
}


int pgr_work_topic_put(pgr_store *s, pgr_id src, pgr_id work, pgr_id topic, double weight,
                       pgr_err *err)
{
    int own;
    if (pgr_tx_enter(s, &own, err) != 0)
        return -1;
    pgr_stmt *st = edge_st(s, ST_WORK_TOPIC_PUT, src, FACT_WORK_TOPIC, err);
    if (st) {
        pgr_bind_int(st, 1, work);
        pgr_bind_int(st, 2, topic);
        pgr_bind_double(st, 3, weight);
    }
    return edge_done(s, st, src, FACT_WORK_TOPIC, own, err);
}

#define WT_BATCH 300

int pgr_work_topics_put_many(pgr_store *s, pgr_id src, const pgr_id *works, const pgr_id *topics,
                             const double *weights, size_t n, pgr_err *err)
{
    int own, rc = 0;
    if (pgr_tx_enter(s, &own, err) != 0)
        return -1;
    pgr_sb sql = {0};
    for (size_t i = 0; rc == 0 && i < n;) {
        size_t end = i + WT_BATCH < n ? i + WT_BATCH : n;
        pgr_sb_reset(&sql);
        pgr_sb_puts(&sql, "INSERT INTO work_topics (work_id, topic_id, weight) VALUES ");
        for (size_t k = i; k < end; k++) {
            /* the store's own ids and numbers as literals: %.17g reads back
             * as the same double, as a bound parameter would */
            pgr_sb_printf(&sql, "%s(%lld, %lld, ", k > i ? ", " : "", (long long)works[k],
                          (long long)topics[k]);
            if (isnan(weights[k]) || isinf(weights[k]))
                pgr_sb_puts(&sql, "NULL::float8)");
            else
                pgr_sb_printf(&sql, "%.17g::float8)", weights[k]);
        }
        /* a pair twice in one statement would be an error in PostgreSQL
         * ("cannot affect row a second time"): callers give each pair once */
        pgr_sb_puts(&sql, " ON CONFLICT (work_id, topic_id) DO UPDATE SET weight = "
                          "COALESCE(excluded.weight, work_topics.weight) RETURNING id");
        if (!pgr_sb_ok(&sql)) {
            rc = OOM(err);
            break;
        }
        pgr_stmt *st = pgr_st_once(s, "work_topics_put_many", sql.data, err);
        if (!st) {
            rc = -1;
            break;
        }
        int r;
        while ((r = pgr_step(st, err)) == 1)
            if ((rc = prov(s, src, FACT_WORK_TOPIC, pgr_col_int(st, 0), err)) != 0)
                break;
        if (r < 0)
            rc = -1;
        pgr_st_once_free(st);
        s->wrote = 1;
        i = end;
    }
    pgr_sb_free(&sql);
    return pgr_tx_leave(s, own, rc, err);
}

/* The work an external ref names ("doi:...", "arxiv:...", "openalex:W...",
 * "s2:..."), 0 when absent or the form is unknown. */
int pgr_work_by_ref(pgr_store *s, const char *ref, pgr_id *id, pgr_err *err)
{
    static const struct {
        const char *prefix;
        int stmt;
    } forms[] = {{"doi:", ST_WORK_BY_DOI},
                 {"arxiv:", ST_WORK_BY_ARXIV},
                 {"openalex:", ST_WORK_BY_OPENALEX},
                 {"s2:", ST_WORK_BY_S2}};
    *id = 0;
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        size_t n = strlen(forms[i].prefix);
        if (!strncmp(ref, forms[i].prefix, n))
            return find_text(s, forms[i].stmt, ref + n, id, err);
    }
    return 0;
}

int pgr_citation_put(pgr_store *s, pgr_id src, pgr_id citing, const char *ref, pgr_id cited,
                     pgr_err *err)
{
    if (!ref || !*ref)
        return pgr_errf(err, PGR_EINVAL, "citation_put: ref is required");
    int own;
    if (pgr_tx_enter(s, &own, err) != 0)
        return -1;
    if (!cited && pgr_work_by_ref(s, ref, &cited, err) != 0)
        return pgr_tx_leave(s, own, -1, err);
    if (cited && mark(&s->dirty_cited, cited, err) != 0)
        return pgr_tx_leave(s, own, -1, err);
    pgr_stmt *st = edge_st(s, ST_CITATION_PUT, src, FACT_CITATION, err);
    if (st) {
        pgr_bind_int(st, 1, citing);
        pgr_bind_text(st, 2, ref);
        pgr_bind_id(st, 3, cited);
    }
    return edge_done(s, st, src, FACT_CITATION, own, err);
}

int pgr_citations_resolve(pgr_store *s, long *n_resolved, pgr_err *err)
{
    static const int stmts[] = {ST_REFS_RESOLVE_DOI, ST_REFS_RESOLVE_ARXIV,
                                ST_REFS_RESOLVE_OPENALEX, ST_REFS_RESOLVE_S2};
    int own, rc = 0;
    long total = 0;
    if (pgr_tx_enter(s, &own, err) != 0)
        return -1;
    for (size_t i = 0; rc == 0 && i < sizeof stmts / sizeof stmts[0]; i++) {
        pgr_stmt *st = pgr_st(s, stmts[i], err);
        if (!st) {
            rc = -1;
            break;
        }
        /* the works that gained citations: their figures (and their
         * authors') are recomputed with the next metrics call */
        int r;
        while ((r = pgr_step(st, err)) == 1) {
            total++;
            if (mark(&s->dirty_cited, pgr_col_int(st, 0), err) != 0) {
                r = -1;
                break;
            }
        }
        pgr_reset(st);
        if (r < 0)
            rc = -1;
    }
    if (total)
        s->wrote = 1;
    if (n_resolved)
        *n_resolved = total;
    return pgr_tx_leave(s, own, rc, err);
}

int pgr_institution_upsert(pgr_store *s, const char *name, const char *norm_name, const char *ror,
                           const char *country, pgr_id *id, pgr_err *err)
{
    if (!name || !norm_name)
        return pgr_errf(err, PGR_EINVAL, "institution_upsert: name and norm_name are required");
    int own, rc = -1;
    if (pgr_tx_enter(s, &own, err) != 0)
        return -1;
    *id = 0;
    if (find_text(s, ST_INST_BY_ROR, ror, id, err) != 0 ||
        (!*id && find_text(s, ST_INST_BY_NAME, norm_name, id, err) != 0))
        goto cleanup;
    pgr_stmt *st;
    if (!*id) {
        if (!(st = pgr_st(s, ST_INST_INSERT, err)))
            goto cleanup;
        pgr_bind_text(st, 1, name);
        pgr_bind_text(st, 2, norm_name);
        pgr_bind_text(st, 3, ror);
        pgr_bind_text(st, 4, country);
        rc = run_id(st, id, err);
        s->wrote = 1;
    } else if (ror || country) {
        if (!(st = pgr_st(s, ST_INST_UPDATE, err)))
            goto cleanup;
        pgr_bind_int(st, 1, *id);
        pgr_bind_text(st, 2, ror);
        pgr_bind_text(st, 3, country);
        rc = pgr_exec_st(st, err);
        s->wrote = 1;
    } else {
        rc = 0;
    }
cleanup:
    return pgr_tx_leave(s, own, rc, err);
}

int pgr_author_institution_put(pgr_store *s, pgr_id src, pgr_id author, pgr_id institution,
                               int year, pgr_err *err)
{
    int own;
    if (pgr_tx_enter(s, &own, err) != 0)
        return -1;
    pgr_stmt *st = edge_st(s, ST_AUTHOR_INST_PUT, src, FACT_AUTHOR_INST, err);
    if (st) {
        pgr_bind_int(st, 1, author);
        pgr_bind_int(st, 2, institution);
        pgr_bind_int(st, 3, year > 0 ? year : 0);
    }
    return edge_done(s, st, src, FACT_AUTHOR_INST, own, err);
}

int pgr_work_counts_put(pgr_store *s, pgr_id src, pgr_id work, int year, long cited_by_count,
                        pgr_err *err)
{
    int own;
    if (pgr_tx_enter(s, &own, err) != 0)
        return -1;
    pgr_stmt *st = edge_st(s, ST_WORK_COUNTS_PUT, src, FACT_WORK_COUNTS, err);
    if (st) {
        pgr_bind_int(st, 1, work);
        pgr_bind_int(st, 2, year);
        pgr_bind_optint(st, 3, cited_by_count);
    }
    return edge_done(s, st, src, FACT_WORK_COUNTS, own, err);
}

int pgr_author_counts_put(pgr_store *s, pgr_id src, pgr_id author, int year, long works_count,
                          long cited_by_count, pgr_err *err)
{
    int own;
    if (pgr_tx_enter(s, &own, err) != 0)
        return -1;
    pgr_stmt *st = edge_st(s, ST_AUTHOR_COUNTS_PUT, src, FACT_AUTHOR_COUNTS, err);
    if (st) {
        pgr_bind_int(st, 1, author);
        pgr_bind_int(st, 2, year);
        pgr_bind_optint(st, 3, works_count);
        pgr_bind_optint(st, 4, cited_by_count);
    }
    return edge_done(s, st, src, FACT_AUTHOR_COUNTS, own, err);
}

/* Claims and ownership belong to their source document directly. */
static int plain_done(pgr_store *s, pgr_stmt *st, int own, pgr_err *err)
{
    int rc = st ? pgr_exec_st(st, err) : -1;
    s->wrote = 1;
    return pgr_tx_leave(s, own, rc, err);
}

int pgr_claim_put(pgr_store *s, pgr_id src, pgr_id author, const char *name, const char *text,
                  double value, const char *capture_date, pgr_err *err)
{
    if (src <= 0 || !name)
        return pgr_errf(err, PGR_EINVAL, "claim_put: a source and a name are required");
    int own;
    if (pgr_tx_enter(s, &own, err) != 0)
        return -1;
    pgr_stmt *st = pgr_st(s, ST_CLAIM_PUT, err);
    if (st) {
        pgr_bind_int(st, 1, src);
        pgr_bind_id(st, 2, author);
        pgr_bind_text(st, 3, name);
        pgr_bind_text(st, 4, text);
        pgr_bind_double(st, 5, value);
        pgr_bind_text(st, 6, capture_date);
    }
    return plain_done(s, st, own, err);
}

int pgr_author_topic_claim_put(pgr_store *s, pgr_id src, const pgr_topic_claim *c, pgr_err *err)
{
    if (src <= 0 || !c->record || !c->list || c->topic <= 0 || c->rank < 1)
        return pgr_errf(err, PGR_EINVAL,
                        "author_topic_claim_put: a source, record, list, topic and rank are required");
    int own, rc = -1;
    if (pgr_tx_enter(s, &own, err) != 0)
        return -1;
    pgr_stmt *st = pgr_st(s, ST_TOPIC_CLAIM_PUT, err);
    if (st) {
        pgr_bind_int(st, 1, src);
        pgr_bind_text(st, 2, c->record);
        pgr_bind_id(st, 3, c->author);
        pgr_bind_text(st, 4, c->list);
        pgr_bind_int(st, 5, c->topic);
        pgr_bind_int(st, 6, c->rank);
        pgr_bind_optint(st, 7, c->count);
        pgr_bind_double(st, 8, c->score);
        pgr_bind_text(st, 9, c->capture_date);
        /* nothing is read back: PostgreSQL sends it with the next round trip */
        rc = pgr_exec_queued(st, err);
        s->wrote = 1;
    }
    return pgr_tx_leave(s, own, rc, err);
}

int pgr_author_claim_put(pgr_store *s, pgr_id src, const pgr_author_claim *c, pgr_err *err)
{
    if (src <= 0 || !c->record || !c->name || c->year < 0 || c->rank < 0)
        return pgr_errf(err, PGR_EINVAL,
                        "author_claim_put: a source, record and name are required");
    int own, rc = -1;
    if (pgr_tx_enter(s, &own, err) != 0)
        return -1;
    pgr_stmt *st = pgr_st(s, ST_AUTHOR_CLAIM_PUT, err);
    if (st) {
        pgr_bind_int(st, 1, src);
        pgr_bind_text(st, 2, c->record);
        pgr_bind_id(st, 3, c->author);
        pgr_bind_text(st, 4, c->name);
        pgr_bind_int(st, 5, c->year);
        pgr_bind_int(st, 6, c->rank);
        pgr_bind_text(st, 7, c->text);
        pgr_bind_double(st, 8, c->value);
        pgr_bind_text(st, 9, c->ref);
        pgr_bind_text(st, 10, c->capture_date);
        /* nothing is read back: PostgreSQL sends it with the next round trip */
        rc = pgr_exec_queued(st, err);
        s->wrote = 1;
    }
    return pgr_tx_leave(s, own, rc, err);
}

int pgr_ownership_put(pgr_store *s, pgr_id src, pgr_id author, const char *method,
                      double confidence, const char *runner_up, double runner_up_confidence,
                      const char *evidence, pgr_err *err)
{
    if (src <= 0 || author <= 0 || !method)
        return pgr_errf(err, PGR_EINVAL, "ownership_put: source, author and method are required");
    int own;
    if (pgr_tx_enter(s, &own, err) != 0)
        return -1;
    pgr_stmt *st = pgr_st(s, ST_OWNERSHIP_PUT, err);
    if (st) {
        pgr_bind_int(st, 1, src);
        pgr_bind_int(st, 2, author);
        pgr_bind_text(st, 3, method);
        pgr_bind_double(st, 4, confidence);
        pgr_bind_text(st, 5, runner_up);
        pgr_bind_double(st, 6, runner_up_confidence);
        pgr_bind_text(st, 7, evidence);
    }
    return plain_done(s, st, own, err);
}

int pgr_adapter_add(pgr_store *s, const pgr_adapter_rec *a, pgr_id *id, pgr_err *err)
{
    if (a->author <= 0 || !a->method || !a->mode || !a->path)
        return pgr_errf(err, PGR_EINVAL, "adapter_add: author, method, mode and path are required");
    char now[32];
    pgr_now_iso(now);
    int own, rc = -1;
    if (pgr_tx_enter(s, &own, err) != 0)
        return -1;
    pgr_stmt *st = pgr_st(s, ST_ADAPTER_ADD, err);
    if (st) {
        pgr_bind_int(st, 1, a->author);
        pgr_bind_text(st, 2, a->method);
        pgr_bind_text(st, 3, a->mode);
        pgr_bind_int(st, 4, a->rank);
        pgr_bind_text(st, 5, a->path);
        pgr_bind_text(st, 6, a->base_model_sha256);
        pgr_bind_text(st, 7, a->metrics_json);
        pgr_bind_text(st, 8, now);
        rc = run_id(st, id, err);
        s->wrote = 1;
    }
    return pgr_tx_leave(s, own, rc, err);
}

/* ---- full text at commit ---- */
/* fresh: the full-text table has no row id (SQLite: id is above its largest
 * rowid), so there is nothing to delete first. */
static int fts_put(pgr_store *s, int del_stmt, int put_stmt, pgr_id id, int fresh, const char *a,
                   const char *b, const char *c, pgr_err *err)
{
    pgr_stmt *st;
    /* SQLite's FTS rows are replaced by delete + insert; PostgreSQL's put is an
     * UPDATE of the row's tsvector, and its delete clears it. */
    if (!fresh && (!a || !strcmp(s->be->name, "sqlite"))) {
        if (!(st = pgr_st(s, del_stmt, err)))
            return -1;
        pgr_bind_int(st, 1, id);
        if (pgr_exec_queued(st, err) != 0)
            return -1;
    }
    if (!a)
        return 0;
    if (!(st = pgr_st(s, put_stmt, err)))
        return -1;
    pgr_bind_int(st, 1, id);
    pgr_bind_text(st, 2, a);
    if (b)
        pgr_bind_text(st, 3, b);
    if (c)
        pgr_bind_text(st, 4, c);
    return pgr_exec_queued(st, err);
}

static void put_folded(pgr_sb *out, const char *text, pgr_sb *tmp)
{
    tmp->len = 0;
    pgr_fold(text, tmp);
    if (!tmp->len)
        return;
    if (out->len)
        pgr_sb_putc(out, ' ');
    pgr_sb_append(out, tmp->data, tmp->len);
}

/* The text of works and authors is read many ids to a statement (one
 * statement per work and per author was a quarter of a large load's commit,
 * and on PostgreSQL a round trip each). Rows come ordered by id; an id with
 * no row is gone (its full-text row is deleted). */
#define FTS_CHUNK 512

static const char *const fts_text_sql[2] = {
    "SELECT w.id, w.title, w.abstract, a.display_name, s.raw_name FROM works w LEFT JOIN "
    "authorships s ON s.work_id = w.id LEFT JOIN authors a ON a.id = s.author_id WHERE w.id IN "
    "%s ORDER BY w.id, s.position, s.author_id",
    "SELECT a.id, a.display_name, a.merged_into, n.name FROM authors a LEFT JOIN author_names n "
    "ON n.author_id = a.id WHERE a.id IN %s ORDER BY a.id, n.id",
};

/* One work's folded fields from rows of fts_text_sql[0] (the first row read). */
static int fts_work_rows(pgr_stmt *st, int *r, pgr_sb *t, pgr_sb *a, pgr_sb *n, pgr_sb *d,
                         pgr_sb *raw, pgr_err *err)
{
    pgr_id id = pgr_col_int(st, 0);
    t->len = a->len = n->len = 0;
    pgr_sb_puts(t, "");
    pgr_sb_puts(a, "");
    pgr_sb_puts(n, "");
    pgr_fold(pgr_col_text(st, 1), t);
    pgr_fold(pgr_col_text(st, 2), a);
    do {
        d->len = raw->len = 0;
        pgr_fold(pgr_col_text(st, 3), d);
        pgr_fold(pgr_col_text(st, 4), raw);
        if (d->len) {
            if (n->len)
                pgr_sb_putc(n, ' ');
            pgr_sb_append(n, d->data, d->len);
        }
        /* the raw printed name usually folds to the display name: once is enough */
        if (raw->len && (raw->len != d->len || memcmp(raw->data, d->data, raw->len) != 0)) {
            if (n->len)
                pgr_sb_putc(n, ' ');
            pgr_sb_append(n, raw->data, raw->len);
        }
    } while ((*r = pgr_step(st, err)) == 1 && pgr_col_int(st, 0) == id);
    if (*r < 0)
        return -1;
    return pgr_sb_ok(t) && pgr_sb_ok(a) && pgr_sb_ok(n) && pgr_sb_ok(d) && pgr_sb_ok(raw)
               ? 0
               : OOM(err);
}

static int fts_author_rows(pgr_stmt *st, int *r, pgr_sb *names, pgr_sb *tmp, int *merged,
                           pgr_err *err)
{
    pgr_id id = pgr_col_int(st, 0);
    names->len = 0;
    pgr_sb_puts(names, "");
    *merged = !pgr_col_null(st, 2);
    put_folded(names, pgr_col_text(st, 1), tmp);
    do
        put_folded(names, pgr_col_text(st, 3), tmp);
    while ((*r = pgr_step(st, err)) == 1 && pgr_col_int(st, 0) == id);
    if (*r < 0)
        return -1;
    return pgr_sb_ok(names) && pgr_sb_ok(tmp) ? 0 : OOM(err);
}

/* SQLite: does work id's full-text row hold this text already? Then its
 * FTS5 row and its search index entries stay (no rewrite, no dirty mark).
 * An author merge marks every work of both authors, and most keep their
 * text (the names as indexed are the same): 4,478 works rewritten for 200
 * new records in docs/benchmarks.md. */
static int fts_same(pgr_store *s, pgr_id id, const char *const x[3], int *same, pgr_err *err)
{
    *same = 0;
    pgr_stmt *st = pgr_st_dyn(s, "fts_work_same",
                              "SELECT c0, c1, c2 FROM works_fts_content WHERE id = $1", err);
    if (!st)
        return -1;
    pgr_bind_int(st, 1, id);
    int r = pgr_step(st, err);
    if (r == 1) {
        *same = 1;
        for (int k = 0; k < 3 && *same; k++) {
            const char *o = pgr_col_null(st, k) ? NULL : pgr_col_text(st, k);
            *same = (!o && !x[k]) || (o && x[k] && !strcmp(o, x[k]));
        }
    }
    pgr_reset(st);
    return r < 0 ? -1 : 0;
}

/* Refreshes the full-text rows of ids (sorted, unique) of one kind
 * (0 works, 1 authors); ids above max have no row yet. */
static int fts_refresh(pgr_store *s, int kind, const pgr_id *ids, size_t n, pgr_id max,
                       pgr_err *err)
{
    char sql[600];
    snprintf(sql, sizeof sql, fts_text_sql[kind], pgr_ids_sql(s));
    int del = kind ? ST_FTS_AUTHOR_DEL : ST_FTS_WORK_DEL, put = kind ? ST_FTS_AUTHOR_PUT : ST_FTS_WORK_PUT;
    pgr_sb list = {0}, t = {0}, a = {0}, nm = {0}, d = {0}, raw = {0};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i += FTS_CHUNK) {
        size_t m = n - i < FTS_CHUNK ? n - i : FTS_CHUNK;
        pgr_ids_param(s, ids + i, m, &list);
        pgr_stmt *st = pgr_sb_ok(&list) ? pgr_st_dyn(s, kind ? "fts_author_text" : "fts_work_text",
                                                     sql, err)
                                        : NULL;
        if (!st) {
            rc = pgr_sb_ok(&list) ? -1 : OOM(err);
            break;
        }
        pgr_bind_text(st, 1, list.data);
        /* the rows are copied out before any put: a put must not run while
         * this statement is open (PostgreSQL holds one result at a time
         * anyway; SQLite would see its own writes) */
        typedef struct fts_row {
            pgr_id id;
            size_t off[3]; /* into buf; (size_t)-1 = no text */
        } fts_row;
        fts_row *rows = calloc(m, sizeof *rows);
        pgr_sb buf = {0};
        size_t nr = 0;
        int r = rows ? pgr_step(st, err) : (OOM(err), -1);
        while (r == 1 && rc == 0) {
            if (nr == m) { /* more ids than asked for: cannot be */
                rc = pgr_errf(err, PGR_EINTERNAL, "fts refresh: unexpected row");
                break;
            }
            fts_row *fr = &rows[nr++];
            fr->id = pgr_col_int(st, 0);
            int merged = 0;
            if (kind == 0) {
                rc = fts_work_rows(st, &r, &t, &a, &nm, &d, &raw, err);
            } else {
                rc = fts_author_rows(st, &r, &t, &d, &merged, err);
            }
            if (rc != 0)
                break;
            const pgr_sb *f[3] = {&t, &a, &nm};
            for (int k = 0; k < 3; k++) {
                fr->off[k] = (size_t)-1;
                if (k > 0 && kind == 1)
                    continue;
                if (kind == 1 && merged)
                    continue; /* a merged-away author has no text of its own */
                fr->off[k] = buf.len;
                pgr_sb_append(&buf, f[k]->data ? f[k]->data : "", f[k]->len);
                pgr_sb_putc(&buf, '\0');
            }
        }
        if (r < 0)
            rc = -1;
        pgr_reset(st);
        if (rc == 0 && !pgr_sb_ok(&buf))
            rc = OOM(err);
        /* every id of the chunk: its row's text, or none (deleted) */
        size_t j = 0;
        for (size_t q = 0; rc == 0 && q < m; q++) {
            pgr_id id = ids[i + q];
            while (j < nr && rows[j].id < id)
                j++;
            const fts_row *fr = j < nr && rows[j].id == id ? &rows[j] : NULL;
            const char *x[3] = {NULL, NULL, NULL};
            for (int k = 0; fr && k < 3; k++)
                if (fr->off[k] != (size_t)-1)
                    x[k] = buf.data + fr->off[k];
            int same = 0;
            if (kind == 0 && fr && id <= max && !strcmp(s->be->name, "sqlite") &&
                (rc = fts_same(s, id, x, &same, err)) == 0 && same)
                continue;
            /* the search index's lists hold the old text's weights (search_topk.c) */
            if (rc == 0 && kind == 0)
                rc = pgr_topk_dirty(s, id, err);
            if (rc == 0)
                rc = fts_put(s, del, put, id, id > max, x[0], x[1], x[2], err);
        }
        free(rows);
        pgr_sb_free(&buf);
    }
    pgr_sb_free(&list);
    pgr_sb_free(&t);
    pgr_sb_free(&a);
    pgr_sb_free(&nm);
    pgr_sb_free(&d);
    pgr_sb_free(&raw);
    return rc;
}

#define PGR_ID_MAX INT64_MAX

/* The largest rowid of an FTS5 table (0 when empty): FTS5 walks rowids in
 * descending order without a scan. table is one of ours, not input. */
static int fts_max_rowid(pgr_store *s, const char *table, pgr_id *out, pgr_err *err)
{
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT rowid FROM %s ORDER BY rowid DESC LIMIT 1", table);
    pgr_stmt *st = pgr_st_dyn(s, "fts_max_rowid", sql, err);
    return st ? pgr_query_id(st, out, err) : -1;
}

int pgr_fts_flush(pgr_store *s, pgr_err *err)
{
    int rc = 0;
    pgr_idset_sort(&s->fts_works);
    pgr_idset_sort(&s->fts_authors);
    /* ids above an FTS table's largest rowid have no row to delete (a fresh
     * load's works and authors): half the statements */
    pgr_id max_w = PGR_ID_MAX, max_a = PGR_ID_MAX;
    if (!strcmp(s->be->name, "sqlite") && (s->fts_works.n || s->fts_authors.n))
        rc = fts_max_rowid(s, "works_fts", &max_w, err) != 0 ||
                     fts_max_rowid(s, "authors_fts", &max_a, err) != 0
                 ? -1
                 : 0;
    if (rc == 0)
        rc = fts_refresh(s, 0, s->fts_works.v, s->fts_works.n, max_w, err);
    if (rc == 0)
        rc = fts_refresh(s, 1, s->fts_authors.v, s->fts_authors.n, max_a, err);
    if (rc == 0)
        s->fts_works.n = s->fts_authors.n = 0;
    return rc;
}
