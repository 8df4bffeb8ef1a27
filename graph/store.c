/* The store core: opening by URL, migrations, transactions, the statement
 * table and its helpers. Backend specifics live in store_sqlite.c / store_pg.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "graph/migrations.h"
#include "graph/store_impl.h"

const char *const pgr_sql_shared[ST_COUNT] = {
#define PGR_ST_SQL(id, name, sql) [id] = sql,
    PGR_STATEMENTS(PGR_ST_SQL)
#undef PGR_ST_SQL
};
const char *const pgr_sql_names[ST_COUNT] = {
#define PGR_ST_NAME(id, name, sql) [id] = name,
    PGR_STATEMENTS(PGR_ST_NAME)
#undef PGR_ST_NAME
};

/* ---- id sets ---- */
int pgr_idset_add(pgr_idset *set, pgr_id id)
{
    if (set->n && set->v[set->n - 1] == id)
        return 0; /* the common case: the same id written repeatedly */
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 64, bytes;
        if (!pgr_mul_ok(cap, sizeof *set->v, &bytes))
            return -1;
        pgr_id *v = realloc(set->v, bytes);
        if (!v)
            return -1;
        set->v = v;
        set->cap = cap;
    }
    set->v[set->n++] = id;
    return 0;
}

static int cmp_id(const void *a, const void *b)
{
    pgr_id x = *(const pgr_id *)a, y = *(const pgr_id *)b;
    return x < y ? -1 : x > y;
}

void pgr_idset_sort(pgr_idset *set)
{
    if (set->n < 2)
        return;
    qsort(set->v, set->n, sizeof *set->v, cmp_id);
    size_t k = 1;
    for (size_t i = 1; i < set->n; i++)
        if (set->v[i] != set->v[k - 1])
            set->v[k++] = set->v[i];
    set->n = k;
}

int pgr_idset_has(const pgr_idset *set, pgr_id id)
{
    return set->n && bsearch(&id, set->v, set->n, sizeof *set->v, cmp_id) != NULL;
}

void pgr_idset_free(pgr_idset *set)
{
    free(set->v);
    memset(set, 0, sizeof *set);
}

/* ---- errors ---- */
int pgr_db_err_at(pgr_store *s, pgr_err *err, int code, const char *place, const char *stmt,
                  const char *msg)
{
    char m[900];
    snprintf(m, sizeof m, "%s", msg ? msg : "unknown error");
    size_t n = strlen(m);
    while (n && (m[n - 1] == '\n' || m[n - 1] == ' '))
        m[--n] = '\0'; /* libpq messages end in newlines */
    int has_place = place && *place;
    return pgr_errf(err, code, "%s%s%s: %s: %s", has_place ? place : "", has_place ? ": " : "",
                    s && s->be ? s->be->name : "db", stmt ? stmt : "?", m);
}

int pgr_db_err(pgr_store *s, pgr_err *err, int code, const char *stmt, const char *msg)
{
    return pgr_db_err_at(s, err, code, s ? s->place : NULL, stmt, msg);
}

void pgr_set_place(pgr_store *s, const char *place)
{
    /* a place is short ("line 123456: record 78"); a longer one is cut */
    snprintf(s->place, sizeof s->place, "%s", place ? place : "");
}

/* ---- SQL dialect ---- */
char *pgr_sql_to_sqlite(const char *sql)
{
    size_t n = strlen(sql);
    char *out = malloc(n + 1), *o = out;
    if (!out)
        return NULL;
    char quote = 0;
    for (const char *p = sql; *p;) {
        if (quote) {
            if (*p == quote)
                quote = 0;
            *o++ = *p++;
            continue;
        }
        if (*p == '\'' || *p == '"') {
            quote = *p;
            *o++ = *p++;
        } else if (*p == '$' && p[1] >= '0' && p[1] <= '9') {
            *o++ = '?';
            p++;
        } else if (p[0] == ':' && p[1] == ':') {
            /* drop the cast: ::name */
            p += 2;
            while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')
                p++;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return out;
}

/* ---- statements ---- */
static pgr_stmt *stmt_new(pgr_store *s, const char *name, const char *sql, pgr_err *err)
{
    pgr_stmt *st = calloc(1, sizeof *st);
    if (!st) {
        pgr_errf(err, PGR_ENOMEM, "%s: %s: out of memory", s->be->name, name);
        return NULL;
    }
    st->s = s;
    st->name = name;
    st->sql = strdup(sql);
    if (!st->sql) {
        free(st);
        pgr_errf(err, PGR_ENOMEM, "%s: %s: out of memory", s->be->name, name);
        return NULL;
    }
    if (s->be->prepare(st, err) != 0) {
        free(st->sql);
        free(st);
        return NULL;
    }
    return st;
}

static void stmt_free(pgr_stmt *st)
{
    if (!st)
        return;
    st->s->be->finalize(st);
    free(st->sql);
    free(st);
}

pgr_stmt *pgr_st_once(pgr_store *s, const char *name, const char *sql, pgr_err *err)
{
    return stmt_new(s, name, sql, err);
}

void pgr_st_once_free(pgr_stmt *st)
{
    if (st && st->started)
        pgr_reset(st);
    stmt_free(st);
}

pgr_stmt *pgr_st(pgr_store *s, int id, pgr_err *err)
{
    if (id < 0 || id >= ST_COUNT) {
        pgr_errf(err, PGR_EINTERNAL, "statement %d out of range", id);
        return NULL;
    }
    pgr_stmt *st = s->stmts[id];
    if (st) {
        if (st->started)
            pgr_reset(st);
        return st;
    }
    const char *sql = s->be->sql[id] ? s->be->sql[id] : pgr_sql_shared[id];
    if (!sql) {
        pgr_errf(err, PGR_EINTERNAL, "%s: %s: no SQL for this backend", s->be->name,
                 pgr_sql_names[id]);
        return NULL;
    }
    st = stmt_new(s, pgr_sql_names[id], sql, err);
    s->stmts[id] = st;
    return st;
}

pgr_stmt *pgr_st_prov(pgr_store *s, int id, int kind, pgr_err *err)
{
    if (id < 0 || id >= ST_COUNT) {
        pgr_errf(err, PGR_EINTERNAL, "statement %d out of range", id);
        return NULL;
    }
    pgr_stmt *st = s->prov_stmts[id];
    if (st) {
        if (st->started)
            pgr_reset(st);
        return st;
    }
    const char *base = s->be->sql[id] ? s->be->sql[id] : pgr_sql_shared[id];
    if (!base) {
        pgr_errf(err, PGR_EINTERNAL, "%s: %s: no SQL for this backend", s->be->name,
                 pgr_sql_names[id]);
        return NULL;
    }
    int n = 0; /* the highest $N of the base statement */
    for (const char *p = base; *p; p++)
        if (*p == '$' && p[1] >= '1' && p[1] <= '9') {
            int v = (int)strtol(p + 1, NULL, 10);
            if (v > n)
                n = v;
        }
    pgr_sb sql = {0};
    pgr_sb_printf(&sql,
                  "WITH r AS (%s) INSERT INTO provenance (kind, fact_id, source_id) SELECT %d, "
                  "id, $%d::bigint FROM r ON CONFLICT DO NOTHING",
                  base, kind, n + 1);
    if (!pgr_sb_ok(&sql)) {
        pgr_sb_free(&sql);
        pgr_errf(err, PGR_ENOMEM, "%s: %s: out of memory", s->be->name, pgr_sql_names[id]);
        return NULL;
    }
    st = stmt_new(s, pgr_sql_names[id], sql.data, err);
    pgr_sb_free(&sql);
    s->prov_stmts[id] = st;
    return st;
}

pgr_stmt *pgr_st_dyn(pgr_store *s, const char *name, const char *sql, pgr_err *err)
{
    int victim = -1;
    for (int i = 0; i < PGR_DYN_CACHE; i++) {
        pgr_stmt *st = s->dyn[i].st;
        if (st && strcmp(st->sql, sql) == 0) {
            s->dyn[i].used = ++s->dyn_clock;
            if (st->started)
                pgr_reset(st);
            st->name = name;
            return st;
        }
    }
    for (int i = 0; i < PGR_DYN_CACHE; i++) {
        if (!s->dyn[i].st) {
            victim = i;
            break;
        }
        if (victim < 0 || s->dyn[i].used < s->dyn[victim].used)
            victim = i;
    }
    pgr_stmt *st = stmt_new(s, name, sql, err);
    if (!st)
        return NULL;
    stmt_free(s->dyn[victim].st);
    s->dyn[victim].st = st;
    s->dyn[victim].used = ++s->dyn_clock;
    return st;
}

static pgr_param *param(pgr_stmt *st, int idx)
{
    if (st->started)
        pgr_reset(st);
    if (idx < 1 || idx > PGR_MAX_PARAMS)
        return NULL;
    if (idx > st->n_params) {
        for (int i = st->n_params; i < idx; i++)
            st->p[i].type = PT_NULL;
        st->n_params = idx;
    }
    return &st->p[idx - 1];
}

void pgr_bind_int(pgr_stmt *st, int idx, int64_t v)
{
    pgr_param *p = param(st, idx);
    if (p) {
        p->type = PT_INT;
        p->i = v;
    }
}

void pgr_bind_double(pgr_stmt *st, int idx, double v)
{
    pgr_param *p = param(st, idx);
    if (p) {
        p->type = isnan(v) ? PT_NULL : PT_DOUBLE;
        p->d = v;
    }
}

void pgr_bind_text(pgr_stmt *st, int idx, const char *v)
{
    pgr_param *p = param(st, idx);
    if (p) {
        p->type = v ? PT_TEXT : PT_NULL;
        p->s = v;
    }
}

void pgr_bind_null(pgr_stmt *st, int idx)
{
    pgr_param *p = param(st, idx);
    if (p)
        p->type = PT_NULL;
}

void pgr_bind_id(pgr_stmt *st, int idx, pgr_id v)
{
    if (v > 0)
        pgr_bind_int(st, idx, v);
    else
        pgr_bind_null(st, idx);
}

void pgr_bind_optint(pgr_stmt *st, int idx, int64_t v)
{
    if (v >= 0)
        pgr_bind_int(st, idx, v);
    else
        pgr_bind_null(st, idx);
}

int pgr_step(pgr_stmt *st, pgr_err *err)
{
    st->started = 1;
    int rc = st->s->be->step(st, err);
    return rc;
}

int pgr_batch(pgr_store *s, pgr_stmt **sts, int n, pgr_err *err)
{
    if (!s->be->batch || n < 2)
        return 0;
    for (int i = 0; i < n; i++)
        sts[i]->started = 1;
    return s->be->batch(sts, n, err);
}

void pgr_reset(pgr_stmt *st)
{
    st->s->be->reset(st);
    st->started = 0;
    st->n_params = 0;
}

int pgr_exec_st(pgr_stmt *st, pgr_err *err)
{
    int rc;
    while ((rc = pgr_step(st, err)) == 1)
        ;
    pgr_reset(st);
    return rc < 0 ? -1 : 0;
}

int pgr_exec_queued(pgr_stmt *st, pgr_err *err)
{
    if (!st->s->be->queue)
        return pgr_exec_st(st, err);
    st->started = 1;
    int rc = st->s->be->queue(st, err);
    pgr_reset(st);
    return rc;
}

int pgr_query_id(pgr_stmt *st, pgr_id *out, pgr_err *err)
{
    int rc = pgr_step(st, err);
    *out = 0;
    if (rc == 1 && !pgr_col_null(st, 0))
        *out = pgr_col_int(st, 0);
    pgr_reset(st);
    return rc < 0 ? -1 : 0;
}

int pgr_col_null(pgr_stmt *st, int col) { return st->s->be->col_null(st, col); }
int64_t pgr_col_int(pgr_stmt *st, int col) { return st->s->be->col_int(st, col); }
double pgr_col_double(pgr_stmt *st, int col)
{
    return st->s->be->col_null(st, col) ? NAN : st->s->be->col_double(st, col);
}
const char *pgr_col_text(pgr_stmt *st, int col) { return st->s->be->col_text(st, col); }

/* ---- time ---- */
void pgr_now_iso(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- open / close / migrate ---- */
static int parse_url(const char *url, const pgr_backend **be, const char **target, pgr_err *err)
{
    if (!url || !*url)
        return pgr_errf(err, PGR_EINVAL, "database URL is empty (use sqlite:PATH or postgres://...)");
    if (strncmp(url, "sqlite:", 7) == 0) {
        *be = &pgr_backend_sqlite;
        *target = url + 7;
        if (strncmp(*target, "//", 2) == 0)
            *target += 2; /* sqlite://PATH is accepted too */
        if (!**target)
            return pgr_errf(err, PGR_EINVAL, "database URL '%s': no file path after sqlite:", url);
        return 0;
    }
    if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0) {
        *be = &pgr_backend_postgres;
        *target = url;
        return 0;
    }
    return pgr_errf(err, PGR_EINVAL,
                    "database URL '%s': unknown scheme (use sqlite:PATH or postgres://...)", url);
}

int pgr_schema_latest(const char *backend)
{
    int v = 0;
    for (const struct pgr_migration *m = pgr_migrations; m->backend; m++)
        if (!strcmp(m->backend, backend) && m->version > v)
            v = m->version;
    return v;
}

const char *pgr_store_backend(const pgr_store *s) { return s->be->name; }

static int read_version(pgr_store *s, int *version, pgr_err *err)
{
    pgr_stmt *st = pgr_st(s, ST_SCHEMA_VERSION, err);
    pgr_id v;
    if (!st || pgr_query_id(st, &v, err) != 0)
        return -1;
    *version = (int)v;
    return 0;
}

int pgr_store_schema_version(pgr_store *s, int *version, pgr_err *err)
{
    return read_version(s, version, err);
}

static const char *newer_msg = "%s: database schema version %d is newer than this peergraph "
                               "(it knows up to %d); use a newer peergraph binary";

/* Applies the missing migrations in one transaction. PostgreSQL takes a
 * transaction-scoped advisory lock and SQLite an immediate write lock first,
 * so two processes starting at once migrate once. */
static int migrate_open(pgr_store *s, const char *url, int *from, int *to, pgr_err *err)
{
    int latest = pgr_schema_latest(s->be->name), version = 0, rc = -1;
    if (s->be->exec(s, "schema_begin", s->be->begin_sql, err) != 0)
        return -1;
    s->in_tx = 1;
    if (!strcmp(s->be->name, "postgres") &&
        s->be->exec(s, "schema_lock", "SELECT pg_advisory_xact_lock(7263001)", err) != 0)
        goto cleanup;
    if (s->be->exec(s, "schema_table",
                    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
                    "name TEXT NOT NULL, applied_at TEXT NOT NULL)",
                    err) != 0)
        goto cleanup;
    if (read_version(s, &version, err) != 0)
        goto cleanup;
    if (from)
        *from = version;
    if (version > latest) {
        pgr_errf(err, PGR_EVERSION, newer_msg, url, version, latest);
        goto cleanup;
    }
    for (int v = version + 1; v <= latest; v++) {
        const struct pgr_migration *m = pgr_migrations;
        while (m->backend && (strcmp(m->backend, s->be->name) || m->version != v))
            m++;
        if (!m->backend) {
            pgr_errf(err, PGR_EINTERNAL, "%s: migration %d missing from this binary", s->be->name, v);
            goto cleanup;
        }
        if (s->be->exec(s, m->name, m->sql, err) != 0)
            goto cleanup;
        char now[32];
        pgr_now_iso(now);
        pgr_stmt *st = pgr_st(s, ST_SCHEMA_RECORD, err);
        if (!st)
            goto cleanup;
        pgr_bind_int(st, 1, v);
        pgr_bind_text(st, 2, m->name);
        pgr_bind_text(st, 3, now);
        if (pgr_exec_st(st, err) != 0)
            goto cleanup;
    }
    if (to)
        *to = latest > version ? latest : version;
    rc = 0;
cleanup:
    if (rc == 0)
        rc = s->be->exec(s, "schema_commit", "COMMIT", err);
    else
        s->be->exec(s, "schema_rollback", "ROLLBACK", NULL);
    s->in_tx = 0;
    return rc;
}

static int open_impl(const char *url, int migrate, int *from, int *to, pgr_store **out,
                     pgr_err *err)
{
    const pgr_backend *be = NULL;
    const char *target = NULL;
    *out = NULL;
    if (parse_url(url, &be, &target, err) != 0)
        return -1;
    pgr_store *s = calloc(1, sizeof *s);
    if (!s)
        return pgr_errf(err, PGR_ENOMEM, "%s: out of memory", url);
    s->be = be;
    s->lock_fd = -1;
    if (be->connect(s, target, err) != 0) {
        pgr_err_prefix(err, "%s", url);
        free(s->path);
        free(s);
        return -1;
    }
    if (migrate) {
        if (migrate_open(s, url, from, to, err) != 0)
            goto fail;
    } else {
        int version = 0, latest = pgr_schema_latest(be->name);
        pgr_err e2;
        if (read_version(s, &version, &e2) != 0)
            version = 0; /* no schema_version table: an empty database */
        if (version > latest) {
            pgr_errf(err, PGR_EVERSION, newer_msg, url, version, latest);
            goto fail;
        }
        if (version < latest) {
            pgr_errf(err, PGR_EVERSION,
                     "%s: database schema version %d is older than this peergraph's %d; run "
                     "peergraph migrate --db URL",
                     url, version, latest);
            goto fail;
        }
    }
    *out = s;
    return 0;
fail:
    pgr_store_close(s);
    return -1;
}

int pgr_store_open(const char *url, pgr_store **out, pgr_err *err)
{
    return open_impl(url, 1, NULL, NULL, out, err);
}

int pgr_store_open_nomigrate(const char *url, pgr_store **out, pgr_err *err)
{
    return open_impl(url, 0, NULL, NULL, out, err);
}

int pgr_migrate(const char *url, int *from, int *to, pgr_err *err)
{
    pgr_store *s;
    if (open_impl(url, 1, from, to, &s, err) != 0)
        return -1;
    pgr_store_close(s);
    return 0;
}

void pgr_store_forget_caches(pgr_store *s)
{
    free(s->venue_cache_name);
    s->venue_cache_name = NULL;
    s->venue_cache_id = 0;
}

static void forget_deferred(pgr_store *s);

void pgr_store_close(pgr_store *s)
{
    if (!s)
        return;
    if (s->in_tx)
        pgr_rollback(s, NULL);
    pgr_run_unlock(s);
    pgr_topk_free(s);
    for (int i = 0; i < ST_COUNT; i++) {
        stmt_free(s->stmts[i]);
        stmt_free(s->prov_stmts[i]);
    }
    for (int i = 0; i < PGR_DYN_CACHE; i++)
        stmt_free(s->dyn[i].st);
    s->be->disconnect(s);
    pgr_idset_free(&s->fts_works);
    pgr_idset_free(&s->fts_authors);
    pgr_idset_free(&s->dirty_authors);
    pgr_idset_free(&s->dirty_cited);
    pgr_store_forget_caches(s);
    pgr_bulk_discard(s);
    forget_deferred(s);
    pgr_keys_forget(s);
    free(s->prov);
    free(s->path);
    free(s);
}

/* ---- deferred indexes (pgr_defer_indexes) ---- */

/* The indexes no ingest statement reads (checked against store_sql.h: the
 * lookups, merges, deletes of a replaced source and the per-file reads use
 * the unique keys, norm_title/norm_name, authorships by author, citations by
 * target, provenance's primary key). Everything else a load would maintain
 * row by row for the readers of the finished graph. */
static const char *const deferrable_indexes[] = {
    "works_year",          "works_type",           "works_has_code",
    "works_cited_by_count", "works_sort_date",     "works_venue",
    "authors_works_count", "authors_cited_by_count", "authorships_institution",
    "work_topics_topic",   "provenance_source",
};
#define N_DEFERRABLE (sizeof deferrable_indexes / sizeof *deferrable_indexes)
/* A metrics recompute reads work_topics by topic (recounts) and authorships
 * by author: those stay. */
static const char *const metric_indexes[] = {
    "authors_works_count", "authors_cited_by_count", "works_cited_by_count", "author_topics_topic",
};
#define N_METRIC (sizeof metric_indexes / sizeof *metric_indexes)
/* Page cache while indexes are deferred (KiB, negative as PRAGMA wants):
 * a large load's working set; the connection's usual size after. */
#define SQLITE_CACHE_LOAD "PRAGMA cache_size=-262144"
#define SQLITE_CACHE_NORMAL "PRAGMA cache_size=-65536"

static void forget_deferred(pgr_store *s)
{
    for (size_t i = 0; i < s->n_deferred; i++)
        free(s->deferred[i]);
    free(s->deferred);
    s->deferred = NULL;
    s->n_deferred = 0;
}

static int defer_list(pgr_store *s, const char *const *names, size_t n, int *deferred,
                      pgr_err *err);

int pgr_defer_indexes(pgr_store *s, int *deferred, pgr_err *err)
{
    return defer_list(s, deferrable_indexes, N_DEFERRABLE, deferred, err);
}

int pgr_defer_metric_indexes(pgr_store *s, int *deferred, pgr_err *err)
{
    return defer_list(s, metric_indexes, N_METRIC, deferred, err);
}

static int defer_list(pgr_store *s, const char *const *names, size_t n_names, int *deferred,
                      pgr_err *err)
{
    if (deferred)
        *deferred = 0;
    if (!s->in_tx)
        return pgr_errf(err, PGR_EINVAL, "%s: defer_indexes: no transaction is open", s->be->name);
    if (strcmp(s->be->name, "sqlite") != 0 || s->n_deferred)
        return 0;
    s->deferred = calloc(n_names, sizeof *s->deferred);
    if (!s->deferred)
        return pgr_errf(err, PGR_ENOMEM, "out of memory");
    pgr_stmt *st = pgr_st_dyn(s, "deferrable_index",
                              "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = $1",
                              err);
    if (!st)
        return -1;
    for (size_t i = 0; i < n_names; i++) {
        pgr_bind_text(st, 1, names[i]);
        int r = pgr_step(st, err);
        const char *sql = r == 1 ? pgr_col_text(st, 0) : NULL;
        char *copy = sql ? strdup(sql) : NULL;
        pgr_reset(st);
        if (r < 0)
            return -1;
        if (!sql)
            continue; /* a schema without it (older or newer): nothing to defer */
        if (!copy)
            return pgr_errf(err, PGR_ENOMEM, "out of memory");
        char drop[96];
        snprintf(drop, sizeof drop, "DROP INDEX %s", names[i]);
        if (s->be->exec(s, "defer_index", drop, err) != 0) {
            free(copy);
            return -1;
        }
        s->deferred[s->n_deferred++] = copy;
    }
    if (s->be->exec(s, "cache_size", SQLITE_CACHE_LOAD, err) != 0)
        return -1;
    if (deferred)
        *deferred = (int)s->n_deferred;
    return 0;
}

static int recreate_indexes(pgr_store *s, pgr_err *err)
{
    for (size_t i = 0; i < s->n_deferred; i++)
        if (s->be->exec(s, "recreate_index", s->deferred[i], err) != 0)
            return -1;
    if (s->n_deferred) {
        forget_deferred(s);
        return s->be->exec(s, "cache_size", SQLITE_CACHE_NORMAL, err);
    }
    return 0;
}

int pgr_graph_size(pgr_store *s, int64_t *works, int64_t *authors, pgr_err *err)
{
    pgr_stmt *st = pgr_st_dyn(s, "graph_size",
                              "SELECT (SELECT COALESCE(MAX(id), 0) FROM works), "
                              "(SELECT COALESCE(MAX(id), 0) FROM authors)",
                              err);
    if (!st)
        return -1;
    int r = pgr_step(st, err);
    if (r == 1) {
        *works = pgr_col_int(st, 0);
        *authors = pgr_col_int(st, 1);
    }
    pgr_reset(st);
    if (r < 0)
        return -1;
    if (r == 0)
        *works = *authors = 0;
    return 0;
}

/* ---- transactions ---- */
int pgr_begin(pgr_store *s, pgr_err *err)
{
    if (s->in_tx)
        return pgr_errf(err, PGR_EINVAL, "%s: begin: a transaction is already open", s->be->name);
    /* Created outside any transaction, so no rollback can take it away from
     * the statements prepared against it; it lives as long as the session. */
    if (!s->tmp_ids_ready) {
        const char *sql = !strcmp(s->be->name, "sqlite")
                              ? "CREATE TEMP TABLE IF NOT EXISTS pgr_tmp_ids (id INTEGER PRIMARY KEY)"
                              : "CREATE TEMP TABLE IF NOT EXISTS pgr_tmp_ids (id BIGINT PRIMARY KEY)";
        if (s->be->exec(s, "tmp_ids_create", sql, err) != 0)
            return -1;
        s->tmp_ids_ready = 1;
    }
    if (s->be->exec(s, "begin", s->be->begin_sql, err) != 0)
        return -1;
    s->in_tx = 1;
    s->wrote = 0;
    return 0;
}

int pgr_commit(pgr_store *s, pgr_err *err)
{
    if (!s->in_tx)
        return pgr_errf(err, PGR_EINVAL, "%s: commit: no transaction is open", s->be->name);
    if (pgr_bulk_flush(s, err) != 0 || pgr_prov_flush(s, err) != 0 ||
        pgr_fts_flush(s, err) != 0 || recreate_indexes(s, err) != 0 ||
        pgr_ids_sync(s, err) != 0)
        return -1;
    if (s->wrote) {
        pgr_stmt *st = pgr_st(s, ST_DATA_VERSION_BUMP, err);
        if (!st || pgr_exec_st(st, err) != 0)
            return -1;
    }
    pgr_keys_forget(s);
    if (s->be->exec(s, "commit", "COMMIT", err) != 0)
        return -1;
    s->in_tx = 0;
    s->wrote = 0;
    return 0;
}

int pgr_rollback(pgr_store *s, pgr_err *err)
{
    if (!s->in_tx)
        return 0;
    for (int i = 0; i < ST_COUNT; i++)
        if (s->stmts[i] && s->stmts[i]->started)
            pgr_reset(s->stmts[i]);
    for (int i = 0; i < PGR_DYN_CACHE; i++)
        if (s->dyn[i].st && s->dyn[i].st->started)
            pgr_reset(s->dyn[i].st);
    s->in_tx = 0;
    s->wrote = 0;
    s->fts_works.n = s->fts_authors.n = 0;
    s->prov_n = 0;
    pgr_bulk_discard(s);
    pgr_store_forget_caches(s); /* ids written in the transaction are gone */
    pgr_ids_forget(s);
    pgr_keys_forget(s);
    int had_deferred = s->n_deferred > 0;
    forget_deferred(s); /* ROLLBACK brings the dropped indexes back */
    int rc = s->be->exec(s, "rollback", "ROLLBACK", err);
    if (had_deferred)
        s->be->exec(s, "cache_size", SQLITE_CACHE_NORMAL, NULL);
    return rc;
}

int pgr_in_transaction(const pgr_store *s) { return s->in_tx; }

#define TMP_IDS_BATCH 500

int pgr_tmp_ids_fill(pgr_store *s, const pgr_id *ids, size_t n, pgr_err *err)
{
    if (!s->in_tx || !s->tmp_ids_ready)
        return pgr_errf(err, PGR_EINTERNAL, "%s: tmp_ids_fill: outside a transaction", s->be->name);
    pgr_stmt *st = pgr_st(s, ST_TMP_IDS_CLEAR, err);
    if (!st || pgr_exec_st(st, err) != 0)
        return -1;
    /* the store's own integers, written as literals many to a statement */
    pgr_sb sql = {0};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n;) {
        pgr_sb_reset(&sql);
        pgr_sb_puts(&sql, "INSERT INTO pgr_tmp_ids (id) VALUES ");
        size_t end = i + TMP_IDS_BATCH < n ? i + TMP_IDS_BATCH : n;
        for (size_t k = i; k < end; k++)
            pgr_sb_printf(&sql, "%s(%lld)", k > i ? ", " : "", (long long)ids[k]);
        pgr_sb_puts(&sql, " ON CONFLICT DO NOTHING");
        rc = pgr_sb_ok(&sql) ? s->be->exec(s, "tmp_ids_fill", sql.data, err)
                             : pgr_errf(err, PGR_ENOMEM, "out of memory");
        i = end;
    }
    pgr_sb_free(&sql);
    if (rc == 0 && n > 1000 && strcmp(s->be->name, "sqlite") != 0)
        rc = s->be->exec(s, "tmp_ids_analyze", "ANALYZE pgr_tmp_ids", err); /* no autovacuum on temp tables */
    return rc;
}

int pgr_tx_enter(pgr_store *s, int *own, pgr_err *err)
{
    *own = 0;
    if (s->in_tx)
        return 0;
    if (pgr_begin(s, err) != 0)
        return -1;
    *own = 1;
    return 0;
}

int pgr_tx_leave(pgr_store *s, int own, int rc, pgr_err *err)
{
    if (!own)
        return rc;
    if (rc != 0) {
        pgr_rollback(s, NULL);
        return rc;
    }
    if (pgr_commit(s, err) != 0) {
        pgr_rollback(s, NULL);
        return -1;
    }
    return 0;
}

int pgr_run_lock(pgr_store *s, int wait, pgr_err *err) { return s->be->run_lock(s, wait, err); }
void pgr_run_unlock(pgr_store *s) { s->be->run_unlock(s); }

int pgr_data_version(pgr_store *s, int64_t *version, pgr_err *err)
{
    pgr_stmt *st = pgr_st(s, ST_DATA_VERSION, err);
    pgr_id v;
    if (!st || pgr_query_id(st, &v, err) != 0)
        return -1;
    *version = v;
    return 0;
}

/* ---- entity names ---- */
static const char *entity_names[PGR_N_ENTITIES] = {"works", "authors", "topics", "sources",
                                                   "institutions"};
static const char entity_letters[PGR_N_ENTITIES] = {'W', 'A', 'T', 'S', 'I'};

const char *pgr_entity_name(pgr_entity e)
{
    return (unsigned)e < PGR_N_ENTITIES ? entity_names[e] : "?";
}
char pgr_entity_letter(pgr_entity e) { return (unsigned)e < PGR_N_ENTITIES ? entity_letters[e] : '?'; }
int pgr_entity_parse(const char *name)
{
    for (int i = 0; name && i < PGR_N_ENTITIES; i++)
        if (!strcmp(name, entity_names[i]))
            return i;
    return -1;
}

int pgr_stats(pgr_store *s, json_t **out, pgr_err *err)
{
    pgr_stmt *st = pgr_st(s, ST_STATS, err);
    *out = NULL;
    if (!st)
        return -1;
    int rc = pgr_step(st, err);
    if (rc == 1) {
        *out = json_pack("{sIsIsIsIsIsIsIsI}", "works", (json_int_t)pgr_col_int(st, 0), "authors",
                         (json_int_t)pgr_col_int(st, 1), "topics", (json_int_t)pgr_col_int(st, 2),
                         "sources", (json_int_t)pgr_col_int(st, 3), "institutions",
                         (json_int_t)pgr_col_int(st, 4), "citations",
                         (json_int_t)pgr_col_int(st, 5), "source_documents",
                         (json_int_t)pgr_col_int(st, 6), "schema_version",
                         (json_int_t)pgr_col_int(st, 7));
    }
    pgr_reset(st);
    if (rc < 0)
        return -1;
    if (!*out)
        return pgr_errf(err, PGR_ENOMEM, "stats: out of memory");
    return 0;
}
