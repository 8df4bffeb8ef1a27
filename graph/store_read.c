/* The read side: entities as OpenAlex-shaped JSON with short keys, id
 * resolution, and the per-author extras (co-authors, counts, works text,
 * adapters). Written once for both backends. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/store_impl.h"

#define OOM(err) pgr_errf(err, PGR_ENOMEM, "out of memory")

void pgr_short_key(pgr_entity e, pgr_id id, char buf[32])
{
    snprintf(buf, 32, "%c%lld", pgr_entity_letter(e), (long long)id);
}

json_t *pgr_key_json(pgr_entity e, pgr_id id)
{
    char k[32];
    pgr_short_key(e, id, k);
    return json_string(k);
}

/* ---- small JSON helpers over the current row ---- */
static json_t *j_text(pgr_stmt *st, int c)
{
    const char *v = pgr_col_text(st, c);
    return v ? json_string(v) : json_null();
}
static json_t *j_int(pgr_stmt *st, int c)
{
    return pgr_col_null(st, c) ? json_null() : json_integer(pgr_col_int(st, c));
}
static json_t *j_real(pgr_stmt *st, int c)
{
    double d = pgr_col_double(st, c);
    return isnan(d) ? json_null() : json_real(d);
}
static json_t *j_prefixed(const char *prefix, const char *v)
{
    if (!v)
        return json_null();
    pgr_sb sb = {0};
    pgr_sb_printf(&sb, "%s%s", prefix, v);
    json_t *j = pgr_sb_ok(&sb) ? json_string(sb.data) : NULL;
    pgr_sb_free(&sb);
    return j;
}

/* ---- fields per entity (for select) ---- */
static const char *const work_fields[] = {
    "id", "doi", "ids", "title", "display_name", "publication_year", "publication_date", "type",
    "authorships", "authors_truncated", "abstract", "abstract_inverted_index", "cited_by_count",
    "counts_by_year", "topics", "primary_topic", "referenced_works", "referenced_works_unresolved",
    "related_works", "primary_location", "has_code", "score", "language", "tldr", "provenance",
    "relevance_score", "snippet", NULL};
static const char *const author_fields[] = {
    "id", "display_name", "display_name_alternatives", "ids", "works_count", "cited_by_count",
    "summary_stats", "computed", "counts_by_year", "counts_by_year_reported", "topics",
    "last_known_institutions", "source_claims", "owner_of", "merged_from", "relevance_score",
    NULL};
static const char *const topic_fields[] = {"id",       "display_name", "scheme",
                                           "code",     "ids",          "works_count",
                                           "cited_by_count", "description", "subfield",
                                           "field",    "domain",       NULL};
static const char *const source_fields[] = {"id", "display_name", "works_count",
                                            "cited_by_count", NULL};
static const char *const inst_fields[] = {"id", "display_name", "ror", "country_code", "ids",
                                          "works_count", "cited_by_count", NULL};
static const char *const *const fields_of[PGR_N_ENTITIES] = {work_fields, author_fields,
                                                             topic_fields, source_fields,
                                                             inst_fields};

int pgr_select_check(pgr_entity e, const char *const *select, size_t n, pgr_err *err)
{
    for (size_t i = 0; i < n; i++) {
        int ok = 0;
        for (const char *const *f = fields_of[e]; *f && !ok; f++)
            ok = !strcmp(*f, select[i]);
        if (!ok)
            return pgr_errf(err, PGR_EINVAL, "select: '%s' is not a field of %s", select[i],
                            pgr_entity_name(e));
    }
    return 0;
}

typedef struct sel {
    const char *const *names;
    size_t n;
} sel;

static int want(const sel *sl, const char *field)
{
    if (!sl->names)
        return 1;
    for (size_t i = 0; i < sl->n; i++)
        if (!strcmp(sl->names[i], field))
            return 1;
    return 0;
}

static void put(json_t *o, const sel *sl, const char *k, json_t *v)
{
    if (want(sl, k))
        json_object_set_new(o, k, v ? v : json_null());
    else
        json_decref(v);
}

/* Runs st (already bound) and calls row() for each row; -1 on error. */
#define FOR_ROWS(st, rc) while (((rc) = pgr_step((st), err)) == 1)

/* ---- prefetch: the statements one entity needs, sent together ----
 * On PostgreSQL each statement is a loopback round trip; sending an entity's
 * statements in one pipeline makes reading an author or a work one round
 * trip instead of ten. On SQLite this only binds (execution stays lazy). */
#define PF_MAX 16
typedef struct prefetch {
    pgr_stmt *st[PF_MAX];
    int ids[PF_MAX];
    int n;
} prefetch;

/* Binds id as $1 of each statement and sends them all. */
static int pf_start(pgr_store *s, prefetch *pf, const int *ids, int n, pgr_id id, pgr_err *err)
{
    pf->n = 0;
    for (int i = 0; i < n && i < PF_MAX; i++) {
        pgr_stmt *st = pgr_st(s, ids[i], err);
        if (!st)
            return -1;
        pgr_bind_int(st, 1, id);
        pf->st[pf->n] = st;
        pf->ids[pf->n++] = ids[i];
    }
    return pgr_batch(s, pf->st, pf->n, err);
}

/* The prefetched statement stmt, or stmt bound now when it was not. */
static pgr_stmt *pf_get(pgr_store *s, prefetch *pf, int stmt, pgr_id id, pgr_err *err)
{
    for (int i = 0; pf && i < pf->n; i++)
        if (pf->ids[i] == stmt) {
            pf->ids[i] = -1; /* taken: the caller resets it when done */
            return pf->st[i];
        }
    pgr_stmt *st = pgr_st(s, stmt, err);
    if (st)
        pgr_bind_int(st, 1, id);
    return st;
}

/* Resets whatever was prefetched and not taken (an entity that failed). */
static void pf_end(prefetch *pf)
{
    for (int i = 0; i < pf->n; i++)
        if (pf->ids[i] >= 0 && pf->st[i]->started)
            pgr_reset(pf->st[i]);
    pf->n = 0;
}

/* {word: [positions]} from the abstract, as OpenAlex ships it. */
static json_t *inverted_index(const char *text)
{
    json_t *idx = json_object();
    if (!text || !idx)
        return idx;
    long pos = 0;
    const char *p = text;
    char word[256];
    while (*p) {
        while (*p && isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        size_t n = 0;
        const char *w = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        n = (size_t)(p - w);
        if (n >= sizeof word)
            n = sizeof word - 1;
        memcpy(word, w, n);
        word[n] = '\0';
        /* a word cut mid-character would be invalid UTF-8: drop the tail */
        while (n && !pgr_utf8_valid(word, n))
            word[--n] = '\0';
        json_t *arr = json_object_get(idx, word);
        if (!arr) {
            arr = json_array();
            json_object_set_new(idx, word, arr);
        }
        json_array_append_new(arr, json_integer(pos++));
    }
    return idx;
}

/* ---- works, read in batches ----
 * A list page of works costs one statement per part (the work rows,
 * authorships, topics, references, counts, provenance) for all its ids
 * together, not one per work: rows carry the work id first and are dealt to
 * their objects. The id list travels as one bound text parameter that the
 * dialect fragment (pgr_ids_sql) expands, so each part is one cached
 * statement whatever the page size. On PostgreSQL the parts go in one
 * pipeline. */
const char *pgr_ids_sql(const pgr_store *s)
{
    return !strcmp(s->be->name, "sqlite") ? "(SELECT value FROM json_each($1))"
                                          : "(SELECT unnest($1::bigint[]))";
}

void pgr_ids_param(const pgr_store *s, const pgr_id *ids, size_t n, pgr_sb *out)
{
    /* a JSON array for SQLite's json_each, an array literal for PostgreSQL */
    int sqlite = !strcmp(s->be->name, "sqlite");
    pgr_sb_reset(out);
    pgr_sb_putc(out, sqlite ? '[' : '{');
    for (size_t i = 0; i < n; i++)
        pgr_sb_printf(out, "%s%lld", i ? "," : "", (long long)ids[i]);
    pgr_sb_putc(out, sqlite ? ']' : '}');
}

enum { WP_WORK, WP_AUTHORSHIPS, WP_TOPICS, WP_REFS, WP_COUNTS, WP_PROV, WP_N };
static const char *const work_parts[WP_N] = {
    "SELECT w.id, w.arxiv_id, w.doi, w.openalex_id, w.s2_id, w.title, w.year, w.date, w.type, "
    "w.venue_id, v.display_name, w.abstract, w.authors_truncated, w.cited_by_count, "
    "w.has_code, w.score, w.src_cited_by_count, w.arxiv_version, w.language, w.tldr, "
    "w.tldr_model FROM works w LEFT JOIN venues v ON v.id = w.venue_id WHERE w.id IN %s",
    "SELECT s.work_id, s.position, s.author_id, a.display_name, s.raw_name, s.affiliation, "
    "s.institution_id, i.display_name FROM authorships s JOIN authors a ON a.id = s.author_id "
    "LEFT JOIN institutions i ON i.id = s.institution_id WHERE s.work_id IN %s "
    "ORDER BY s.work_id, s.position, s.author_id",
    "SELECT wt.work_id, t.id, t.display_name, t.scheme, t.code, wt.weight FROM work_topics wt "
    "JOIN topics t ON t.id = wt.topic_id WHERE wt.work_id IN %s "
    "ORDER BY wt.work_id, wt.weight DESC NULLS LAST, t.id",
    "SELECT citing_id, ref, cited_id FROM citations WHERE citing_id IN %s ORDER BY citing_id, id",
    "SELECT work_id, year, cited_by_count FROM work_counts WHERE work_id IN %s "
    "ORDER BY work_id, year DESC",
    "SELECT p.fact_id, d.id, d.uri, d.format, d.sha256, d.capture_date FROM provenance p "
    "JOIN source_docs d ON d.id = p.source_id WHERE p.kind = 1 AND p.fact_id IN %s "
    "ORDER BY p.fact_id, d.id",
};
static const char *const work_part_names[WP_N] = {
    "get_works", "get_works_authorships", "get_works_topics",
    "get_works_refs", "get_works_counts", "get_works_provenance"};

/* The cached statement of one part in this backend's dialect. */
static pgr_stmt *work_part(pgr_store *s, int part, pgr_err *err)
{
    char sql[1024];
    if ((size_t)snprintf(sql, sizeof sql, work_parts[part], pgr_ids_sql(s)) >= sizeof sql) {
        pgr_errf(err, PGR_EINTERNAL, "%s: statement too long", work_part_names[part]);
        return NULL;
    }
    return pgr_st_dyn(s, work_part_names[part], sql, err);
}

/* id -> index into the caller's arrays, by binary search over a sorted copy. */
typedef struct id_slot {
    pgr_id id;
    size_t i;
} id_slot;

static int cmp_slot(const void *a, const void *b)
{
    pgr_id x = ((const id_slot *)a)->id, y = ((const id_slot *)b)->id;
    return x < y ? -1 : x > y;
}

static json_t *slot_obj(const id_slot *slots, size_t n, json_t **objs, pgr_id id)
{
    id_slot key = {id, 0};
    const id_slot *hit = bsearch(&key, slots, n, sizeof *slots, cmp_slot);
    return hit ? objs[hit->i] : NULL;
}

/* The work row (columns from 1: column 0 is the id) into a new object. */
static json_t *work_row(pgr_stmt *st, pgr_id id, const sel *sl)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    const char *doi = pgr_col_text(st, 2);
    put(o, sl, "id", pgr_key_json(PGR_WORKS, id));
    put(o, sl, "doi", j_prefixed("https://doi.org/", doi));
    if (want(sl, "ids")) {
        json_t *ids = json_object();
        json_object_set_new(ids, "peergraph", pgr_key_json(PGR_WORKS, id));
        if (doi)
            json_object_set_new(ids, "doi", j_prefixed("https://doi.org/", doi));
        if (pgr_col_text(st, 1))
            json_object_set_new(ids, "arxiv", j_text(st, 1));
        if (pgr_col_text(st, 3))
            json_object_set_new(ids, "openalex",
                                j_prefixed("https://openalex.org/", pgr_col_text(st, 3)));
        if (pgr_col_text(st, 4))
            json_object_set_new(ids, "s2", j_text(st, 4));
        json_object_set_new(o, "ids", ids);
    }
    put(o, sl, "title", j_text(st, 5));
    put(o, sl, "display_name", j_text(st, 5));
    put(o, sl, "publication_year", j_int(st, 6));
    put(o, sl, "publication_date", j_text(st, 7));
    put(o, sl, "type", j_text(st, 8));
    if (want(sl, "primary_location")) {
        json_t *loc = json_null();
        if (!pgr_col_null(st, 9))
            loc = json_pack("{s{soso}}", "source", "id",
                            pgr_key_json(PGR_SOURCES, pgr_col_int(st, 9)), "display_name",
                            j_text(st, 10));
        json_object_set_new(o, "primary_location", loc);
    }
    put(o, sl, "abstract", j_text(st, 11));
    if (want(sl, "abstract_inverted_index"))
        json_object_set_new(o, "abstract_inverted_index",
                            pgr_col_text(st, 11) ? inverted_index(pgr_col_text(st, 11))
                                                 : json_null());
    put(o, sl, "authors_truncated", j_text(st, 12));
    put(o, sl, "cited_by_count", json_integer(pgr_col_int(st, 13)));
    put(o, sl, "has_code",
        pgr_col_null(st, 14) ? json_null() : json_boolean(pgr_col_int(st, 14)));
    put(o, sl, "score", j_real(st, 15));
    put(o, sl, "language", j_text(st, 18));
    /* Semantic Scholar's one-sentence summary and the model that wrote it
     * (a peergraph extension: OpenAlex has no such field) */
    if (want(sl, "tldr"))
        json_object_set_new(o, "tldr",
                            pgr_col_text(st, 19)
                                ? json_pack("{soso}", "text", j_text(st, 19), "model", j_text(st, 20))
                                : json_null());
    /* filled by the parts below; present (empty) for works without rows */
    if (want(sl, "authorships"))
        json_object_set_new(o, "authorships", json_array());
    if (want(sl, "topics") || want(sl, "primary_topic")) {
        /* keys keep the order of their first insertion */
        put(o, sl, "primary_topic", json_null());
        json_object_set_new(o, "topics", json_array());
    }
    if (want(sl, "referenced_works") || want(sl, "referenced_works_unresolved")) {
        json_object_set_new(o, "referenced_works", json_array());
        json_object_set_new(o, "referenced_works_unresolved", json_array());
    }
    put(o, sl, "related_works", json_array());
    if (want(sl, "counts_by_year"))
        json_object_set_new(o, "counts_by_year", json_array());
    if (want(sl, "provenance"))
        json_object_set_new(o, "provenance", json_array());
    return o;
}

/* One row of a part (column 0 = the work id) into its object. */
static void work_part_row(int part, pgr_stmt *st, json_t *o)
{
    switch (part) {
    /* the two parts with the most rows build their objects directly: json_pack
     * parses its format on every call (a third of the cost of a works page) */
    case WP_AUTHORSHIPS: {
        json_t *insts = json_array();
        if (!pgr_col_null(st, 6)) {
            json_t *inst = json_object();
            json_object_set_new_nocheck(inst, "id",
                                        pgr_key_json(PGR_INSTITUTIONS, pgr_col_int(st, 6)));
            json_object_set_new_nocheck(inst, "display_name", j_text(st, 7));
            json_array_append_new(insts, inst);
        }
        json_t *raw_aff = json_array();
        if (pgr_col_text(st, 5))
            json_array_append_new(raw_aff, json_string(pgr_col_text(st, 5)));
        json_t *au = json_object(), *a = json_object();
        json_object_set_new_nocheck(au, "id", pgr_key_json(PGR_AUTHORS, pgr_col_int(st, 2)));
        json_object_set_new_nocheck(au, "display_name", j_text(st, 3));
        json_object_set_new_nocheck(a, "author_position", json_string_nocheck("middle"));
        json_object_set_new_nocheck(a, "position", json_integer(pgr_col_int(st, 1)));
        json_object_set_new_nocheck(a, "author", au);
        json_object_set_new_nocheck(a, "raw_author_name", j_text(st, 4));
        json_object_set_new_nocheck(a, "raw_affiliation_strings", raw_aff);
        json_object_set_new_nocheck(a, "institutions", insts);
        json_array_append_new(json_object_get(o, "authorships"), a);
        break;
    }
    case WP_TOPICS: {
        json_t *t = json_object();
        json_object_set_new_nocheck(t, "id", pgr_key_json(PGR_TOPICS, pgr_col_int(st, 1)));
        json_object_set_new_nocheck(t, "display_name", j_text(st, 2));
        json_object_set_new_nocheck(t, "scheme", j_text(st, 3));
        json_object_set_new_nocheck(t, "code", j_text(st, 4));
        json_object_set_new_nocheck(t, "score", j_real(st, 5));
        json_array_append_new(json_object_get(o, "topics"), t);
        break;
    }
    case WP_REFS:
        if (pgr_col_null(st, 2))
            json_array_append_new(json_object_get(o, "referenced_works_unresolved"),
                                  j_text(st, 1));
        else
            json_array_append_new(json_object_get(o, "referenced_works"),
                                  pgr_key_json(PGR_WORKS, pgr_col_int(st, 2)));
        break;
    case WP_COUNTS:
        json_array_append_new(json_object_get(o, "counts_by_year"),
                              json_pack("{soso}", "year", j_int(st, 1), "cited_by_count",
                                        j_int(st, 2)));
        break;
    case WP_PROV:
        json_array_append_new(json_object_get(o, "provenance"),
                              json_pack("{sIsosososo}", "source_id",
                                        (json_int_t)pgr_col_int(st, 1), "uri", j_text(st, 2),
                                        "format", j_text(st, 3), "sha256", j_text(st, 4),
                                        "capture_date", j_text(st, 5)));
        break;
    }
}

/* What the parts leave to the end: author positions and the selection. */
static void work_finish(json_t *o, const sel *sl, int truncated)
{
    json_t *arr = json_object_get(o, "authorships");
    size_t n = json_array_size(arr);
    if (n)
        json_object_set_new(json_array_get(arr, 0), "author_position", json_string("first"));
    /* the last listed author is the last author only when the list is whole */
    if (n > 1 && !truncated)
        json_object_set_new(json_array_get(arr, n - 1), "author_position", json_string("last"));
    json_t *topics = json_object_get(o, "topics");
    if (topics) {
        json_t *first = json_array_get(topics, 0);
        put(o, sl, "primary_topic", first ? json_incref(first) : json_null());
        if (!want(sl, "topics"))
            json_object_del(o, "topics");
    }
    if (!want(sl, "referenced_works"))
        json_object_del(o, "referenced_works");
    if (!want(sl, "referenced_works_unresolved"))
        json_object_del(o, "referenced_works_unresolved");
}

/* Builds the works ids[0..n) into objs[] (same order; NULL where no such
 * work). 0 ok; -1 with err and every objs[i] NULL. */
static int works_json_many(pgr_store *s, const pgr_id *ids, size_t n, const sel *sl,
                           json_t **objs, pgr_err *err)
{
    int rc = -1, r;
    id_slot *slots = NULL;
    char *trunc = NULL;
    pgr_sb list = {0};
    pgr_stmt *sts[WP_N];
    int parts[WP_N], np = 0;
    for (size_t i = 0; i < n; i++)
        objs[i] = NULL;
    if (!n)
        return 0;
    slots = malloc(n * sizeof *slots);
    trunc = calloc(n, 1);
    if (!slots || !trunc) {
        OOM(err);
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++)
        slots[i] = (id_slot){ids[i], i};
    pgr_ids_param(s, ids, n, &list);
    if (!pgr_sb_ok(&list)) {
        OOM(err);
        goto cleanup;
    }
    qsort(slots, n, sizeof *slots, cmp_slot);
    parts[np++] = WP_WORK;
    if (want(sl, "authorships"))
        parts[np++] = WP_AUTHORSHIPS;
    if (want(sl, "topics") || want(sl, "primary_topic"))
        parts[np++] = WP_TOPICS;
    if (want(sl, "referenced_works") || want(sl, "referenced_works_unresolved"))
        parts[np++] = WP_REFS;
    if (want(sl, "counts_by_year"))
        parts[np++] = WP_COUNTS;
    if (want(sl, "provenance")) {
        if (s->prov_n && pgr_prov_flush(s, err) != 0) /* read inside a writing transaction */
            goto cleanup;
        parts[np++] = WP_PROV;
    }
    for (int k = 0; k < np; k++) {
        if (!(sts[k] = work_part(s, parts[k], err))) {
            np = k;
            goto reset;
        }
        pgr_bind_text(sts[k], 1, list.data);
    }
    if (pgr_batch(s, sts, np, err) != 0)
        goto reset;
    FOR_ROWS(sts[0], r)
    {
        pgr_id id = pgr_col_int(sts[0], 0);
        id_slot key = {id, 0};
        const id_slot *hit = bsearch(&key, slots, n, sizeof *slots, cmp_slot);
        if (!hit || objs[hit->i])
            continue;
        if (!(objs[hit->i] = work_row(sts[0], id, sl))) {
            OOM(err);
            goto reset;
        }
        trunc[hit->i] = pgr_col_text(sts[0], 12) != NULL;
    }
    if (r < 0)
        goto reset;
    for (int k = 1; k < np; k++) {
        FOR_ROWS(sts[k], r)
        {
            json_t *o = slot_obj(slots, n, objs, pgr_col_int(sts[k], 0));
            if (o)
                work_part_row(parts[k], sts[k], o);
        }
        if (r < 0)
            goto reset;
    }
    for (size_t i = 0; i < n; i++)
        if (objs[i])
            work_finish(objs[i], sl, trunc[i]);
    rc = 0;
reset:
    for (int k = 0; k < np; k++)
        pgr_reset(sts[k]);
    if (rc != 0)
        for (size_t i = 0; i < n; i++) {
            json_decref(objs[i]);
            objs[i] = NULL;
        }
cleanup:
    free(slots);
    free(trunc);
    pgr_sb_free(&list);
    return rc;
}

static json_t *work_json(pgr_store *s, pgr_id id, const sel *sl, pgr_err *err)
{
    json_t *o = NULL;
    if (works_json_many(s, &id, 1, sl, &o, err) != 0)
        return NULL;
    if (!o)
        pgr_errf(err, PGR_ENOTFOUND, "no work W%lld", (long long)id);
    return o;
}

static int author_years(pgr_store *s, prefetch *pf, pgr_id id, json_t **out, pgr_err *err);

/* The source_claims entry of source src and author record `record` (NULL:
 * the page's own claims, claims table), made from the row's source columns
 * (id, uri, format, capture_date at 0..3) where absent. Entries stay in
 * (source, record) order, the page's own entry of a source first. */
static json_t *claims_entry(json_t *arr, pgr_stmt *st, pgr_id src, const char *record)
{
    size_t i, at = json_array_size(arr);
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        json_int_t sid = json_integer_value(json_object_get(e, "source_id"));
        json_t *r = json_object_get(e, "record");
        const char *rec = json_is_string(r) ? json_string_value(r) : NULL;
        int cmp = sid != (json_int_t)src ? (sid < (json_int_t)src ? -1 : 1)
                  : !rec && !record      ? 0
                  : !rec                 ? -1
                  : !record              ? 1
                                         : strcmp(rec, record);
        if (cmp == 0)
            return e;
        if (cmp > 0) {
            at = i;
            break;
        }
    }
    e = json_pack("{sIsososos{}}", "source_id", (json_int_t)src, "uri", j_text(st, 1), "format",
                  j_text(st, 2), "capture_date", j_text(st, 3), "claims");
    if (record)
        json_object_set_new(e, "record", json_string(record));
    json_array_insert_new(arr, at, e);
    return e;
}

/* A figure's value: an integer when it is one (counts), else a real. */
static json_t *j_figure(pgr_stmt *st, int c)
{
    double d = pgr_col_double(st, c);
    if (isnan(d))
        return json_null();
    if (d == floor(d) && fabs(d) < 9e15)
        return json_integer((json_int_t)d);
    return json_real(d);
}

/* counts_by_year entry of year y in arr (kept newest first), made when absent. */
static json_t *year_entry(json_t *arr, json_int_t y)
{
    size_t i, at = json_array_size(arr);
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        json_int_t ey = json_integer_value(json_object_get(e, "year"));
        if (ey == y)
            return e;
        if (ey < y) {
            at = i;
            break;
        }
    }
    e = json_pack("{sIsnsn}", "year", y, "works_count", "cited_by_count");
    json_array_insert_new(arr, at, e);
    return e;
}

/* What each author record reported (author_claims), one source_claims entry
 * per (source, record): claims{name: {text, value}} for the record's figures,
 * counts_by_year, last_known_institutions, affiliations (with years), ids,
 * homepage, updated_date. The record's date is the entry's capture_date. */
static int author_record_claims(pgr_store *s, prefetch *pf, pgr_id id, json_t *arr, pgr_err *err)
{
    pgr_stmt *st = pf_get(s, pf, ST_GET_AUTHOR_RECORD_CLAIMS, id, err);
    if (!st)
        return -1;
    json_t *cur = NULL, *inst = NULL;
    int rc;
    FOR_ROWS(st, rc)
    {
        pgr_id src = pgr_col_int(st, 0);
        const char *record = pgr_col_text(st, 4), *name = pgr_col_text(st, 5);
        json_int_t year = pgr_col_int(st, 6), rank = pgr_col_int(st, 7);
        if (!record || !name)
            continue;
        json_t *r = cur ? json_object_get(cur, "record") : NULL;
        if (!cur || json_integer_value(json_object_get(cur, "source_id")) != (json_int_t)src ||
            !json_is_string(r) || strcmp(json_string_value(r), record)) {
            cur = claims_entry(arr, st, src, record);
            inst = NULL;
        }
        if (pgr_col_text(st, 11))
            json_object_set_new(cur, "capture_date", j_text(st, 11));
        if (!strcmp(name, "last_known_institutions") || !strcmp(name, "affiliations")) {
            json_t *list = json_object_get(cur, name);
            if (!list)
                json_object_set_new(cur, name, list = json_array());
            int aff = name[0] == 'a';
            if (!inst || json_integer_value(json_object_get(inst, "rank")) != rank ||
                json_array_size(list) == 0 || json_array_get(list, json_array_size(list) - 1) != inst) {
                inst = json_pack("{sosIso}", "display_name", j_text(st, 8), "rank", rank, "id",
                                 j_text(st, 10));
                if (aff)
                    json_object_set_new(inst, "years", json_array());
                json_array_append_new(list, inst);
            }
            if (aff && year)
                json_array_append_new(json_object_get(inst, "years"), json_integer(year));
        } else if (!strcmp(name, "ids")) {
            json_t *list = json_object_get(cur, "ids");
            if (!list)
                json_object_set_new(cur, "ids", list = json_array());
            json_array_append_new(list, json_pack("{soso}", "kind", j_text(st, 10), "value",
                                                  j_text(st, 8)));
        } else if (!strcmp(name, "homepage") || !strcmp(name, "updated_date")) {
            json_object_set_new(cur, name, j_text(st, 8));
        } else if (year) {
            json_t *cby = json_object_get(cur, "counts_by_year");
            if (!cby)
                json_object_set_new(cur, "counts_by_year", cby = json_array());
            json_object_set_new(year_entry(cby, year), name, j_figure(st, 9));
        } else {
            json_object_set_new(json_object_get(cur, "claims"), name,
                                json_pack("{soso}", "text", j_text(st, 8), "value", j_figure(st, 9)));
        }
    }
    pgr_reset(st);
    return rc < 0 ? -1 : 0;
}

/* The topics each source reported for the author (author_topic_claims), as
 * "topics" of that (source, record)'s source_claims entry. They stay the
 * source's figures, apart from the computed topic_shares. */
static int author_topic_claims(pgr_store *s, prefetch *pf, pgr_id id, json_t *arr, pgr_err *err)
{
    pgr_stmt *st = pf_get(s, pf, ST_GET_AUTHOR_TOPIC_CLAIMS, id, err);
    if (!st)
        return -1;
    json_t *cur = NULL;
    int rc;
    FOR_ROWS(st, rc)
    {
        pgr_id src = pgr_col_int(st, 0);
        const char *record = pgr_col_text(st, 4);
        json_t *r = cur ? json_object_get(cur, "record") : NULL;
        if (!record)
            continue;
        if (!cur || json_integer_value(json_object_get(cur, "source_id")) != (json_int_t)src ||
            !json_is_string(r) || strcmp(json_string_value(r), record)) {
            cur = claims_entry(arr, st, src, record);
            if (pgr_col_text(st, 9))
                json_object_set_new(cur, "capture_date", j_text(st, 9));
            json_object_set_new(cur, "topics", json_array());
        }
        json_array_append_new(json_object_get(cur, "topics"),
                              json_pack("{sososososososososo}", "id", pgr_key_json(PGR_TOPICS, pgr_col_int(st, 10)),
                                        "display_name", j_text(st, 11), "scheme", j_text(st, 12), "code",
                                        j_text(st, 13), "record", j_text(st, 4), "list", j_text(st, 5),
                                        "rank", j_int(st, 6), "count", j_int(st, 7), "score", j_real(st, 8)));
    }
    pgr_reset(st);
    return rc < 0 ? -1 : 0;
}

static json_t *author_json(pgr_store *s, pgr_id id, const sel *sl, pgr_err *err)
{
    prefetch pf = {0};
    int ids[PF_MAX], n = 0;
    ids[n++] = ST_GET_AUTHOR;
    if (want(sl, "display_name_alternatives"))
        ids[n++] = ST_GET_AUTHOR_NAMES;
    if (want(sl, "topics") || want(sl, "computed"))
        ids[n++] = ST_GET_AUTHOR_TOPICS;
    if (want(sl, "counts_by_year")) {
        ids[n++] = ST_GET_AUTHOR_CITE_YEARS;
        ids[n++] = ST_GET_AUTHOR_YEARS;
    }
    if (want(sl, "counts_by_year_reported"))
        ids[n++] = ST_GET_AUTHOR_REPORTED_YEARS;
    if (want(sl, "last_known_institutions"))
        ids[n++] = ST_GET_AUTHOR_INSTS;
    if (want(sl, "source_claims")) {
        ids[n++] = ST_GET_AUTHOR_CLAIMS;
        ids[n++] = ST_GET_AUTHOR_TOPIC_CLAIMS;
        ids[n++] = ST_GET_AUTHOR_RECORD_CLAIMS;
    }
    if (want(sl, "owner_of"))
        ids[n++] = ST_GET_AUTHOR_OWNED;
    if (want(sl, "merged_from"))
        ids[n++] = ST_GET_AUTHOR_MERGED_FROM;
    if (pf_start(s, &pf, ids, n, id, err) != 0) {
        pf_end(&pf);
        return NULL;
    }
    pgr_stmt *st = pf_get(s, &pf, ST_GET_AUTHOR, id, err);
    if (!st) {
        pf_end(&pf);
        return NULL;
    }
    int rc = pgr_step(st, err);
    if (rc <= 0) {
        pgr_reset(st);
        pf_end(&pf);
        if (rc == 0)
            pgr_errf(err, PGR_ENOTFOUND, "no author A%lld", (long long)id);
        return NULL;
    }
    json_t *o = json_object();
    put(o, sl, "id", pgr_key_json(PGR_AUTHORS, id));
    put(o, sl, "display_name", j_text(st, 1));
    if (want(sl, "ids")) {
        json_t *ids = json_object();
        json_object_set_new(ids, "peergraph", pgr_key_json(PGR_AUTHORS, id));
        if (pgr_col_text(st, 2))
            json_object_set_new(ids, "orcid", j_prefixed("https://orcid.org/", pgr_col_text(st, 2)));
        if (pgr_col_text(st, 3))
            json_object_set_new(ids, "openalex", j_prefixed("https://openalex.org/", pgr_col_text(st, 3)));
        if (pgr_col_text(st, 4))
            json_object_set_new(ids, "s2", j_text(st, 4));
        json_object_set_new(o, "ids", ids);
    }
    int64_t works = pgr_col_int(st, 5), cites = pgr_col_int(st, 6), h = pgr_col_int(st, 7),
            i10 = pgr_col_int(st, 8), co = pgr_col_int(st, 9);
    pgr_reset(st);
    put(o, sl, "works_count", json_integer(works));
    put(o, sl, "cited_by_count", json_integer(cites));
    put(o, sl, "summary_stats", json_pack("{sIsIsb}", "h_index", (json_int_t)h, "i10_index",
                                          (json_int_t)i10, "computed", 1));
    if (want(sl, "display_name_alternatives")) {
        json_t *arr = json_array();
        if (!(st = pf_get(s, &pf, ST_GET_AUTHOR_NAMES, id, err)))
            goto fail;
        
        FOR_ROWS(st, rc)
        json_array_append_new(arr, j_text(st, 0));
        pgr_reset(st);
        json_object_set_new(o, "display_name_alternatives", arr);
        if (rc < 0)
            goto fail;
    }
    if (want(sl, "topics") || want(sl, "computed")) {
        json_t *topics = json_array(), *shares = json_array();
        if (!(st = pf_get(s, &pf, ST_GET_AUTHOR_TOPICS, id, err))) {
            json_decref(topics);
            json_decref(shares);
            goto fail;
        }
        FOR_ROWS(st, rc)
        {
            json_array_append_new(topics, json_pack("{sososo}", "id", pgr_key_json(PGR_TOPICS, pgr_col_int(st, 0)),
                                                    "display_name", j_text(st, 1), "count", j_int(st, 2)));
            json_array_append_new(shares, json_pack("{sosososo}", "id", pgr_key_json(PGR_TOPICS, pgr_col_int(st, 0)),
                                                    "display_name", j_text(st, 1), "count", j_int(st, 2),
                                                    "share", j_real(st, 3)));
        }
        pgr_reset(st);
        put(o, sl, "topics", topics);
        put(o, sl, "computed",
            json_pack("{sIsIsIsIsIsoss}", "works_count", (json_int_t)works, "cited_by_count",
                      (json_int_t)cites, "h_index", (json_int_t)h, "i10_index", (json_int_t)i10,
                      "coauthor_count", (json_int_t)co, "topic_shares", shares, "method",
                      "computed by peergraph from the works and citation counts in this graph"));
        if (rc < 0)
            goto fail;
    }
    if (want(sl, "counts_by_year")) {
        json_t *arr = NULL;
        if (author_years(s, &pf, id, &arr, err) != 0)
            goto fail;
        json_object_set_new(o, "counts_by_year", arr);
    }
    if (want(sl, "counts_by_year_reported")) {
        json_t *arr = json_array();
        if (!(st = pf_get(s, &pf, ST_GET_AUTHOR_REPORTED_YEARS, id, err)))
            goto fail;
        
        FOR_ROWS(st, rc)
        json_array_append_new(arr, json_pack("{sososo}", "year", j_int(st, 0), "works_count", j_int(st, 1),
                                             "cited_by_count", j_int(st, 2)));
        pgr_reset(st);
        json_object_set_new(o, "counts_by_year_reported", arr);
        if (rc < 0)
            goto fail;
    }
    if (want(sl, "last_known_institutions")) {
        json_t *arr = json_array();
        if (!(st = pf_get(s, &pf, ST_GET_AUTHOR_INSTS, id, err)))
            goto fail;
        
        FOR_ROWS(st, rc)
        json_array_append_new(arr, json_pack("{sosososo}", "id", pgr_key_json(PGR_INSTITUTIONS, pgr_col_int(st, 0)),
                                             "display_name", j_text(st, 1), "ror", j_text(st, 2),
                                             "country_code", j_text(st, 3)));
        pgr_reset(st);
        json_object_set_new(o, "last_known_institutions", arr);
        if (rc < 0)
            goto fail;
    }
    if (want(sl, "source_claims")) {
        json_t *arr = json_array(), *cur = NULL;
        pgr_id cur_src = 0;
        if (!(st = pf_get(s, &pf, ST_GET_AUTHOR_CLAIMS, id, err)))
            goto fail;
        
        FOR_ROWS(st, rc)
        {
            pgr_id src = pgr_col_int(st, 0);
            if (!cur || src != cur_src) {
                cur = json_pack("{sIsososos{}}", "source_id", (json_int_t)src, "uri", j_text(st, 1),
                                "format", j_text(st, 2), "capture_date", j_text(st, 3), "claims");
                json_array_append_new(arr, cur);
                cur_src = src;
            }
            json_object_set_new(json_object_get(cur, "claims"), pgr_col_text(st, 4),
                                json_pack("{soso}", "text", j_text(st, 5), "value", j_real(st, 6)));
            if (pgr_col_text(st, 7))
                json_object_set_new(cur, "capture_date", j_text(st, 7));
        }
        pgr_reset(st);
        json_object_set_new(o, "source_claims", arr);
        if (rc < 0 || author_record_claims(s, &pf, id, arr, err) != 0 ||
            author_topic_claims(s, &pf, id, arr, err) != 0)
            goto fail;
    }
    if (want(sl, "owner_of")) {
        json_t *arr = json_array();
        if (!(st = pf_get(s, &pf, ST_GET_AUTHOR_OWNED, id, err)))
            goto fail;
        
        FOR_ROWS(st, rc)
        json_array_append_new(arr, json_pack("{sIsosososososososo}", "source_id", (json_int_t)pgr_col_int(st, 0),
                                             "uri", j_text(st, 1), "format", j_text(st, 2),
                                             "capture_date", j_text(st, 3), "method", j_text(st, 4),
                                             "confidence", j_real(st, 5), "runner_up", j_text(st, 6),
                                             "runner_up_confidence", j_real(st, 7), "evidence",
                                             j_text(st, 8)));
        pgr_reset(st);
        json_object_set_new(o, "owner_of", arr);
        if (rc < 0)
            goto fail;
    }
    if (want(sl, "merged_from")) {
        json_t *arr = json_array();
        if (!(st = pf_get(s, &pf, ST_GET_AUTHOR_MERGED_FROM, id, err)))
            goto fail;
        
        FOR_ROWS(st, rc)
        json_array_append_new(arr, pgr_key_json(PGR_AUTHORS, pgr_col_int(st, 0)));
        pgr_reset(st);
        json_object_set_new(o, "merged_from", arr);
        if (rc < 0)
            goto fail;
    }
    pf_end(&pf);
    return o;
fail:
    pf_end(&pf);
    json_decref(o);
    return NULL;
}

static json_t *small_json(pgr_store *s, pgr_entity e, pgr_id id, const sel *sl, pgr_err *err)
{
    int stmt = e == PGR_TOPICS ? ST_GET_TOPIC : e == PGR_SOURCES ? ST_GET_VENUE : ST_GET_INST;
    pgr_stmt *st = pgr_st(s, stmt, err);
    if (!st)
        return NULL;
    pgr_bind_int(st, 1, id);
    int rc = pgr_step(st, err);
    if (rc <= 0) {
        pgr_reset(st);
        if (rc == 0)
            pgr_errf(err, PGR_ENOTFOUND, "no %s %c%lld", pgr_entity_name(e), pgr_entity_letter(e),
                     (long long)id);
        return NULL;
    }
    json_t *o = json_object();
    put(o, sl, "id", pgr_key_json(e, id));
    put(o, sl, "display_name", j_text(st, 1));
    if (e == PGR_TOPICS) {
        put(o, sl, "scheme", j_text(st, 2));
        put(o, sl, "code", j_text(st, 3));
        if (want(sl, "ids")) {
            json_t *ids = json_pack("{so}", "peergraph", pgr_key_json(e, id));
            json_object_set_new(ids, pgr_col_text(st, 2), j_text(st, 3));
            json_object_set_new(o, "ids", ids);
        }
        put(o, sl, "works_count", j_int(st, 4));
        put(o, sl, "cited_by_count", j_int(st, 5));
        /* OpenAlex's topic fields, where an OpenAlex topic object or work gave them */
        put(o, sl, "description", j_text(st, 6));
        static const char *const level[] = {"subfield", "field", "domain"};
        for (int i = 0; i < 3; i++)
            put(o, sl, level[i],
                pgr_col_text(st, 7 + i) ? json_pack("{so}", "display_name", j_text(st, 7 + i))
                                        : json_null());
    } else if (e == PGR_SOURCES) {
        put(o, sl, "works_count", j_int(st, 2));
        put(o, sl, "cited_by_count", j_int(st, 3));
    } else {
        put(o, sl, "ror", j_text(st, 2));
        put(o, sl, "country_code", j_text(st, 3));
        if (want(sl, "ids")) {
            json_t *ids = json_pack("{so}", "peergraph", pgr_key_json(e, id));
            if (pgr_col_text(st, 2))
                json_object_set_new(ids, "ror", j_text(st, 2));
            json_object_set_new(o, "ids", ids);
        }
        put(o, sl, "works_count", j_int(st, 4));
        put(o, sl, "cited_by_count", j_int(st, 5));
    }
    pgr_reset(st);
    return o;
}

json_t *pgr_entity_json(pgr_store *s, pgr_entity e, pgr_id id, const char *const *select,
                        size_t n_select, pgr_err *err)
{
    sel sl = {select, select ? n_select : 0};
    json_t *o;
    switch (e) {
    case PGR_WORKS: o = work_json(s, id, &sl, err); break;
    case PGR_AUTHORS: o = author_json(s, id, &sl, err); break;
    case PGR_TOPICS:
    case PGR_SOURCES:
    case PGR_INSTITUTIONS: o = small_json(s, e, id, &sl, err); break;
    default: pgr_errf(err, PGR_EINVAL, "unknown entity %d", (int)e); return NULL;
    }
    return o;
}

int pgr_entities_json(pgr_store *s, pgr_entity e, const pgr_id *ids, size_t n,
                      const char *const *select, size_t n_select, json_t **objs, pgr_err *err)
{
    sel sl = {select, select ? n_select : 0};
    if (e == PGR_WORKS)
        return works_json_many(s, ids, n, &sl, objs, err);
    for (size_t i = 0; i < n; i++) {
        objs[i] = pgr_entity_json(s, e, ids[i], select, n_select, err);
        if (!objs[i]) {
            while (i--) {
                json_decref(objs[i]);
                objs[i] = NULL;
            }
            return -1;
        }
    }
    return 0;
}

/* ---- ids ---- */
static int exists(pgr_store *s, pgr_entity e, pgr_id id, pgr_err *err)
{
    static const int stmts[PGR_N_ENTITIES] = {ST_WORK_EXISTS, ST_ID_EXISTS_AUTHOR,
                                              ST_ID_EXISTS_TOPIC, ST_ID_EXISTS_VENUE,
                                              ST_ID_EXISTS_INST};
    pgr_stmt *st = pgr_st(s, stmts[e], err);
    pgr_id got;
    if (!st)
        return -1;
    pgr_bind_int(st, 1, id);
    if (pgr_query_id(st, &got, err) != 0)
        return -1;
    return got ? 1 : 0;
}

/* Parses "W123" for entity e; 0 when it is not a short key. */
static pgr_id parse_short(pgr_entity e, const char *id)
{
    if (toupper((unsigned char)id[0]) != pgr_entity_letter(e) || !id[1])
        return 0;
    pgr_id v = 0;
    for (const char *p = id + 1; *p; p++) {
        if (*p < '0' || *p > '9' || v > (INT64_MAX - 9) / 10)
            return 0;
        v = v * 10 + (*p - '0');
    }
    return v;
}

int pgr_resolve_id(pgr_store *s, pgr_entity e, const char *id, pgr_id *out, pgr_err *err)
{
    *out = 0;
    if ((unsigned)e >= PGR_N_ENTITIES)
        return pgr_errf(err, PGR_EINVAL, "unknown entity %d", (int)e);
    size_t len = id ? strlen(id) : 0;
    if (!len || len > 512 || !pgr_utf8_valid(id, len))
        return pgr_errf(err, PGR_EINVAL, "%s id: empty, too long or not UTF-8",
                        pgr_entity_name(e));
    pgr_id v = parse_short(e, id);
    if (v) {
        int r = exists(s, e, v, err);
        if (r < 0)
            return -1;
        if (!r)
            return pgr_errf(err, PGR_ENOTFOUND, "no %s %s", pgr_entity_name(e), id);
        *out = v;
        return 0;
    }
    const char *colon = strchr(id, ':');
    if (!colon || colon == id)
        return pgr_errf(err, PGR_EINVAL, "%s id '%s': not a short key (%c123) nor an external id "
                        "(doi:, arxiv:, openalex:, ...)", pgr_entity_name(e), id,
                        pgr_entity_letter(e));
    char scheme[32];
    size_t sn = (size_t)(colon - id);
    if (sn >= sizeof scheme)
        return pgr_errf(err, PGR_EINVAL, "%s id '%s': unknown id scheme", pgr_entity_name(e), id);
    for (size_t i = 0; i < sn; i++)
        scheme[i] = (char)tolower((unsigned char)id[i]);
    scheme[sn] = '\0';
    const char *val = colon + 1;
    pgr_id found = 0;
    int rc = 0, known = 1;
    char buf[600];
    if (e == PGR_WORKS) {
        if (!strcmp(scheme, "https") || !strcmp(scheme, "http")) {
            const char *d = strstr(val, "doi.org/");
            if (!d)
                known = 0;
            else {
                snprintf(buf, sizeof buf, "doi:%s", d + 8);
                id = buf;
                val = buf + 4;
                strcpy(scheme, "doi");
            }
        }
        if (known && !strcmp(scheme, "doi")) {
            char low[520];
            size_t n = strlen(val);
            if (n >= sizeof low)
                n = sizeof low - 1;
            for (size_t i = 0; i < n; i++)
                low[i] = (char)tolower((unsigned char)val[i]);
            low[n] = '\0';
            char ref[600];
            snprintf(ref, sizeof ref, "doi:%s", low);
            rc = pgr_work_by_ref(s, ref, &found, err);
        } else if (known && (!strcmp(scheme, "arxiv") || !strcmp(scheme, "openalex") ||
                             !strcmp(scheme, "s2"))) {
            char ref[600];
            snprintf(ref, sizeof ref, "%s:%.520s", scheme, val);
            rc = pgr_work_by_ref(s, ref, &found, err);
        } else {
            known = 0;
        }
    } else if (e == PGR_AUTHORS) {
        int stmt = !strcmp(scheme, "orcid")      ? ST_AUTHOR_BY_ORCID
                   : !strcmp(scheme, "openalex") ? ST_AUTHOR_BY_OPENALEX
                   : !strcmp(scheme, "s2")       ? ST_AUTHOR_BY_S2
                                                 : -1;
        known = stmt >= 0;
        if (known) {
            pgr_stmt *st = pgr_st(s, stmt, err);
            rc = -1;
            if (st) {
                pgr_bind_text(st, 1, val);
                rc = pgr_query_id(st, &found, err);
            }
        }
    } else if (e == PGR_TOPICS) {
        pgr_stmt *st = pgr_st(s, ST_ID_TOPIC_CODE, err);
        rc = -1;
        if (st) {
            pgr_bind_text(st, 1, scheme);
            pgr_bind_text(st, 2, val);
            rc = pgr_query_id(st, &found, err);
        }
    } else if (e == PGR_INSTITUTIONS && !strcmp(scheme, "ror")) {
        pgr_stmt *st = pgr_st(s, ST_ID_INST_ROR, err);
        rc = -1;
        if (st) {
            pgr_bind_text(st, 1, val);
            rc = pgr_query_id(st, &found, err);
        }
    } else {
        known = 0;
    }
    if (rc != 0)
        return -1;
    if (!known)
        return pgr_errf(err, PGR_EINVAL, "%s id '%s': unknown id scheme '%s'", pgr_entity_name(e),
                        id, scheme);
    if (!found)
        return pgr_errf(err, PGR_ENOTFOUND, "no %s with id %s", pgr_entity_name(e), id);
    *out = found;
    return 0;
}

/* Resolves and, for authors, follows merges. */
static int resolve_current(pgr_store *s, pgr_entity e, const char *id, pgr_id *out, pgr_err *err)
{
    if (pgr_resolve_id(s, e, id, out, err) != 0)
        return -1;
    if (e == PGR_AUTHORS)
        return pgr_author_resolve(s, *out, out, err);
    return 0;
}

int pgr_get(pgr_store *s, pgr_entity e, const char *id, const char *const *select,
            size_t n_select, json_t **out, pgr_err *err)
{
    pgr_id v;
    *out = NULL;
    if ((unsigned)e >= PGR_N_ENTITIES)
        return pgr_errf(err, PGR_EINVAL, "unknown entity %d", (int)e);
    if (select && pgr_select_check(e, select, n_select, err) != 0)
        return -1;
    if (resolve_current(s, e, id, &v, err) != 0)
        return -1;
    *out = pgr_entity_json(s, e, v, select, n_select, err);
    return *out ? 0 : -1;
}

/* ---- per-author extras ---- */
/* Adds n to year's entry of y (*ny entries, at most cap years kept). */
static void year_add(pgr_year_count *y, size_t *ny, size_t cap, int64_t year, int64_t works,
                     int64_t cites)
{
    size_t i = 0;
    while (i < *ny && y[i].year != year)
        i++;
    if (i == *ny) {
        if (*ny == cap)
            return;
        y[(*ny)++] = (pgr_year_count){year, 0, 0};
    }
    y[i].works += works;
    y[i].cites += cites;
}

static int years_merge(pgr_store *s, prefetch *pf, pgr_id id, const pgr_year_count *works,
                       size_t n_works, json_t **out, pgr_err *err)
{
    *out = NULL;
    /* works_count by publication year (computed) merged with the citations
     * per year that sources reported for the author's works, years descending */
    pgr_year_count years[512];
    size_t ny = 0, cap = sizeof years / sizeof years[0];
    for (size_t i = 0; i < n_works; i++)
        year_add(years, &ny, cap, works[i].year, works[i].works, 0);
    pgr_stmt *st = pf_get(s, pf, ST_GET_AUTHOR_CITE_YEARS, id, err);
    if (!st)
        return -1;
    int rc;
    FOR_ROWS(st, rc)
    year_add(years, &ny, cap, pgr_col_int(st, 0), 0, pgr_col_int(st, 1));
    pgr_reset(st);
    if (rc < 0)
        return -1;
    for (size_t i = 1; i < ny; i++)
        for (size_t j = i; j > 0 && years[j - 1].year < years[j].year; j--) {
            pgr_year_count t = years[j];
            years[j] = years[j - 1];
            years[j - 1] = t;
        }
    json_t *arr = json_array();
    if (!arr)
        return OOM(err);
    for (size_t i = 0; i < ny; i++) {
        json_t *e = json_object();
        json_object_set_new_nocheck(e, "year", json_integer(years[i].year));
        json_object_set_new_nocheck(e, "works_count", json_integer(years[i].works));
        json_object_set_new_nocheck(e, "cited_by_count", json_integer(years[i].cites));
        json_array_append_new(arr, e);
    }
    *out = arr;
    return 0;
}

/* An author's counts by year; pf may hold the two statements prefetched. */
static int author_years(pgr_store *s, prefetch *pf, pgr_id id, json_t **out, pgr_err *err)
{
    *out = NULL;
    pgr_year_count works[512];
    size_t nw = 0;
    int rc;
    pgr_stmt *st = pf_get(s, pf, ST_GET_AUTHOR_YEARS, id, err);
    if (!st)
        return -1;
    FOR_ROWS(st, rc)
    year_add(works, &nw, sizeof works / sizeof works[0], pgr_col_int(st, 0), pgr_col_int(st, 1),
             0);
    pgr_reset(st);
    if (rc < 0)
        return -1;
    return years_merge(s, pf, id, works, nw, out, err);
}

int pgr_author_years_with(pgr_store *s, pgr_id id, const pgr_year_count *works, size_t n_works,
                          json_t **out, pgr_err *err)
{
    return years_merge(s, NULL, id, works, n_works, out, err);
}

int pgr_counts_by_year_id(pgr_store *s, pgr_entity e, pgr_id id, json_t **out, pgr_err *err)
{
    *out = NULL;
    if (e == PGR_AUTHORS)
        return author_years(s, NULL, id, out, err);
    if (e != PGR_WORKS)
        return pgr_errf(err, PGR_EINVAL, "counts_by_year: only works and authors have them");
    pgr_stmt *st = pgr_st(s, ST_GET_WORK_COUNTS, err);
    int rc;
    json_t *arr = json_array();
    if (!st || !arr) {
        json_decref(arr);
        return st ? OOM(err) : -1;
    }
    pgr_bind_int(st, 1, id);
    FOR_ROWS(st, rc)
    json_array_append_new(arr, json_pack("{soso}", "year", j_int(st, 0), "cited_by_count", j_int(st, 1)));
    pgr_reset(st);
    if (rc < 0) {
        json_decref(arr);
        return -1;
    }
    *out = arr;
    return 0;
}

int pgr_counts_by_year(pgr_store *s, pgr_entity e, const char *id, json_t **out, pgr_err *err)
{
    pgr_id v;
    *out = NULL;
    if (resolve_current(s, e, id, &v, err) != 0)
        return -1;
    return pgr_counts_by_year_id(s, e, v, out, err);
}

int pgr_author_works_text(pgr_store *s, const char *author, int limit, json_t **out,
                          pgr_err *err)
{
    pgr_id a;
    *out = NULL;
    if (resolve_current(s, PGR_AUTHORS, author, &a, err) != 0)
        return -1;
    pgr_stmt *st = pgr_st(s, ST_AUTHOR_WORKS_TEXT, err);
    if (!st)
        return -1;
    pgr_bind_int(st, 1, a);
    pgr_bind_int(st, 2, limit > 0 ? limit : INT32_MAX);
    json_t *arr = json_array();
    int rc;
    FOR_ROWS(st, rc)
    json_array_append_new(arr, json_pack("{sososososo}", "id", pgr_key_json(PGR_WORKS, pgr_col_int(st, 0)),
                                         "title", j_text(st, 1), "abstract", j_text(st, 2),
                                         "publication_year", j_int(st, 3), "cited_by_count",
                                         j_int(st, 4)));
    pgr_reset(st);
    if (rc < 0) {
        json_decref(arr);
        return -1;
    }
    *out = arr;
    return 0;
}

int pgr_adapter_list(pgr_store *s, pgr_id author, json_t **out, pgr_err *err)
{
    *out = NULL;
    pgr_stmt *st = pgr_st(s, ST_ADAPTER_LIST, err);
    if (!st)
        return -1;
    pgr_bind_int(st, 1, author);
    json_t *arr = json_array();
    int rc;
    FOR_ROWS(st, rc)
    {
        json_t *metrics = NULL;
        if (pgr_col_text(st, 6))
            metrics = json_loads(pgr_col_text(st, 6), 0, NULL);
        json_array_append_new(
            arr, json_pack("{sIsososIsosososo}", "id", (json_int_t)pgr_col_int(st, 0), "method",
                           j_text(st, 1), "mode", j_text(st, 2), "rank",
                           (json_int_t)pgr_col_int(st, 3), "path", j_text(st, 4),
                           "base_model_sha256", j_text(st, 5), "metrics",
                           metrics ? metrics : json_null(), "created", j_text(st, 7)));
    }
    pgr_reset(st);
    if (rc < 0) {
        json_decref(arr);
        return -1;
    }
    *out = arr;
    return 0;
}
