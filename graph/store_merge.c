/* Author merges (recorded, reversible) and the computed metrics. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/store_impl.h"

enum { K_AUTHORSHIP = 3, K_NAME = 6, K_INST = 7, K_COUNTS = 9, K_ADDED_NAME = 12 };

#define OOM(err) pgr_errf(err, PGR_ENOMEM, "out of memory")

/* The row-moving statements, one triple per author-keyed table. */
static const struct {
    int rec, move, undo;
} moves[] = {
    {ST_MOVE_REC_AUTHORSHIPS, ST_MOVE_DO_AUTHORSHIPS, ST_MOVE_UNDO_AUTHORSHIPS},
    {ST_MOVE_REC_AUTHOR_NAMES, ST_MOVE_DO_AUTHOR_NAMES, ST_MOVE_UNDO_AUTHOR_NAMES},
    {ST_MOVE_REC_AUTHOR_INSTS, ST_MOVE_DO_AUTHOR_INSTS, ST_MOVE_UNDO_AUTHOR_INSTS},
    {ST_MOVE_REC_AUTHOR_COUNTS, ST_MOVE_DO_AUTHOR_COUNTS, ST_MOVE_UNDO_AUTHOR_COUNTS},
    {ST_MOVE_REC_CLAIMS, ST_MOVE_DO_CLAIMS, ST_MOVE_UNDO_CLAIMS},
    {ST_MOVE_REC_OWNERSHIP_ROWS, ST_MOVE_DO_OWNERSHIP_ROWS, ST_MOVE_UNDO_OWNERSHIP_ROWS},
    {ST_MOVE_REC_ADAPTERS, ST_MOVE_DO_ADAPTERS, ST_MOVE_UNDO_ADAPTERS},
    {ST_MOVE_REC_TOPIC_CLAIMS, ST_MOVE_DO_TOPIC_CLAIMS, ST_MOVE_UNDO_TOPIC_CLAIMS},
    {ST_MOVE_REC_AUTHOR_CLAIMS, ST_MOVE_DO_AUTHOR_CLAIMS, ST_MOVE_UNDO_AUTHOR_CLAIMS},
};

/* Rows of `gone` that would collide with keep's rows under a unique key are
 * taken out (deleted) and kept whole in merge_moves.data, so undo restores them. */
static const struct {
    int kind, select, del;
    const char *cols[6]; /* columns after id, as the select returns them */
} conflicts[] = {
    {K_AUTHORSHIP,
     ST_MERGE_AS_CONFLICTS,
     ST_DEL_AUTHORSHIP_ID,
     {"work_id", "position", "raw_name", "affiliation", "institution_id", NULL}},
    {K_NAME, ST_MERGE_NAME_CONFLICTS, ST_DEL_AUTHOR_NAME_ID, {"name", "norm_name", NULL}},
    {K_INST, ST_MERGE_AI_CONFLICTS, ST_DEL_AUTHOR_INST_ID, {"institution_id", "year", NULL}},
    {K_COUNTS,
     ST_MERGE_AC_CONFLICTS,
     ST_DEL_AUTHOR_COUNTS_ID,
     {"year", "works_count", "cited_by_count", NULL}},
};

static int record_move(pgr_store *s, pgr_id merge, int kind, pgr_id row, const char *data,
                       pgr_err *err)
{
    pgr_stmt *st = pgr_st(s, ST_MERGE_MOVE_ADD, err);
    if (!st)
        return -1;
    pgr_bind_int(st, 1, merge);
    pgr_bind_int(st, 2, kind);
    pgr_bind_int(st, 3, row);
    pgr_bind_text(st, 4, data);
    return pgr_exec_queued(st, err);
}

/* The writes of a merge read no result back: queued (PostgreSQL sends them
 * with the merge's next read instead of one round trip each). */
static int exec2(pgr_store *s, int stmt, pgr_id a, pgr_id b, pgr_err *err)
{
    pgr_stmt *st = pgr_st(s, stmt, err);
    if (!st)
        return -1;
    pgr_bind_int(st, 1, a);
    pgr_bind_id(st, 2, b);
    return pgr_exec_queued(st, err);
}

static int exec1(pgr_store *s, int stmt, pgr_id a, pgr_err *err)
{
    pgr_stmt *st = pgr_st(s, stmt, err);
    if (!st)
        return -1;
    pgr_bind_int(st, 1, a);
    return pgr_exec_queued(st, err);
}

static int take_conflicts(pgr_store *s, pgr_id merge, pgr_id keep, pgr_id gone, pgr_err *err)
{
    for (size_t c = 0; c < sizeof conflicts / sizeof conflicts[0]; c++) {
        pgr_stmt *st = pgr_st(s, conflicts[c].select, err);
        if (!st)
            return -1;
        pgr_bind_int(st, 1, gone);
        pgr_bind_int(st, 2, keep);
        json_t *rows = json_array();
        int rc;
        while (rows && (rc = pgr_step(st, err)) == 1) {
            json_t *o = json_object();
            json_object_set_new(o, "id", json_integer(pgr_col_int(st, 0)));
            for (int k = 0; conflicts[c].cols[k]; k++) {
                const char *v = pgr_col_text(st, k + 1);
                json_object_set_new(o, conflicts[c].cols[k], v ? json_string(v) : json_null());
            }
            json_array_append_new(rows, o);
        }
        pgr_reset(st);
        if (!rows)
            return OOM(err);
        if (rc < 0) {
            json_decref(rows);
            return -1;
        }
        size_t i;
        json_t *o;
        json_array_foreach(rows, i, o)
        {
            pgr_id row = json_integer_value(json_object_get(o, "id"));
            char *data = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
            int r = data ? record_move(s, merge, conflicts[c].kind, row, data, err) : OOM(err);
            free(data);
            if (r == 0)
                r = exec1(s, conflicts[c].del, row, err);
            if (r != 0) {
                json_decref(rows);
                return -1;
            }
        }
        json_decref(rows);
    }
    return 0;
}

/* Marks the author and their works for full-text refresh and metrics. */
static int touch_author(pgr_store *s, pgr_id author, pgr_err *err)
{
    pgr_id *ids = NULL;
    size_t n = 0;
    if (pgr_idset_add(&s->fts_authors, author) || pgr_idset_add(&s->dirty_authors, author))
        return OOM(err);
    if (pgr_author_work_ids(s, author, &ids, &n, err) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        if (pgr_idset_add(&s->fts_works, ids[i]) != 0)
            rc = OOM(err);
    free(ids);
    return rc;
}

static int merge_impl(pgr_store *s, pgr_id keep, pgr_id gone, const char *evidence,
                      pgr_id run_id, pgr_id *merge_id, pgr_err *err)
{
    pgr_id k, g;
    if (keep == gone)
        return pgr_errf(err, PGR_EINVAL, "author_merge: A%lld into itself", (long long)keep);
    if (pgr_author_resolve(s, keep, &k, err) != 0 || pgr_author_resolve(s, gone, &g, err) != 0)
        return -1;
    if (k != keep || g != gone)
        return pgr_errf(err, PGR_ECONFLICT, "author_merge: A%lld or A%lld is already merged",
                        (long long)keep, (long long)gone);
    char now[32];
    pgr_now_iso(now);
    pgr_stmt *st = pgr_st(s, ST_MERGE_INSERT, err);
    if (!st)
        return -1;
    pgr_bind_int(st, 1, keep);
    pgr_bind_int(st, 2, gone);
    pgr_bind_text(st, 3, evidence);
    pgr_bind_id(st, 4, run_id);
    pgr_bind_text(st, 5, now);
    if (pgr_query_id(st, merge_id, err) != 0)
        return -1;
    /* touch keep's works before the move and gone's (which become keep's) */
    if (touch_author(s, gone, err) != 0 || touch_author(s, keep, err) != 0)
        return -1;
    if (take_conflicts(s, *merge_id, keep, gone, err) != 0)
        return -1;
    for (size_t i = 0; i < sizeof moves / sizeof moves[0]; i++)
        if (exec2(s, moves[i].rec, *merge_id, gone, err) != 0 ||
            exec2(s, moves[i].move, gone, keep, err) != 0)
            return -1;
    /* gone's display name becomes one of keep's names (unless it already is) */
    if (!(st = pgr_st(s, ST_AUTHOR_DISPLAY, err)))
        return -1;
    pgr_bind_int(st, 1, gone);
    char *name = NULL, *norm = NULL;
    int rc = pgr_step(st, err);
    if (rc == 1) {
        name = strdup(pgr_col_text(st, 0) ? pgr_col_text(st, 0) : "");
        norm = strdup(pgr_col_text(st, 1) ? pgr_col_text(st, 1) : "");
    }
    pgr_reset(st);
    if (rc == 1 && (!name || !norm))
        rc = OOM(err);
    pgr_id existing = 0, added = 0;
    if (rc == 1 && (st = pgr_st(s, ST_AUTHOR_NAME_FIND, err))) {
        pgr_bind_int(st, 1, keep);
        pgr_bind_text(st, 2, name);
        rc = pgr_query_id(st, &existing, err) == 0 ? 1 : -1;
    }
    if (rc == 1 && !existing && (st = pgr_st(s, ST_AUTHOR_NAME_ADD, err))) {
        pgr_bind_int(st, 1, keep);
        pgr_bind_text(st, 2, name);
        pgr_bind_text(st, 3, norm);
        rc = pgr_query_id(st, &added, err) == 0 ? 1 : -1;
        if (rc == 1 && record_move(s, *merge_id, K_ADDED_NAME, added, NULL, err) != 0)
            rc = -1;
    }
    free(name);
    free(norm);
    if (rc < 0)
        return -1;
    if (exec2(s, ST_AUTHOR_SET_MERGED, gone, keep, err) != 0)
        return -1;
    s->wrote = 1;
    return 0;
}

int pgr_author_merge(pgr_store *s, pgr_id keep, pgr_id gone, const char *evidence,
                     pgr_id run_id, pgr_id *merge_id, pgr_err *err)
{
    int own;
    if (pgr_tx_enter(s, &own, err) != 0)
        return -1;
    return pgr_tx_leave(s, own, merge_impl(s, keep, gone, evidence, run_id, merge_id, err), err);
}

static int restore(pgr_store *s, int kind, pgr_id row, pgr_id gone, const char *data,
                   pgr_err *err)
{
    json_error_t je;
    json_t *o = json_loads(data, 0, &je);
    if (!o)
        return pgr_errf(err, PGR_EINTERNAL, "author_unmerge: bad saved row %lld: %s",
                        (long long)row, je.text);
#define S(k) json_string_value(json_object_get(o, k))
#define I(k) (S(k) ? strtoll(S(k), NULL, 10) : -1)
    int stmt = kind == K_AUTHORSHIP ? ST_RESTORE_AUTHORSHIP
               : kind == K_NAME     ? ST_RESTORE_AUTHOR_NAME
               : kind == K_INST     ? ST_RESTORE_AUTHOR_INST
                                    : ST_RESTORE_AUTHOR_COUNTS;
    pgr_stmt *st = pgr_st(s, stmt, err);
    int rc = -1;
    if (st) {
        pgr_bind_int(st, 1, row);
        pgr_bind_int(st, 2, gone);
        if (kind == K_AUTHORSHIP) {
            pgr_bind_optint(st, 3, I("work_id"));
            pgr_bind_optint(st, 4, I("position"));
            pgr_bind_text(st, 5, S("raw_name"));
            pgr_bind_text(st, 6, S("affiliation"));
            pgr_bind_optint(st, 7, I("institution_id"));
        } else if (kind == K_NAME) {
            pgr_bind_text(st, 3, S("name"));
            pgr_bind_text(st, 4, S("norm_name"));
        } else if (kind == K_INST) {
            pgr_bind_optint(st, 3, I("institution_id"));
            pgr_bind_optint(st, 4, I("year"));
        } else {
            pgr_bind_optint(st, 3, I("year"));
            pgr_bind_optint(st, 4, I("works_count"));
            pgr_bind_optint(st, 5, I("cited_by_count"));
        }
        rc = pgr_exec_st(st, err);
    }
#undef S
#undef I
    json_decref(o);
    return rc;
}

static int unmerge_impl(pgr_store *s, pgr_id merge, pgr_err *err)
{
    pgr_stmt *st = pgr_st(s, ST_MERGE_GET, err);
    if (!st)
        return -1;
    pgr_bind_int(st, 1, merge);
    int rc = pgr_step(st, err);
    pgr_id keep = 0, gone = 0;
    int undone = 0;
    if (rc == 1) {
        keep = pgr_col_int(st, 0);
        gone = pgr_col_int(st, 1);
        undone = !pgr_col_null(st, 2);
    }
    pgr_reset(st);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return pgr_errf(err, PGR_ENOTFOUND, "author_unmerge: no merge %lld", (long long)merge);
    if (undone)
        return pgr_errf(err, PGR_ECONFLICT, "author_unmerge: merge %lld was already undone",
                        (long long)merge);
    if (touch_author(s, keep, err) != 0)
        return -1;
    /* saved rows first (materialized: the loop below writes) */
    if (!(st = pgr_st(s, ST_MERGE_MOVES, err)))
        return -1;
    pgr_bind_int(st, 1, merge);
    json_t *saved = json_array();
    while (saved && (rc = pgr_step(st, err)) == 1) {
        const char *data = pgr_col_text(st, 2);
        int kind = (int)pgr_col_int(st, 0);
        if (data || kind == K_ADDED_NAME)
            json_array_append_new(saved, json_pack("{sisIss?}", "kind", kind, "row",
                                                   (json_int_t)pgr_col_int(st, 1), "data", data));
    }
    pgr_reset(st);
    if (!saved)
        return OOM(err);
    if (rc < 0) {
        json_decref(saved);
        return -1;
    }
    size_t i;
    json_t *o;
    rc = 0;
    json_array_foreach(saved, i, o)
    {
        int kind = (int)json_integer_value(json_object_get(o, "kind"));
        pgr_id row = json_integer_value(json_object_get(o, "row"));
        if (kind == K_ADDED_NAME)
            rc = exec1(s, ST_DEL_AUTHOR_NAME_ID, row, err);
        if (rc != 0)
            break;
    }
    for (size_t m = 0; rc == 0 && m < sizeof moves / sizeof moves[0]; m++)
        rc = exec2(s, moves[m].undo, merge, gone, err);
    json_array_foreach(saved, i, o)
    {
        if (rc != 0)
            break;
        int kind = (int)json_integer_value(json_object_get(o, "kind"));
        if (kind != K_ADDED_NAME)
            rc = restore(s, kind, json_integer_value(json_object_get(o, "row")), gone,
                         json_string_value(json_object_get(o, "data")), err);
    }
    json_decref(saved);
    if (rc != 0)
        return -1;
    char now[32];
    pgr_now_iso(now);
    if (exec2(s, ST_AUTHOR_SET_MERGED, gone, 0, err) != 0)
        return -1;
    if (!(st = pgr_st(s, ST_MERGE_UNDONE, err)))
        return -1;
    pgr_bind_int(st, 1, merge);
    pgr_bind_text(st, 2, now);
    if (pgr_exec_st(st, err) != 0)
        return -1;
    s->wrote = 1;
    return touch_author(s, gone, err);
}

int pgr_author_unmerge(pgr_store *s, pgr_id merge_id, pgr_err *err)
{
    int own;
    if (pgr_tx_enter(s, &own, err) != 0)
        return -1;
    return pgr_tx_leave(s, own, unmerge_impl(s, merge_id, err), err);
}

/* ---- metrics ---- */
/* Adds the first column of every row (not NULL) to set. */
static int collect_ids(pgr_store *s, int stmt, pgr_idset *set, pgr_err *err)
{
    pgr_stmt *st = pgr_st(s, stmt, err);
    if (!st)
        return -1;
    int rc;
    while ((rc = pgr_step(st, err)) == 1)
        if (!pgr_col_null(st, 0) && pgr_idset_add(set, pgr_col_int(st, 0)) != 0) {
            pgr_reset(st);
            return OOM(err);
        }
    pgr_reset(st);
    return rc < 0 ? -1 : 0;
}

/* The authors of the works whose incoming citations changed since the last
 * recompute (s->dirty_cited), added to set: a citation resolved to a work
 * changes its cited_by_count and its authors' figures, whoever they are. */
static int cited_authors(pgr_store *s, pgr_idset *set, pgr_err *err)
{
    pgr_idset_sort(&s->dirty_cited);
    /* 512 works to a statement, the ids as one parameter */
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT author_id FROM authorships WHERE work_id IN %s",
             pgr_ids_sql(s));
    pgr_sb list = {0};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < s->dirty_cited.n; i += 512) {
        size_t m = s->dirty_cited.n - i < 512 ? s->dirty_cited.n - i : 512;
        pgr_ids_param(s, s->dirty_cited.v + i, m, &list);
        pgr_stmt *st = pgr_sb_ok(&list) ? pgr_st_dyn(s, "work_authors", sql, err) : NULL;
        if (!st) {
            rc = pgr_sb_ok(&list) ? -1 : OOM(err);
            break;
        }
        pgr_bind_text(st, 1, list.data);
        int r;
        while ((r = pgr_step(st, err)) == 1)
            if (pgr_idset_add(set, pgr_col_int(st, 0)) != 0) {
                rc = OOM(err);
                break;
            }
        pgr_reset(st);
        if (r < 0)
            rc = -1;
    }
    pgr_sb_free(&list);
    return rc;
}

typedef struct author_fig {
    pgr_id id;
    int64_t works, cites, h, i10, coauthors;
} author_fig;

static int cmp_i64_desc(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x > y ? -1 : x < y;
}

/* h-index of one author's citation counts (sorted here, most cited first). */
static int64_t h_index(int64_t *c, size_t n)
{
    qsort(c, n, sizeof *c, cmp_i64_desc);
    int64_t h = 0;
    while ((size_t)h < n && c[h] >= h + 1)
        h++;
    return h;
}

/* Works, citations, h- and i10-index, co-authors of every author in
 * pgr_tmp_ids (ascending id; authors without works get zeros), from two
 * set-based queries instead of a handful of statements per author. The
 * first comes in the authorships index's order (author, work): each
 * author's few counts are sorted here, where ordering the whole join by
 * citations made SQLite sort every authorship (1M works: a minute). */
static int author_figures(pgr_store *s, author_fig *f, size_t n, pgr_err *err)
{
    pgr_stmt *st = pgr_st(s, ST_MX_CITES, err);
    if (!st)
        return -1;
    size_t k = 0, nc = 0, cap = 0;
    int64_t *cites = NULL;
    author_fig *cur = NULL;
    int rc;
    while ((rc = pgr_step(st, err)) == 1) {
        pgr_id a = pgr_col_int(st, 0);
        int64_t c = pgr_col_int(st, 1);
        if (!cur || cur->id != a) {
            if (cur)
                cur->h = h_index(cites, nc);
            cur = NULL;
            nc = 0;
            while (k < n && f[k].id < a)
                k++;
            if (k == n || f[k].id != a)
                continue;
            cur = &f[k];
        }
        if (nc == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            int64_t *v = realloc(cites, ncap * sizeof *v);
            if (!v) {
                pgr_reset(st);
                free(cites);
                return OOM(err);
            }
            cites = v;
            cap = ncap;
        }
        cites[nc++] = c;
        cur->works++;
        cur->cites += c;
        if (c >= 10)
            cur->i10++;
    }
    if (cur)
        cur->h = h_index(cites, nc);
    free(cites);
    pgr_reset(st);
    if (rc < 0 || !(st = pgr_st(s, ST_MX_COAUTHORS, err)))
        return -1;
    k = 0;
    while ((rc = pgr_step(st, err)) == 1) {
        pgr_id a = pgr_col_int(st, 0);
        while (k < n && f[k].id < a)
            k++;
        if (k < n && f[k].id == a)
            f[k].coauthors = pgr_col_int(st, 1);
    }
    pgr_reset(st);
    return rc < 0 ? -1 : 0;
}

/* Writes the figures that differ from the stored ones. */
static int author_figures_store(pgr_store *s, const author_fig *f, size_t n, pgr_err *err)
{
    pgr_stmt *cur = pgr_st(s, ST_MX_CURRENT, err);
    if (!cur)
        return -1;
    author_fig *stale = NULL;
    size_t n_stale = 0, k = 0;
    int rc;
    if (n && !(stale = malloc(n * sizeof *stale))) {
        pgr_reset(cur);
        return OOM(err);
    }
    while ((rc = pgr_step(cur, err)) == 1) {
        pgr_id a = pgr_col_int(cur, 0);
        while (k < n && f[k].id < a)
            k++;
        if (k == n || f[k].id != a)
            continue;
        if (pgr_col_int(cur, 1) != f[k].works || pgr_col_int(cur, 2) != f[k].cites ||
            pgr_col_int(cur, 3) != f[k].h || pgr_col_int(cur, 4) != f[k].i10 ||
            pgr_col_int(cur, 5) != f[k].coauthors)
            stale[n_stale++] = f[k];
    }
    pgr_reset(cur);
    /* written after the read has ended: SQLite would otherwise update the
     * table under its own open cursor */
    for (size_t i = 0; rc == 0 && i < n_stale; i++) {
        pgr_stmt *st = pgr_st(s, ST_METRIC_SET, err);
        if (!st) {
            rc = -1;
            break;
        }
        pgr_bind_int(st, 1, stale[i].id);
        pgr_bind_int(st, 2, stale[i].works);
        pgr_bind_int(st, 3, stale[i].cites);
        pgr_bind_int(st, 4, stale[i].h);
        pgr_bind_int(st, 5, stale[i].i10);
        pgr_bind_int(st, 6, stale[i].coauthors);
        rc = pgr_exec_queued(st, err); /* PostgreSQL: no round trip each */
    }
    free(stale);
    return rc < 0 ? -1 : 0;
}

static int recount(pgr_store *s, int stmt, pgr_idset *set, pgr_err *err)
{
    pgr_idset_sort(set);
    for (size_t i = 0; i < set->n; i++)
        if (exec1(s, stmt, set->v[i], err) != 0)
            return -1;
    return 0;
}

/* With PGR_STEP_TIMES set, each metrics step's wall time goes to stderr
 * (bench gen and ingest on large graphs: which step to make faster).
 * Returns 0 so that it chains inside the steps' || list. */
static int step_time(const char *step)
{
    static uint64_t t0;
    uint64_t now = pgr_now_us();
    if (step && getenv("PGR_STEP_TIMES"))
        fprintf(stderr, "metrics: %-24s %8.3f s\n", step, (double)(now - t0) / 1e6);
    t0 = now;
    return 0;
}

/* The authors (every unmerged one when `every`) go into pgr_tmp_ids and each
 * step runs once over all of them. The steps and their order are those of a
 * per-author recompute: citation counts of their works first, then their
 * figures, topic shares, and the counts of the topics, venues and
 * institutions they touch (topics they had before and have now). */
static int recompute(pgr_store *s, const pgr_id *authors, size_t n, int every, pgr_err *err)
{
    pgr_idset ids = {0}, topics = {0}, venues = {0}, insts = {0};
    author_fig *f = NULL;
    pgr_stmt *st;
    int rc = -1;
    if (every) {
        if (pgr_tmp_ids_fill(s, NULL, 0, err) != 0 ||
            !(st = pgr_st(s, ST_TMP_IDS_ALL_AUTHORS, err)) || pgr_exec_st(st, err) != 0)
            goto cleanup;
        if (collect_ids(s, ST_MX_CURRENT, &ids, err) != 0)
            goto cleanup;
    } else {
        for (size_t i = 0; i < n; i++)
            if (pgr_idset_add(&ids, authors[i]) != 0) {
                OOM(err);
                goto cleanup;
            }
        if (cited_authors(s, &ids, err) != 0)
            goto cleanup;
        pgr_idset_sort(&ids);
        if (pgr_tmp_ids_fill(s, ids.v, ids.n, err) != 0)
            goto cleanup;
    }
    if (!ids.n) {
        rc = 0;
        goto cleanup;
    }
    if (!(f = calloc(ids.n, sizeof *f))) {
        OOM(err);
        goto cleanup;
    }
    for (size_t i = 0; i < ids.n; i++)
        f[i].id = ids.v[i];
    step_time(NULL);
    if (!(st = pgr_st(s, ST_MX_CITED_SYNC, err)) || pgr_exec_st(st, err) != 0 ||
        step_time("cited_by_count") || author_figures(s, f, ids.n, err) != 0 ||
        step_time("author figures") || author_figures_store(s, f, ids.n, err) != 0 ||
        step_time("author figures stored") ||
        collect_ids(s, ST_MX_TOPIC_IDS, &topics, err) != 0 ||
        !(st = pgr_st(s, ST_MX_TOPICS_CLEAR, err)) || pgr_exec_st(st, err) != 0 ||
        !(st = pgr_st(s, ST_MX_TOPICS_FILL, err)) || pgr_exec_st(st, err) != 0 ||
        step_time("author topics") || collect_ids(s, ST_MX_TOPIC_IDS, &topics, err) != 0 ||
        collect_ids(s, ST_MX_VENUE_IDS, &venues, err) != 0 ||
        collect_ids(s, ST_MX_INST_IDS, &insts, err) != 0 || step_time("touched ids"))
        goto cleanup;
    if (recount(s, ST_TOPIC_COUNTS, &topics, err) != 0 || step_time("topic counts") ||
        recount(s, ST_VENUE_COUNTS, &venues, err) != 0 || step_time("venue counts") ||
        recount(s, ST_INST_COUNTS, &insts, err) != 0 || step_time("institution counts"))
        goto cleanup;
    s->wrote = 1;
    s->dirty_cited.n = 0;
    rc = 0;
cleanup:
    free(f);
    pgr_idset_free(&ids);
    pgr_idset_free(&topics);
    pgr_idset_free(&venues);
    pgr_idset_free(&insts);
    return rc;
}

int pgr_topics_recount(pgr_store *s, const char *scheme, pgr_err *err)
{
    int own, rc = -1;
    if (pgr_tx_enter(s, &own, err) != 0)
        return -1;
    pgr_stmt *st = pgr_st(s, ST_TOPIC_COUNTS_SCHEME, err);
    if (st) {
        pgr_bind_text(st, 1, scheme);
        rc = pgr_exec_st(st, err);
        s->wrote = 1;
    }
    return pgr_tx_leave(s, own, rc, err);
}

int pgr_metrics_recompute(pgr_store *s, const pgr_id *authors, size_t n, pgr_err *err)
{
    int own;
    if (pgr_tx_enter(s, &own, err) != 0)
        return -1;
    return pgr_tx_leave(s, own, recompute(s, authors, n, authors == NULL, err), err);
}

int pgr_metrics_recompute_dirty(pgr_store *s, pgr_err *err)
{
    int own, rc;
    if (pgr_tx_enter(s, &own, err) != 0)
        return -1;
    /* works whose incoming citations changed: recompute adds their authors */
    pgr_idset_sort(&s->dirty_authors);
    rc = recompute(s, s->dirty_authors.v, s->dirty_authors.n, 0, err);
    if (rc == 0)
        s->dirty_authors.n = 0;
    return pgr_tx_leave(s, own, rc, err);
}
