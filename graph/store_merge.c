/* Author merges (recorded, reversible) and the computed metrics. */
#include <math.h>
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
    return pgr_exec_st(st, err);
}

static int exec2(pgr_store *s, int stmt, pgr_id a, pgr_id b, pgr_err *err)
{
    pgr_stmt *st = pgr_st(s, stmt, err);
    if (!st)
        return -1;
    pgr_bind_int(st, 1, a);
    pgr_bind_id(st, 2, b);
    return pgr_exec_st(st, err);
}

static int exec1(pgr_store *s, int stmt, pgr_id a, pgr_err *err)
{
    pgr_stmt *st = pgr_st(s, stmt, err);
    if (!st)
        return -1;
    pgr_bind_int(st, 1, a);
    return pgr_exec_st(st, err);
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
static int author_metrics(pgr_store *s, pgr_id a, pgr_idset *topics, pgr_idset *venues,
                          pgr_idset *insts, pgr_err *err)
{
    pgr_stmt *st;
    if (exec1(s, ST_WORKS_CITED_SYNC, a, err) != 0)
        return -1;
    if (!(st = pgr_st(s, ST_METRIC_CITES, err)))
        return -1;
    pgr_bind_int(st, 1, a);
    int64_t works = 0, cites = 0, h = 0, i10 = 0, coauthors = 0;
    int rc;
    while ((rc = pgr_step(st, err)) == 1) {
        int64_t c = pgr_col_int(st, 0);
        works++;
        cites += c;
        if (c >= works) /* rows come most cited first */
            h = works;
        if (c >= 10)
            i10++;
    }
    pgr_reset(st);
    if (rc < 0)
        return -1;
    if (!(st = pgr_st(s, ST_METRIC_COAUTHORS, err)))
        return -1;
    pgr_bind_int(st, 1, a);
    pgr_id n;
    if (pgr_query_id(st, &n, err) != 0)
        return -1;
    coauthors = n;
    if (!(st = pgr_st(s, ST_METRIC_SET, err)))
        return -1;
    pgr_bind_int(st, 1, a);
    pgr_bind_int(st, 2, works);
    pgr_bind_int(st, 3, cites);
    pgr_bind_int(st, 4, h);
    pgr_bind_int(st, 5, i10);
    pgr_bind_int(st, 6, coauthors);
    if (pgr_exec_st(st, err) != 0)
        return -1;
    /* topics the author had before and has now both need their counts redone */
    static const int sets[] = {ST_AUTHOR_TOPIC_IDS, ST_AUTHOR_TOPICS_CLEAR, ST_AUTHOR_TOPICS_FILL,
                               ST_AUTHOR_TOPIC_IDS, ST_AUTHOR_VENUE_IDS, ST_AUTHOR_INST_IDS};
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        if (sets[i] == ST_AUTHOR_TOPICS_FILL && works == 0)
            continue;
        if (!(st = pgr_st(s, sets[i], err)))
            return -1;
        pgr_bind_int(st, 1, a);
        if (sets[i] == ST_AUTHOR_TOPICS_FILL)
            pgr_bind_double(st, 2, (double)works);
        pgr_idset *into = sets[i] == ST_AUTHOR_TOPIC_IDS ? topics
                          : sets[i] == ST_AUTHOR_VENUE_IDS ? venues
                          : sets[i] == ST_AUTHOR_INST_IDS  ? insts
                                                           : NULL;
        if (!into) {
            if (pgr_exec_st(st, err) != 0)
                return -1;
            continue;
        }
        while ((rc = pgr_step(st, err)) == 1)
            if (pgr_idset_add(into, pgr_col_int(st, 0)) != 0) {
                pgr_reset(st);
                return OOM(err);
            }
        pgr_reset(st);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int recount(pgr_store *s, int stmt, pgr_idset *set, pgr_err *err)
{
    pgr_idset_sort(set);
    for (size_t i = 0; i < set->n; i++)
        if (exec1(s, stmt, set->v[i], err) != 0)
            return -1;
    return 0;
}

static int recompute(pgr_store *s, const pgr_id *authors, size_t n, int every, pgr_err *err)
{
    pgr_idset all = {0}, topics = {0}, venues = {0}, insts = {0};
    int rc = 0;
    if (every) {
        pgr_stmt *st = pgr_st(s, ST_ALL_AUTHORS, err);
        rc = -1;
        if (st) {
            rc = 0;
            int r;
            while ((r = pgr_step(st, err)) == 1)
                if (pgr_idset_add(&all, pgr_col_int(st, 0)) != 0) {
                    rc = OOM(err);
                    break;
                }
            pgr_reset(st);
            if (r < 0)
                rc = -1;
        }
        authors = all.v;
        n = all.n;
    }
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = author_metrics(s, authors[i], &topics, &venues, &insts, err);
    if (rc == 0)
        rc = recount(s, ST_TOPIC_COUNTS, &topics, err);
    if (rc == 0)
        rc = recount(s, ST_VENUE_COUNTS, &venues, err);
    if (rc == 0)
        rc = recount(s, ST_INST_COUNTS, &insts, err);
    if (n)
        s->wrote = 1;
    pgr_idset_free(&all);
    pgr_idset_free(&topics);
    pgr_idset_free(&venues);
    pgr_idset_free(&insts);
    return rc;
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
    int own, rc = 0;
    if (pgr_tx_enter(s, &own, err) != 0)
        return -1;
    /* works whose incoming citations changed: their authors' figures change */
    pgr_idset_sort(&s->dirty_cited);
    for (size_t i = 0; rc == 0 && i < s->dirty_cited.n; i++) {
        pgr_stmt *st = pgr_st(s, ST_WORK_AUTHORS, err);
        if (!st) {
            rc = -1;
            break;
        }
        pgr_bind_int(st, 1, s->dirty_cited.v[i]);
        int r;
        while ((r = pgr_step(st, err)) == 1)
            if (pgr_idset_add(&s->dirty_authors, pgr_col_int(st, 0)) != 0) {
                rc = OOM(err);
                break;
            }
        pgr_reset(st);
        if (r < 0)
            rc = -1;
    }
    pgr_idset_sort(&s->dirty_authors);
    if (rc == 0)
        rc = recompute(s, s->dirty_authors.v, s->dirty_authors.n, 0, err);
    if (rc == 0) {
        s->dirty_authors.n = 0;
        s->dirty_cited.n = 0;
    }
    return pgr_tx_leave(s, own, rc, err);
}
