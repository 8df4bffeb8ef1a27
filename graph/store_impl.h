#ifndef PEERGRAPH_STORE_IMPL_H
#define PEERGRAPH_STORE_IMPL_H
/* Private to graph/store*.c: the store object, the backend table and the
 * statement helpers. Nothing outside graph/ includes this.
 *
 * Layering: the backends (store_sqlite.c, store_pg.c) only know how to connect,
 * prepare, bind, step and read columns, plus their dialect's statements
 * (full text, locks). Everything else — upserts, provenance, merges, metrics,
 * JSON shaping, query building — is written once against this interface
 * (store.c, store_write.c, store_read.c, store_query.c, store_graph.c), so the
 * two backends answer the same by construction except where the dialect
 * statements differ (ranking). */
#include <stdint.h>

#include "graph/graph.h"
#include "graph/store_sql.h"

/* Parameter values are borrowed: text must live until the statement is reset. */
enum { PT_NULL = 0, PT_INT, PT_DOUBLE, PT_TEXT };
typedef struct pgr_param {
    int type;
    int64_t i;
    double d;
    const char *s;
} pgr_param;

#define PGR_MAX_PARAMS 48

typedef struct pgr_stmt {
    pgr_store *s;
    const char *name; /* statement name, for error messages */
    char *sql;        /* SQL in the $N dialect (owned) */
    void *h;          /* sqlite3_stmt* or PGresult* of the current execution */
    int prepared;     /* PG: server-side statement exists */
    char pg_name[24];
    int n_params;
    pgr_param p[PGR_MAX_PARAMS];
    int row, n_rows; /* PG: cursor in the current result */
    int started;     /* executing: reset before rebinding */
    int64_t changes; /* rows written by the last execution */
} pgr_stmt;

typedef struct pgr_backend {
    const char *name;                  /* "sqlite" | "postgres" */
    const char *const *sql;            /* dialect statements, indexed by ST_* */
    int (*connect)(pgr_store *s, const char *target, pgr_err *err);
    void (*disconnect)(pgr_store *s);
    /* Runs a script of several statements (migrations, BEGIN/COMMIT). */
    int (*exec)(pgr_store *s, const char *name, const char *sql, pgr_err *err);
    int (*prepare)(pgr_stmt *st, pgr_err *err);
    void (*finalize)(pgr_stmt *st);
    /* Executes on the first call after binding; 1 = a row, 0 = done, -1 = error. */
    int (*step)(pgr_stmt *st, pgr_err *err);
    void (*reset)(pgr_stmt *st);
    int (*col_null)(pgr_stmt *st, int col);
    int64_t (*col_int)(pgr_stmt *st, int col);
    double (*col_double)(pgr_stmt *st, int col);
    const char *(*col_text)(pgr_stmt *st, int col); /* NULL for SQL NULL */
    int (*run_lock)(pgr_store *s, int wait, pgr_err *err);
    void (*run_unlock)(pgr_store *s);
    const char *begin_sql; /* "BEGIN IMMEDIATE" / "BEGIN" */
    /* Executes n bound statements in one round trip (PostgreSQL pipeline);
     * their rows are then read with step as usual. NULL: statements run
     * lazily at their first step (SQLite, in process, has no round trip). */
    int (*batch)(pgr_stmt **sts, int n, pgr_err *err);
    /* Takes a bound write whose result nobody reads and sends it with the
     * next round trip (PostgreSQL); the statement can be rebound at once.
     * NULL: pgr_exec_queued runs it at once (SQLite). */
    int (*queue)(pgr_stmt *st, pgr_err *err);
} pgr_backend;

extern const pgr_backend pgr_backend_sqlite;
extern const pgr_backend pgr_backend_postgres;

/* A set of ids (sorted and deduplicated on demand). */
typedef struct pgr_idset {
    pgr_id *v;
    size_t n, cap;
} pgr_idset;
int pgr_idset_add(pgr_idset *set, pgr_id id); /* 0 ok, -1 out of memory */
void pgr_idset_sort(pgr_idset *set);          /* sort + dedupe */
int pgr_idset_has(const pgr_idset *set, pgr_id id); /* set must be sorted */
void pgr_idset_free(pgr_idset *set);

/* An author's co-authors with the number of works shared (store_author.c):
 * *out (malloc'd, n_out entries) most shared first, then by id. */
typedef struct pgr_coauthor {
    pgr_id id;
    long n;
} pgr_coauthor;
int pgr_coauthor_counts(pgr_store *s, pgr_id author, pgr_coauthor **out, size_t *n_out,
                        pgr_err *err);
/* Counts ids (any order; ids is sorted in place) into (id, count) pairs, most
 * frequent first, ties by id (malloc'd). -1 when out of memory. */
int pgr_rank_ids(pgr_id *ids, size_t n, pgr_coauthor **out, size_t *n_out);

/* An author's counts_by_year as pgr_get builds it, from the works per year
 * the caller already counted (year set once; works summed) and the citations
 * per year that sources reported (read here): the profile page counts its
 * works per year in the same pass that orders them (store_author.c). */
typedef struct pgr_year_count {
    int64_t year, works, cites;
} pgr_year_count;
int pgr_author_years_with(pgr_store *s, pgr_id id, const pgr_year_count *works, size_t n_works,
                          json_t **out, pgr_err *err);

#define PGR_DYN_CACHE 48

struct pgr_store {
    const pgr_backend *be;
    void *conn;         /* sqlite3* / PGconn* */
    char *path;         /* sqlite: file path (run lock: PATH.lock) */
    int lock_fd;        /* sqlite run lock, -1 when not held */
    int pg_locked;      /* postgres run lock held */
    int in_tx, wrote;
    int tmp_ids_ready; /* the session's temporary id table exists (store.c) */
    pgr_stmt *stmts[ST_COUNT];
    /* PostgreSQL: ST_x wrapped so that the server writes the provenance of
     * the row it returns (pgr_st_prov), for queued edge writes. */
    pgr_stmt *prov_stmts[ST_COUNT];
    /* PostgreSQL: work and author ids handed out by the client in the open
     * transaction (pgr_next_id): next to give, last given; 0 = not started. */
    pgr_id next_ids[2], last_ids[2];
    /* Dynamic (built) statements, cached by SQL text. */
    struct {
        pgr_stmt *st;
        uint64_t used;
    } dyn[PGR_DYN_CACHE];
    uint64_t dyn_clock;
    int pg_counter; /* names of server-side statements */
    /* Written in this transaction: refreshed into full text at commit. */
    pgr_idset fts_works, fts_authors;
    /* Touched since the last pgr_metrics_recompute_dirty. */
    pgr_idset dirty_authors, dirty_cited;
    /* Provenance rows (kind, fact, source) not yet written: store_write.c. */
    pgr_id (*prov)[3];
    size_t prov_n, prov_cap;
    /* Bulk rows not yet written (store_bulk.c); NULL outside bulk loading. */
    struct pgr_bulk *bulk;
    /* CREATE INDEX text of the indexes pgr_defer_indexes dropped in the open
     * transaction: recreated by pgr_commit, forgotten by pgr_rollback. */
    char **deferred;
    size_t n_deferred;
    /* The external ids and title keys of the works written in the open
     * transaction, when the graph had no works before it (keys_mode 1): a
     * work whose keys are none of these cannot be in the graph, so its
     * lookups are skipped (store_write.c). 0 = not known yet, 2 = not kept. */
    int keys_mode;
    struct pgr_keyset *keys;
    /* Writes queued by the backend (pgr_backend.queue), owned by it. */
    void *pend;
    /* The input place of the current writes (pgr_set_place), "" = none. */
    char place[64];
    /* pgr_list_limits (0: the defaults of store_query.c) */
    long count_cap;
    int topk_off; /* rank every match, never the top-k path (tests compare) */
    /* the top-k search state (search_topk.c; SQLite only) */
    struct pgr_topk *topk;
    long topk_answered;             /* lists the top-k path answered */
    long topk_listed;               /* works it scored from list entries */
    int topk_list_len, topk_rare;   /* pgr_search_index_params (0: defaults) */
    /* Venue name -> id of the last venue written (most files have one). */
    char *venue_cache_name;
    pgr_id venue_cache_id;
};

/* ---- statements (store.c) ---- */
/* The prepared statement ST_x, prepared on first use; NULL + err on failure. */
pgr_stmt *pgr_st(pgr_store *s, int id, pgr_err *err);
/* PostgreSQL: statement ST_id (an INSERT ... RETURNING id with n bound
 * parameters) inside "WITH r AS (...) INSERT INTO provenance ... SELECT kind,
 * id, $n+1 FROM r", so a queued edge write records its provenance itself. */
pgr_stmt *pgr_st_prov(pgr_store *s, int id, int kind, pgr_err *err);
/* A statement for built SQL ($N placeholders), cached by text. name: for errors. */
pgr_stmt *pgr_st_dyn(pgr_store *s, const char *name, const char *sql, pgr_err *err);

/* A statement for built SQL that is run once (its text changes every time, so
 * caching it would only evict the ones that repeat); free with pgr_st_free. */
pgr_stmt *pgr_st_once(pgr_store *s, const char *name, const char *sql, pgr_err *err);
void pgr_st_once_free(pgr_stmt *st);

void pgr_bind_int(pgr_stmt *st, int idx, int64_t v);   /* idx 1-based as $idx */
void pgr_bind_double(pgr_stmt *st, int idx, double v); /* NAN binds NULL */
void pgr_bind_text(pgr_stmt *st, int idx, const char *v); /* NULL binds NULL */
void pgr_bind_null(pgr_stmt *st, int idx);
void pgr_bind_id(pgr_stmt *st, int idx, pgr_id v);      /* 0 binds NULL */
void pgr_bind_optint(pgr_stmt *st, int idx, int64_t v); /* < 0 binds NULL */

int pgr_step(pgr_stmt *st, pgr_err *err); /* 1 row, 0 done, -1 error */
/* Executes bound statements together where the backend can (see
 * pgr_backend.batch); read each with pgr_step, in any order. */
int pgr_batch(pgr_store *s, pgr_stmt **sts, int n, pgr_err *err);
void pgr_reset(pgr_stmt *st);             /* ends the execution, clears params */
/* Runs to completion and resets. */
int pgr_exec_st(pgr_stmt *st, pgr_err *err);
/* A write whose result (rows, changes) nobody reads: on PostgreSQL it goes
 * to the server with the next statement that needs an answer (no round
 * trip of its own; an error shows there), elsewhere it runs now. Resets.
 * st must come from pgr_st or pgr_st_prov, never pgr_st_dyn or pgr_st_once:
 * those can be freed while the write waits. */
int pgr_exec_queued(pgr_stmt *st, pgr_err *err);
/* First column of the first row as an id (0 when no row); resets. */
int pgr_query_id(pgr_stmt *st, pgr_id *out, pgr_err *err);

int pgr_col_null(pgr_stmt *st, int col);
int64_t pgr_col_int(pgr_stmt *st, int col);
double pgr_col_double(pgr_stmt *st, int col); /* NAN for NULL */
const char *pgr_col_text(pgr_stmt *st, int col);

/* Error from a backend: "<place>: <backend>: <statement>: <message>", the
 * place being s->place (pgr_set_place; left out when none). SQL errors map to
 * PGR_EDB, constraint violations to PGR_ECONFLICT, locks to PGR_EBUSY. */
int pgr_db_err(pgr_store *s, pgr_err *err, int code, const char *stmt, const char *msg);
/* The same for a write made at another place (a queued write): place may be
 * NULL or "" (none). */
int pgr_db_err_at(pgr_store *s, pgr_err *err, int code, const char *place, const char *stmt,
                  const char *msg);

/* Rewrites $N placeholders to ?N and drops ::type casts outside quotes
 * (SQLite's dialect). Returns malloc'd text. */
char *pgr_sql_to_sqlite(const char *sql);

/* Fills the session's temporary table pgr_tmp_ids (created by pgr_begin,
 * so only inside a transaction) with ids, replacing what it held: set-based
 * statements join it instead of running once per id. */
int pgr_tmp_ids_fill(pgr_store *s, const pgr_id *ids, size_t n, pgr_err *err);

/* ---- transactions used by single writes (store.c) ---- */
int pgr_tx_enter(pgr_store *s, int *own, pgr_err *err);
int pgr_tx_leave(pgr_store *s, int own, int rc, pgr_err *err);

/* ---- text (store_text.c) ---- */
/* Folds text for full-text search and name keys: NFKC, case folding, marks
 * stripped, every run of non-letters/digits one space, trimmed. Appends to
 * out. Invalid UTF-8 bytes count as separators. */
void pgr_fold(const char *in, pgr_sb *out);
/* 1 when s is valid UTF-8 without NUL (n bytes). */
int pgr_utf8_valid(const char *s, size_t n);
/* "YYYY-MM-DDTHH:MM:SSZ" now, UTC. */
void pgr_now_iso(char out[32]);

/* ---- writes (store_write.c) ---- */
/* The work an external ref names ("doi:..", "arxiv:..", "openalex:W..", "s2:.."); 0 if none. */
int pgr_work_by_ref(pgr_store *s, const char *ref, pgr_id *id, pgr_err *err);
int pgr_fts_flush(pgr_store *s, pgr_err *err);
/* The sort key of a work's date: the date's first 10 bytes, else the year. */
void pgr_sort_date(const pgr_work_rec *w, char out[16]);
/* The venue named name (created when new; 0 for NULL or ""), cached. */
int pgr_venue_id(pgr_store *s, const char *name, pgr_id *id, pgr_err *err);
/* PostgreSQL client-side ids (store_write.c): pgr_commit moves the identity
 * sequences past the ids handed out (pgr_ids_sync); a rollback forgets them. */
int pgr_ids_sync(pgr_store *s, pgr_err *err);
void pgr_ids_forget(pgr_store *s);
/* Forgets the work keys of the transaction (commit, rollback, close). */
void pgr_keys_forget(pgr_store *s);
/* ---- bulk rows (store_bulk.c) ---- */
/* v as a JSON string (NULL: null) appended to sb. */
void pgr_json_str(pgr_sb *sb, const char *v);
typedef struct pgr_bulk pgr_bulk;
/* Drops unwritten bulk rows (rollback, close). */
void pgr_bulk_discard(pgr_store *s);
/* Writes buffered provenance rows (commit does; so must anything reading them). */
int pgr_prov_flush(pgr_store *s, pgr_err *err);
void pgr_store_forget_caches(pgr_store *s);

/* ---- JSON entities (store_read.c) ---- */
enum { SEL_ALL = 0 };
/* Builds the entity with integer id; select may be NULL. NULL + ENOTFOUND when absent. */
json_t *pgr_entity_json(pgr_store *s, pgr_entity e, pgr_id id, const char *const *select,
                        size_t n_select, pgr_err *err);
/* A set of ids bound as one parameter: pgr_ids_sql is the dialect's "(SELECT
 * ...)" over $1 for "x IN %s", pgr_ids_param writes the $1 text for ids. */
const char *pgr_ids_sql(const pgr_store *s);
void pgr_ids_param(const pgr_store *s, const pgr_id *ids, size_t n, pgr_sb *out);
/* Builds entities ids[0..n) into objs[] in the same order: works in one
 * statement per part for the whole set (lists), the others one by one. A
 * work that does not exist leaves NULL. 0 ok; -1 with err, objs all NULL. */
int pgr_entities_json(pgr_store *s, pgr_entity e, const pgr_id *ids, size_t n,
                      const char *const *select, size_t n_select, json_t **objs, pgr_err *err);
/* Short key "W12" into buf. */
void pgr_short_key(pgr_entity e, pgr_id id, char buf[32]);
json_t *pgr_key_json(pgr_entity e, pgr_id id);
int pgr_counts_by_year_id(pgr_store *s, pgr_entity e, pgr_id id, json_t **out, pgr_err *err);
/* Checks select names against the entity's fields (PGR_EINVAL naming the bad one). */
int pgr_select_check(pgr_entity e, const char *const *select, size_t n, pgr_err *err);

/* ---- exact top-k search of works (search_topk.c, SQLite) ----
 * pgr_topk_works finds the k best works for an FTS5 expression from the
 * impact lists of pgr_search_index_build; verify (the caller's SQL: its
 * filters, MATCH and pgr_rank) tells which of n ids match and their exact
 * scores. Returns 1 with *n_out (<= k) results best first (score desc, id
 * asc: the order of ranking every match), 0 when it cannot prove the answer
 * (no index, a query it does not handle, budgets spent): the caller then
 * ranks every match; -1 on errors. */
typedef int (*pgr_topk_verify)(void *ctx, int full, const pgr_id *ids, size_t n, pgr_id *ok_ids,
                               double *ok_scores, size_t *n_ok, pgr_err *err);
/* full = 0: the request's filters only (the match and score are known). */
typedef struct pgr_topk_after { /* a cursor: results after (score, id) */
    double score;
    pgr_id id;
} pgr_topk_after;
int pgr_topk_works(pgr_store *s, const char *fts5, size_t k, const pgr_topk_after *after,
                   pgr_topk_verify verify, void *ctx, pgr_id *ids, double *scores, size_t *n_out,
                   pgr_err *err);
/* 1 with *est: the match count of a works search estimated from the
 * index (no filters), and *cost: about how many FTS5 index rows counting
 * exactly would read; 0: no estimate (no index, a query it cannot read). */
int pgr_topk_count_estimate(pgr_store *s, const char *fts5, int64_t *est, int64_t *cost,
                            pgr_err *err);
/* A work's full text was rewritten: its list entries are stale. */
int pgr_topk_dirty(pgr_store *s, pgr_id work, pgr_err *err);
void pgr_topk_free(pgr_store *s);
/* store_sqlite.c: the connection's FTS5 API (NULL without FTS5). */
struct fts5_api;
struct fts5_api *pgr_sqlite_fts5(void *sqlite_db);

#endif
