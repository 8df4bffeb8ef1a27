/* A collecting ix_sink for the metadata parser tests: deep-copies every work
 * and author record (the parser's memory is gone after parse returns) so the
 * tests can assert field values afterwards. Header-only; included by
 * tests/unit/test_{arxiv,openalex,s2}*.c and test_seed_families.c. */
#ifndef PEERGRAPH_TEST_MDSINK_H
#define PEERGRAPH_TEST_MDSINK_H
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph/util.h"
#include "indexer/metadata.h"
#include "indexer/record.h"

#define MD_MAX 64

typedef struct md_sink {
    pgr_arena a;
    ix_work works[MD_MAX];
    size_t n_works;
    ix_author authors[MD_MAX];
    size_t n_authors;
    ix_topic_ref topics[MD_MAX]; /* topic objects on their own */
    size_t n_topics;
    size_t total_works; /* counted past MD_MAX too */
} md_sink;

static const char *md_dup(pgr_arena *a, const char *s)
{
    return s ? pgr_arena_strdup(a, s) : NULL;
}

static const char *const *md_dup_list(pgr_arena *a, const char *const *l, size_t n)
{
    const char **o = pgr_arena_calloc(a, n + 1, sizeof *o);
    for (size_t i = 0; i < n; i++)
        o[i] = md_dup(a, l[i]);
    return o;
}

static const ix_topic_ref *md_dup_topics(pgr_arena *a, const ix_topic_ref *t, size_t n)
{
    ix_topic_ref *o = pgr_arena_calloc(a, n + 1, sizeof *o);
    for (size_t i = 0; i < n; i++) {
        o[i] = t[i];
        o[i].scheme = md_dup(a, t[i].scheme);
        o[i].code = md_dup(a, t[i].code);
        o[i].name = md_dup(a, t[i].name);
        o[i].description = md_dup(a, t[i].description);
        o[i].subfield = md_dup(a, t[i].subfield);
        o[i].field = md_dup(a, t[i].field);
        o[i].domain = md_dup(a, t[i].domain);
    }
    return o;
}

static const ix_year_count *md_dup_counts(pgr_arena *a, const ix_year_count *c, size_t n)
{
    ix_year_count *o = pgr_arena_calloc(a, n + 1, sizeof *o);
    if (n)
        memcpy(o, c, n * sizeof *o);
    return o;
}

static int md_work(void *ctx, const ix_work *w, pgr_err *err)
{
    (void)err;
    md_sink *s = ctx;
    s->total_works++;
    if (s->n_works >= MD_MAX)
        return 0;
    pgr_arena *a = &s->a;
    ix_work *o = &s->works[s->n_works++];
    *o = *w;
    o->title = md_dup(a, w->title);
    o->abstract = md_dup(a, w->abstract);
    ix_author_ref *au = pgr_arena_calloc(a, w->n_authors + 1, sizeof *au);
    for (size_t i = 0; i < w->n_authors; i++) {
        au[i].raw_name = md_dup(a, w->authors[i].raw_name);
        au[i].display_name = md_dup(a, w->authors[i].display_name);
        au[i].affiliation = md_dup(a, w->authors[i].affiliation);
        au[i].orcid = md_dup(a, w->authors[i].orcid);
        au[i].openalex_id = md_dup(a, w->authors[i].openalex_id);
        au[i].s2_id = md_dup(a, w->authors[i].s2_id);
    }
    o->authors = au;
    o->authors_truncated = md_dup(a, w->authors_truncated);
    o->date = md_dup(a, w->date);
    o->type = md_dup(a, w->type);
    o->venue = md_dup(a, w->venue);
    o->arxiv_id = md_dup(a, w->arxiv_id);
    o->doi = md_dup(a, w->doi);
    o->openalex_id = md_dup(a, w->openalex_id);
    o->s2_id = md_dup(a, w->s2_id);
    o->pmid = md_dup(a, w->pmid);
    o->topics = md_dup_topics(a, w->topics, w->n_topics);
    o->counts_by_year = md_dup_counts(a, w->counts_by_year, w->n_counts_by_year);
    o->references = md_dup_list(a, w->references, w->n_references);
    o->comments = md_dup(a, w->comments);
    o->journal_ref = md_dup(a, w->journal_ref);
    o->language = md_dup(a, w->language);
    o->tldr = md_dup(a, w->tldr);
    o->tldr_model = md_dup(a, w->tldr_model);
    return 0;
}

static int md_topic(void *ctx, const ix_topic_ref *t, pgr_err *err)
{
    (void)err;
    md_sink *s = ctx;
    if (s->n_topics < MD_MAX)
        s->topics[s->n_topics++] = *md_dup_topics(&s->a, t, 1);
    return 0;
}

static const ix_inst_ref *md_dup_insts(pgr_arena *a, const ix_inst_ref *v, size_t n)
{
    ix_inst_ref *o = pgr_arena_calloc(a, n + 1, sizeof *o);
    for (size_t i = 0; i < n; i++) {
        o[i].name = md_dup(a, v[i].name);
        o[i].ror = md_dup(a, v[i].ror);
        o[i].openalex_id = md_dup(a, v[i].openalex_id);
        int *y = pgr_arena_calloc(a, v[i].n_years + 1, sizeof *y);
        if (v[i].n_years)
            memcpy(y, v[i].years, v[i].n_years * sizeof *y);
        o[i].years = y;
        o[i].n_years = v[i].n_years;
    }
    return o;
}

static const ix_ext_id *md_dup_ids(pgr_arena *a, const ix_ext_id *v, size_t n)
{
    ix_ext_id *o = pgr_arena_calloc(a, n + 1, sizeof *o);
    for (size_t i = 0; i < n; i++) {
        o[i].kind = md_dup(a, v[i].kind);
        o[i].value = md_dup(a, v[i].value);
    }
    return o;
}

static int md_author(void *ctx, const ix_author *x, pgr_err *err)
{
    (void)err;
    md_sink *s = ctx;
    if (s->n_authors >= MD_MAX)
        return 0;
    pgr_arena *a = &s->a;
    ix_author *o = &s->authors[s->n_authors++];
    *o = *x;
    o->display_name = md_dup(a, x->display_name);
    o->alternatives = md_dup_list(a, x->alternatives, x->n_alternatives);
    o->orcid = md_dup(a, x->orcid);
    o->openalex_id = md_dup(a, x->openalex_id);
    o->s2_id = md_dup(a, x->s2_id);
    o->affiliation = md_dup(a, x->affiliation);
    o->institution_ror = md_dup(a, x->institution_ror);
    o->counts_by_year = md_dup_counts(a, x->counts_by_year, x->n_counts_by_year);
    o->topics = md_dup_topics(a, x->topics, x->n_topics);
    o->topic_share = md_dup_topics(a, x->topic_share, x->n_topic_share);
    o->concepts = md_dup_topics(a, x->concepts, x->n_concepts);
    o->last_known = md_dup_insts(a, x->last_known, x->n_last_known);
    o->affiliations = md_dup_insts(a, x->affiliations, x->n_affiliations);
    o->ids = md_dup_ids(a, x->ids, x->n_ids);
    o->homepage = md_dup(a, x->homepage);
    o->updated_date = md_dup(a, x->updated_date);
    o->updated_day = md_dup(a, x->updated_day);
    return 0;
}

static int md_profile(void *ctx, const ix_profile *p, pgr_err *err)
{
    (void)ctx;
    (void)p;
    return pgr_errf(err, PGR_EINTERNAL, "metadata parsers never emit profiles");
}

static void md_init(md_sink *s, ix_sink *sink)
{
    memset(s, 0, sizeof *s);
    sink->ctx = s;
    sink->work = md_work;
    sink->author = md_author;
    sink->profile = md_profile;
    sink->topic = md_topic;
}

static void md_free(md_sink *s)
{
    pgr_arena_free(&s->a);
}

/* Parses a buffer with format f; returns parse's result, err filled. */
static int md_parse_buf(const ix_format *f, const char *path, const char *data, size_t len,
                        md_sink *s, pgr_err *err)
{
    ix_sink sink;
    md_init(s, &sink);
    char *copy = malloc(len + 1);
    memcpy(copy, data, len);
    copy[len] = '\0';
    ix_input in = {.path = path, .data = copy, .len = len, .capture_date = "2026-11-22"};
    pgr_err_clear(err);
    int rc = f->parse(&in, &sink, err);
    free(copy);
    return rc;
}

/* Reads tests/data/<rel> (tests run from the repository root). */
static char *md_read(const char *rel, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "tests/data/%s", rel);
    char *data = NULL;
    pgr_err err;
    if (pgr_read_file(path, &data, len, &err))
        return NULL;
    return data;
}

/* The format detection picks for tests/data/<rel>, or "(none)". */
__attribute__((unused)) static const char *md_detect_name(const char *rel)
{
    size_t len;
    char *d = md_read(rel, &len);
    const ix_format *f = d ? ix_format_detect(d, len) : NULL;
    free(d);
    return f ? f->name : "(none)";
}

/* unused by the tests that only collect (test_seed_families) */
__attribute__((unused)) static int md_parse_file(const char *fmt_name, const char *rel,
                                                 md_sink *s, pgr_err *err)
{
    size_t len = 0;
    char *data = md_read(rel, &len);
    if (!data)
        return pgr_errf(err, PGR_EIO, "cannot read tests/data/%s", rel);
    const ix_format *f = ix_format_by_name(fmt_name);
    int rc = f ? md_parse_buf(f, rel, data, len, s, err)
               : pgr_errf(err, PGR_EINTERNAL, "no format %s", fmt_name);
    free(data);
    return rc;
}

#endif
