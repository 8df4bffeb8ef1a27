/* Lists: filters, full-text search, sorting, page and keyset-cursor paging,
 * select and group_by, plus autocomplete. The SQL is built here once; the
 * only dialect parts are the full-text fragments (table `fts` below). Every
 * value from the request travels as a bound parameter, never as SQL text. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph/fts_query.h"
#include "graph/store_impl.h"

#define OOM(err) pgr_errf(err, PGR_ENOMEM, "out of memory")
#define MAX_VALUES 40       /* bound values in one query */
#define MAX_TERMS 32

/* ---- search: graph/fts_query.c parses the language (words ANDed, "a phrase",
 * OR, NOT / -word, word* prefix, parentheses) with every word folded by
 * pgr_fold, exactly as the indexed text was folded ---- */
typedef struct qterm {
    char *tokens; /* folded words, space-separated (several = phrase) */
    int prefix;   /* last word is a prefix */
} qterm;

typedef struct search {
    int active;
    char *match; /* the match expression in the backend's dialect (arena) */
    qterm terms[MAX_TERMS]; /* positive terms, for snippets */
    size_t n_terms;
} search;

/* The positive terms of an FTS5 expression from pgr_fts_parse: quoted
 * phrases not excluded by a NOT (a NOT applies to the next term or group). */
static void collect_terms(const char *fts5, pgr_arena *a, search *out)
{
    int depth = 0, neg_depth = -1, neg_next = 0;
    for (const char *p = fts5; *p;) {
        if (!strncmp(p, "NOT ", 4)) {
            neg_next = 1;
            p += 4;
        } else if (*p == '(') {
            if (neg_next && neg_depth < 0)
                neg_depth = depth;
            neg_next = 0;
            depth++;
            p++;
        } else if (*p == ')') {
            depth--;
            if (depth == neg_depth)
                neg_depth = -1;
            p++;
        } else if (*p == '"') {
            const char *q = strchr(p + 1, '"');
            if (!q)
                return;
            int prefix = q[1] == '*';
            if (!neg_next && neg_depth < 0 && out->n_terms < MAX_TERMS) {
                qterm *t = &out->terms[out->n_terms];
                t->tokens = pgr_arena_strndup(a, p + 1, (size_t)(q - p - 1));
                t->prefix = prefix;
                if (t->tokens)
                    out->n_terms++;
            }
            neg_next = 0;
            p = q + 1 + prefix;
        } else {
            p++;
        }
    }
}

static int parse_search(pgr_store *s, const char *param, const char *text, pgr_arena *a,
                        search *out, pgr_err *err)
{
    memset(out, 0, sizeof *out);
    if (!pgr_utf8_valid(text, strlen(text)))
        return pgr_errf(err, PGR_EINVAL, "%s: not valid UTF-8", param);
    pgr_fts_query fq;
    if (pgr_fts_parse_fold(param, text, 0, pgr_fold, &fq, err) != 0)
        return -1;
    out->match = pgr_arena_strdup(a, !strcmp(s->be->name, "sqlite") ? fq.fts5 : fq.tsq);
    if (out->match)
        collect_terms(fq.fts5, a, out);
    pgr_fts_free(&fq);
    if (!out->match)
        return OOM(err);
    out->active = 1;
    return 0;
}

/* ---- snippets: computed here from the original text so both backends mark
 * the same words ---- */
static int term_hit(const search *q, const char *folded)
{
    for (size_t i = 0; i < q->n_terms; i++) {
        const char *t = q->terms[i].tokens;
        int last_prefix = q->terms[i].prefix;
        /* any token of the term (phrases: each word) */
        while (*t) {
            const char *sp = strchr(t, ' ');
            size_t n = sp ? (size_t)(sp - t) : strlen(t);
            size_t fl = strlen(folded);
            if ((fl == n || (!sp && last_prefix && fl > n)) && !strncmp(folded, t, n))
                return 1;
            t = sp ? sp + 1 : t + n;
        }
    }
    return 0;
}

/* Marks matching words of text; abstracts are cut to a window of words
 * around the first hit. */
static char *snippet(const search *q, const char *text, int window, const char *open,
                     const char *close)
{
    if (!text)
        return NULL;
    /* words: maximal runs of bytes that are not ASCII space/punctuation */
    typedef struct {
        size_t start, end;
        int hit;
    } word;
    size_t cap = 64, n = 0;
    word *w = malloc(cap * sizeof *w);
    pgr_sb f = {0}, out = {0};
    if (!w)
        return NULL;
    const char *p = text;
    while (*p) {
        while (*p && (unsigned char)*p < 0x80 && !isalnum((unsigned char)*p))
            p++;
        if (!*p)
            break;
        const char *s0 = p;
        while (*p && ((unsigned char)*p >= 0x80 || isalnum((unsigned char)*p)))
            p++;
        if (n == cap) {
            word *nw = realloc(w, (cap *= 2) * sizeof *w);
            if (!nw)
                goto fail;
            w = nw;
        }
        f.len = 0;
        char *tmp = strndup(s0, (size_t)(p - s0));
        if (!tmp)
            goto fail;
        pgr_fold(tmp, &f);
        free(tmp);
        w[n].start = (size_t)(s0 - text);
        w[n].end = (size_t)(p - text);
        w[n].hit = f.data && f.len && term_hit(q, f.data);
        n++;
    }
    size_t from = 0, to = n;
    if (window > 0 && n > (size_t)window) {
        size_t first = 0;
        while (first < n && !w[first].hit)
            first++;
        if (first == n)
            first = 0;
        from = first > (size_t)window / 4 ? first - (size_t)window / 4 : 0;
        to = from + (size_t)window < n ? from + (size_t)window : n;
    }
    size_t pos = n ? (from ? w[from].start : 0) : strlen(text);
    if (from)
        pgr_sb_puts(&out, "…");
    for (size_t i = from; i < to; i++) {
        pgr_sb_append(&out, text + pos, w[i].start - pos);
        if (w[i].hit)
            pgr_sb_puts(&out, open);
        pgr_sb_append(&out, text + w[i].start, w[i].end - w[i].start);
        if (w[i].hit)
            pgr_sb_puts(&out, close);
        pos = w[i].end;
    }
    if (to < n)
        pgr_sb_puts(&out, "…");
    else
        pgr_sb_puts(&out, text + pos);
    free(w);
    pgr_sb_free(&f);
    if (!pgr_sb_ok(&out)) {
        pgr_sb_free(&out);
        return NULL;
    }
    return pgr_sb_steal(&out);
fail:
    free(w);
    pgr_sb_free(&f);
    pgr_sb_free(&out);
    return NULL;
}

/* ---- dialect fragments for full text ---- */
typedef struct fts_sql {
    const char *join;  /* added to FROM; "" when the tsvector is a column */
    const char *cond;  /* %d = the match parameter */
    const char *rank;  /* %d = the match parameter; higher is better */
    /* the entity id as the full-text index orders its matches: FTS5 walks
     * its doclists in rowid order and stops at a LIMIT only when the ORDER BY
     * names its own rowid */
    const char *id;
} fts_sql;

static const fts_sql fts_sqlite[2] = {
    /* works: title weighs most, then author names, then the abstract;
     * pgr_rank is bm25 without its corpus-wide IDF walk (store_sqlite.c) */
    {" JOIN works_fts ON works_fts.rowid = e.id", "works_fts MATCH $%d",
     "pgr_rank(works_fts, 10.0, 1.0, 4.0)", "works_fts.rowid"},
    {" JOIN authors_fts ON authors_fts.rowid = e.id", "authors_fts MATCH $%d",
     "pgr_rank(authors_fts)", "authors_fts.rowid"},
};
static const fts_sql fts_pg[2] = {
    {"", "e.tsv @@ to_tsquery('simple', $%d)",
     "ts_rank(e.tsv, to_tsquery('simple', $%d), 1)::float8", "e.id"},
    {"", "e.tsv @@ to_tsquery('simple', $%d)",
     "ts_rank(e.tsv, to_tsquery('simple', $%d), 1)::float8", "e.id"},
};

/* Lists count their matches exactly up to COUNT_CAP and estimate beyond it:
 * counting every match of a common word in a large graph costs hundreds of
 * milliseconds (docs/benchmarks.md, H2); docs/api.md says what a client
 * sees (meta.count_exact false). A works search ranked by relevance on
 * SQLite finds its best results with the top-k index (search_topk.c), the
 * same as ranking every match; it ranks every match when that index cannot
 * answer. */
#define COUNT_CAP 10000
#define TOPK_MAX_K 1000 /* deeper pages rank every match */

void pgr_list_limits(pgr_store *s, long count_cap, long topk)
{
    s->count_cap = count_cap > 0 && count_cap <= 1000000 ? count_cap : 0;
    s->topk_off = topk < 0;
}

/* ---- fields ---- */
enum { F_INT, F_TEXT, F_BOOL, F_DATE, F_REF, F_SEARCH };

typedef struct fdef {
    pgr_entity e;
    const char *name;
    int kind;
    const char *expr;   /* column, or an EXISTS template with %s for "IN (...)" */
    pgr_entity ref;     /* F_REF: the entity the values name */
    const char *strip;  /* prefix removed from values ("https://openalex.org/") */
    int lower;          /* values lowercased (DOIs) */
} fdef;

static const fdef filters[] = {
    /* the entity's own id (the API's openalex_id / ids.openalex with our keys) */
    {PGR_WORKS, "id", F_REF, "e.id %s", PGR_WORKS, NULL, 0},
    {PGR_AUTHORS, "id", F_REF, "e.id %s", PGR_AUTHORS, NULL, 0},
    {PGR_TOPICS, "id", F_REF, "e.id %s", PGR_TOPICS, NULL, 0},
    {PGR_SOURCES, "id", F_REF, "e.id %s", PGR_SOURCES, NULL, 0},
    {PGR_INSTITUTIONS, "id", F_REF, "e.id %s", PGR_INSTITUTIONS, NULL, 0},
    {PGR_WORKS, "publication_year", F_INT, "e.year", 0, NULL, 0},
    {PGR_WORKS, "type", F_TEXT, "e.type", 0, NULL, 0},
    {PGR_WORKS, "has_code", F_BOOL, "e.has_code", 0, NULL, 0},
    {PGR_WORKS, "cited_by_count", F_INT, "e.cited_by_count", 0, NULL, 0},
    {PGR_WORKS, "publication_date", F_DATE, "e.date", 0, NULL, 0},
    {PGR_WORKS, "from_publication_date", F_DATE, "e.date", 0, NULL, 0},
    {PGR_WORKS, "to_publication_date", F_DATE, "e.date", 0, NULL, 0},
    /* an author's works are few: the planner starts from them (IN) rather than
     * walking every work in sort order and probing each (EXISTS), which cost
     * 100x on a profile page; topics and institutions cover many works, and
     * EXISTS lets a sorted walk stop at the page's end */
    {PGR_WORKS, "authorships.author.id", F_REF,
     "e.id IN (SELECT x.work_id FROM authorships x WHERE x.author_id %s)", PGR_AUTHORS, NULL, 0},
    {PGR_WORKS, "author.id", F_REF,
     "e.id IN (SELECT x.work_id FROM authorships x WHERE x.author_id %s)", PGR_AUTHORS, NULL, 0},
    {PGR_WORKS, "authorships.institutions.id", F_REF,
     "EXISTS (SELECT 1 FROM authorships x WHERE x.work_id = e.id AND x.institution_id %s)",
     PGR_INSTITUTIONS, NULL, 0},
    {PGR_WORKS, "topics.id", F_REF,
     "EXISTS (SELECT 1 FROM work_topics x WHERE x.work_id = e.id AND x.topic_id %s)",
     PGR_TOPICS, NULL, 0},
    {PGR_WORKS, "primary_location.source.id", F_REF, "e.venue_id %s", PGR_SOURCES, NULL, 0},
    /* OpenAlex's citation filters: cites:W2 lists the works whose references
     * resolved to W2 (the referenced work's "cited by"), cited_by:W1 the works
     * W1's references resolved to */
    {PGR_WORKS, "cites", F_REF,
     "EXISTS (SELECT 1 FROM citations x WHERE x.citing_id = e.id AND x.cited_id %s)", PGR_WORKS,
     NULL, 0},
    {PGR_WORKS, "cited_by", F_REF,
     "EXISTS (SELECT 1 FROM citations x WHERE x.cited_id = e.id AND x.citing_id %s)", PGR_WORKS,
     NULL, 0},
    {PGR_WORKS, "ids.openalex", F_TEXT, "e.openalex_id", 0, "https://openalex.org/", 0},
    {PGR_WORKS, "openalex", F_TEXT, "e.openalex_id", 0, "https://openalex.org/", 0},
    {PGR_WORKS, "doi", F_TEXT, "e.doi", 0, "https://doi.org/", 1},
    {PGR_WORKS, "ids.doi", F_TEXT, "e.doi", 0, "https://doi.org/", 1},
    {PGR_WORKS, "ids.arxiv", F_TEXT, "e.arxiv_id", 0, "arxiv:", 0},
    {PGR_WORKS, "arxiv", F_TEXT, "e.arxiv_id", 0, "arxiv:", 0},
    {PGR_WORKS, "default.search", F_SEARCH, NULL, 0, NULL, 0},
    {PGR_WORKS, "title.search", F_SEARCH, NULL, 0, NULL, 0},
    {PGR_WORKS, "display_name.search", F_SEARCH, NULL, 0, NULL, 0},
    {PGR_AUTHORS, "display_name.search", F_SEARCH, NULL, 0, NULL, 0},
    {PGR_AUTHORS, "default.search", F_SEARCH, NULL, 0, NULL, 0},
    {PGR_AUTHORS, "works_count", F_INT, "e.works_count", 0, NULL, 0},
    {PGR_AUTHORS, "cited_by_count", F_INT, "e.cited_by_count", 0, NULL, 0},
    {PGR_AUTHORS, "summary_stats.h_index", F_INT, "e.h_index", 0, NULL, 0},
    {PGR_AUTHORS, "summary_stats.i10_index", F_INT, "e.i10_index", 0, NULL, 0},
    {PGR_AUTHORS, "topics.id", F_REF,
     "EXISTS (SELECT 1 FROM author_topics x WHERE x.author_id = e.id AND x.topic_id %s)",
     PGR_TOPICS, NULL, 0},
    {PGR_AUTHORS, "last_known_institutions.id", F_REF,
     "EXISTS (SELECT 1 FROM author_institutions x WHERE x.author_id = e.id AND "
     "x.institution_id %s)",
     PGR_INSTITUTIONS, NULL, 0},
    {PGR_AUTHORS, "affiliations.institution.id", F_REF,
     "EXISTS (SELECT 1 FROM author_institutions x WHERE x.author_id = e.id AND "
     "x.institution_id %s)",
     PGR_INSTITUTIONS, NULL, 0},
    {PGR_AUTHORS, "ids.openalex", F_TEXT, "e.openalex_id", 0, "https://openalex.org/", 0},
    {PGR_AUTHORS, "openalex", F_TEXT, "e.openalex_id", 0, "https://openalex.org/", 0},
    {PGR_AUTHORS, "orcid", F_TEXT, "e.orcid", 0, "https://orcid.org/", 0},
    {PGR_TOPICS, "works_count", F_INT, "e.works_count", 0, NULL, 0},
    {PGR_TOPICS, "cited_by_count", F_INT, "e.cited_by_count", 0, NULL, 0},
    {PGR_TOPICS, "scheme", F_TEXT, "e.scheme", 0, NULL, 0},
    {PGR_TOPICS, "code", F_TEXT, "e.code", 0, NULL, 0},
    {PGR_TOPICS, "display_name.search", F_SEARCH, NULL, 0, NULL, 0},
    {PGR_SOURCES, "works_count", F_INT, "e.works_count", 0, NULL, 0},
    {PGR_SOURCES, "cited_by_count", F_INT, "e.cited_by_count", 0, NULL, 0},
    {PGR_SOURCES, "display_name.search", F_SEARCH, NULL, 0, NULL, 0},
    {PGR_INSTITUTIONS, "works_count", F_INT, "e.works_count", 0, NULL, 0},
    {PGR_INSTITUTIONS, "cited_by_count", F_INT, "e.cited_by_count", 0, NULL, 0},
    {PGR_INSTITUTIONS, "country_code", F_TEXT, "e.country_code", 0, NULL, 0},
    {PGR_INSTITUTIONS, "ror", F_TEXT, "e.ror", 0, "https://ror.org/", 0},
    {PGR_INSTITUTIONS, "display_name.search", F_SEARCH, NULL, 0, NULL, 0},
};

/* Sort keys: expressions are never NULL, so keyset comparisons are total. */
enum { S_INT, S_TEXT, S_REL };
typedef struct sdef {
    pgr_entity e;
    const char *name;
    int kind;
    const char *expr;
} sdef;

static const sdef sorts[] = {
    {PGR_WORKS, "cited_by_count", S_INT, "e.cited_by_count"},
    {PGR_WORKS, "publication_date", S_TEXT, "e.sort_date"},
    {PGR_WORKS, "publication_year", S_INT, "COALESCE(e.year, 0)"},
    {PGR_WORKS, "display_name", S_TEXT, "e.norm_title"},
    {PGR_WORKS, "title", S_TEXT, "e.norm_title"},
    {PGR_AUTHORS, "works_count", S_INT, "e.works_count"},
    {PGR_AUTHORS, "cited_by_count", S_INT, "e.cited_by_count"},
    {PGR_AUTHORS, "display_name", S_TEXT, "e.norm_name"},
    {PGR_AUTHORS, "summary_stats.h_index", S_INT, "e.h_index"},
    {PGR_TOPICS, "works_count", S_INT, "e.works_count"},
    {PGR_TOPICS, "cited_by_count", S_INT, "e.cited_by_count"},
    {PGR_TOPICS, "display_name", S_TEXT, "e.norm_name"},
    {PGR_SOURCES, "works_count", S_INT, "e.works_count"},
    {PGR_SOURCES, "cited_by_count", S_INT, "e.cited_by_count"},
    {PGR_SOURCES, "display_name", S_TEXT, "e.norm_name"},
    {PGR_INSTITUTIONS, "works_count", S_INT, "e.works_count"},
    {PGR_INSTITUTIONS, "cited_by_count", S_INT, "e.cited_by_count"},
    {PGR_INSTITUTIONS, "display_name", S_TEXT, "e.norm_name"},
};

/* group_by keys; join adds a table g when the key lives in one. */
typedef struct gdef {
    pgr_entity e;
    const char *name;
    int kind; /* F_INT, F_TEXT, F_BOOL, F_REF */
    const char *expr;
    const char *join;
    pgr_entity ref;
} gdef;

static const gdef groups[] = {
    {PGR_WORKS, "publication_year", F_INT, "e.year", "", 0},
    {PGR_WORKS, "type", F_TEXT, "e.type", "", 0},
    {PGR_WORKS, "has_code", F_BOOL, "e.has_code", "", 0},
    {PGR_WORKS, "primary_location.source.id", F_REF, "e.venue_id", "", PGR_SOURCES},
    {PGR_WORKS, "topics.id", F_REF, "g.topic_id", " JOIN work_topics g ON g.work_id = e.id",
     PGR_TOPICS},
    {PGR_WORKS, "authorships.author.id", F_REF, "g.author_id",
     " JOIN authorships g ON g.work_id = e.id", PGR_AUTHORS},
    {PGR_AUTHORS, "topics.id", F_REF, "g.topic_id", " JOIN author_topics g ON g.author_id = e.id",
     PGR_TOPICS},
    {PGR_AUTHORS, "last_known_institutions.id", F_REF, "g.institution_id",
     " JOIN author_institutions g ON g.author_id = e.id", PGR_INSTITUTIONS},
    {PGR_TOPICS, "scheme", F_TEXT, "e.scheme", "", 0},
    {PGR_INSTITUTIONS, "country_code", F_TEXT, "e.country_code", "", 0},
};

static const char *const tables[PGR_N_ENTITIES] = {"works", "authors", "topics", "venues",
                                                   "institutions"};

/* ---- the query being built ---- */
typedef struct qb {
    pgr_store *s;
    pgr_entity e;
    pgr_arena a;
    pgr_sb from, where;
    pgr_param p[PGR_MAX_PARAMS];
    int np;
    search q;        /* full text (works, authors) */
    int rel_param;   /* parameter index of the match string, 0 = none */
    int like_search; /* topics/sources/institutions: LIKE over norm_name */
    pgr_err *err;
} qb;

static int qb_param(qb *b, int type, int64_t i, const char *s)
{
    if (b->np >= MAX_VALUES)
        return pgr_errf(b->err, PGR_EINVAL, "filter: more than %d values in one query",
                         MAX_VALUES);
    pgr_param *p = &b->p[b->np++];
    p->type = type;
    p->i = i;
    p->s = s;
    return b->np;
}

static void qb_and(qb *b)
{
    if (b->where.len)
        pgr_sb_puts(&b->where, " AND ");
}

static int parse_int(const char *v, int64_t *out)
{
    if (!v || !*v)
        return -1;
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (*end || errno)
        return -1;
    *out = x;
    return 0;
}

static int valid_date(const char *v)
{
    /* YYYY, YYYY-MM or YYYY-MM-DD */
    size_t n = strlen(v);
    if (n != 4 && n != 7 && n != 10)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 4 || i == 7) {
            if (v[i] != '-')
                return 0;
        } else if (!isdigit((unsigned char)v[i])) {
            return 0;
        }
    }
    return 1;
}

/* Turns one filter value into a parameter; -1 on a bad value. For F_REF an
 * id that does not exist binds -1 (matches nothing), as OpenAlex answers an
 * empty list rather than an error. */
static int value_param(qb *b, const fdef *f, const char *v)
{
    size_t len = strlen(v);
    if (len > 512 || !pgr_utf8_valid(v, len))
        return pgr_errf(b->err, PGR_EINVAL, "filter %s: value too long or not UTF-8", f->name);
    switch (f->kind) {
    case F_INT: {
        int64_t x;
        if (parse_int(v, &x) != 0)
            return pgr_errf(b->err, PGR_EINVAL, "filter %s: '%s' is not an integer", f->name, v);
        return qb_param(b, PT_INT, x, NULL);
    }
    case F_BOOL:
        if (!strcmp(v, "true") || !strcmp(v, "1"))
            return qb_param(b, PT_INT, 1, NULL);
        if (!strcmp(v, "false") || !strcmp(v, "0"))
            return qb_param(b, PT_INT, 0, NULL);
        return pgr_errf(b->err, PGR_EINVAL, "filter %s: '%s' is not true or false", f->name, v);
    case F_DATE:
        if (!valid_date(v))
            return pgr_errf(b->err, PGR_EINVAL, "filter %s: '%s' is not a date (YYYY-MM-DD)",
                             f->name, v);
        return qb_param(b, PT_TEXT, 0, v);
    case F_REF: {
        pgr_id id;
        pgr_err e2;
        if (pgr_resolve_id(b->s, f->ref, v, &id, &e2) != 0) {
            if (e2.code != PGR_ENOTFOUND) {
                if (b->err)
                    pgr_errf(b->err, e2.code, "filter %s: %s", f->name, e2.msg);
                return -1;
            }
            id = -1;
        }
        return qb_param(b, PT_INT, id, NULL);
    }
    default: { /* F_TEXT */
        const char *x = v;
        if (f->strip && !strncmp(x, f->strip, strlen(f->strip)))
            x += strlen(f->strip);
        if (f->lower) {
            char *low = pgr_arena_strdup(&b->a, x);
            if (!low)
                return OOM(b->err);
            for (char *c = low; *c; c++)
                *c = (char)tolower((unsigned char)*c);
            x = low;
        }
        return qb_param(b, PT_TEXT, 0, x);
    }
    }
}

static int add_search(qb *b, const char *param, const char *text)
{
    if (b->e == PGR_WORKS || b->e == PGR_AUTHORS) {
        /* several searches (search= and *.search filters) are ANDed */
        search q;
        if (parse_search(b->s, param, text, &b->a, &q, b->err) != 0)
            return -1;
        if (b->q.active) {
            const char *op = !strcmp(b->s->be->name, "sqlite") ? " AND " : " & ";
            q.match = pgr_arena_printf(&b->a, "(%s)%s(%s)", b->q.match, op, q.match);
            if (!q.match)
                return OOM(b->err);
            for (size_t i = 0; i < b->q.n_terms && q.n_terms < MAX_TERMS; i++)
                q.terms[q.n_terms++] = b->q.terms[i];
            b->p[b->rel_param - 1].s = q.match;
        }
        b->q = q;
        if (!b->rel_param) {
            int k = qb_param(b, PT_TEXT, 0, q.match);
            if (k < 0)
                return -1;
            b->rel_param = k;
            const fts_sql *f = !strcmp(b->s->be->name, "sqlite") ? &fts_sqlite[b->e] : &fts_pg[b->e];
            pgr_sb_puts(&b->from, f->join);
            qb_and(b);
            pgr_sb_printf(&b->where, f->cond, k);
        }
        return 0;
    }
    /* names of topics, sources, institutions: every folded word must start a
     * word of the normalised name */
    pgr_sb sb = {0};
    pgr_fold(text, &sb);
    if (!pgr_sb_ok(&sb)) {
        pgr_sb_free(&sb);
        return OOM(b->err);
    }
    int rc = 0, any = 0;
    for (char *t = sb.data; t && *t && rc == 0;) {
        char *sp = strchr(t, ' ');
        size_t n = sp ? (size_t)(sp - t) : strlen(t);
        char *pat = pgr_arena_printf(&b->a, "%% %.*s%%", (int)n, t);
        int k = pat ? qb_param(b, PT_TEXT, 0, pat) : OOM(b->err);
        if (k < 0) {
            rc = -1;
            break;
        }
        qb_and(b);
        pgr_sb_printf(&b->where, "(' ' || e.norm_name) LIKE $%d", k);
        any = 1;
        t = sp ? sp + 1 : t + n;
    }
    pgr_sb_free(&sb);
    if (rc == 0 && !any) {
        qb_and(b);
        pgr_sb_puts(&b->where, "1 = 0");
    }
    b->like_search = 1;
    return rc;
}

static int add_filter(qb *b, const pgr_filter *flt)
{
    const fdef *f = NULL;
    for (size_t i = 0; i < sizeof filters / sizeof filters[0] && !f; i++)
        if (filters[i].e == b->e && !strcmp(filters[i].name, flt->field))
            f = &filters[i];
    if (!f)
        return pgr_errf(b->err, PGR_EINVAL, "filter: '%s' is not a filter of %s", flt->field,
                        pgr_entity_name(b->e));
    if (flt->n_values < 1 || !flt->values)
        return pgr_errf(b->err, PGR_EINVAL, "filter %s: no value", f->name);
    if (f->kind == F_SEARCH) {
        if (flt->op != PGR_OP_EQ || flt->n_values != 1)
            return pgr_errf(b->err, PGR_EINVAL, "filter %s: takes one search string", f->name);
        return add_search(b, f->name, flt->values[0]);
    }
    pgr_op op = flt->op;
    /* from_/to_publication_date are ranges with one open end */
    const char *lo = NULL, *hi = NULL;
    if (!strcmp(f->name, "from_publication_date") || !strcmp(f->name, "to_publication_date")) {
        if (op != PGR_OP_EQ || flt->n_values != 1)
            return pgr_errf(b->err, PGR_EINVAL, "filter %s: takes one date", f->name);
        op = PGR_OP_RANGE;
        if (f->name[0] == 'f')
            lo = flt->values[0];
        else
            hi = flt->values[0];
    }
    if ((op == PGR_OP_LT || op == PGR_OP_GT || op == PGR_OP_RANGE) &&
        !(f->kind == F_INT || f->kind == F_DATE))
        return pgr_errf(b->err, PGR_EINVAL, "filter %s: < and > apply to numbers and dates only",
                        f->name);
    qb_and(b);
    if (op == PGR_OP_RANGE) {
        if (!lo && !hi) {
            if (flt->n_values != 2)
                return pgr_errf(b->err, PGR_EINVAL, "filter %s: a range needs two ends", f->name);
            lo = flt->values[0];
            hi = flt->values[1];
        }
        pgr_sb_putc(&b->where, '(');
        int any = 0;
        if (lo && *lo) {
            int k = value_param(b, f, lo);
            if (k < 0)
                return -1;
            pgr_sb_printf(&b->where, "%s >= $%d", f->expr, k);
            any = 1;
        }
        if (hi && *hi) {
            int k = value_param(b, f, hi);
            if (k < 0)
                return -1;
            /* a date bound of YYYY or YYYY-MM covers the whole period */
            if (f->kind == F_DATE && strlen(hi) < 10)
                pgr_sb_printf(&b->where, "%s%s <= $%d || '~'", any ? " AND " : "", f->expr, k);
            else
                pgr_sb_printf(&b->where, "%s%s <= $%d", any ? " AND " : "", f->expr, k);
            any = 1;
        }
        if (!any)
            pgr_sb_puts(&b->where, "1 = 1");
        pgr_sb_putc(&b->where, ')');
        return 0;
    }
    if (op == PGR_OP_LT || op == PGR_OP_GT) {
        int k = value_param(b, f, flt->values[0]);
        if (k < 0)
            return -1;
        pgr_sb_printf(&b->where, "%s %c $%d", f->expr, op == PGR_OP_LT ? '<' : '>', k);
        return 0;
    }
    /* EQ / NE over an OR-list */
    pgr_sb list = {0};
    pgr_sb_puts(&list, "IN (");
    for (size_t i = 0; i < flt->n_values; i++) {
        int k = value_param(b, f, flt->values[i]);
        if (k < 0) {
            pgr_sb_free(&list);
            return -1;
        }
        pgr_sb_printf(&list, "%s$%d", i ? ", " : "", k);
    }
    pgr_sb_putc(&list, ')');
    if (!pgr_sb_ok(&list)) {
        pgr_sb_free(&list);
        return OOM(b->err);
    }
    if (f->kind == F_REF) {
        if (op == PGR_OP_NE)
            pgr_sb_puts(&b->where, "NOT ");
        pgr_sb_printf(&b->where, f->expr, list.data);
    } else if (op == PGR_OP_NE) {
        /* unknown values (NULL) are "not" any value */
        pgr_sb_printf(&b->where, "(%s IS NULL OR %s NOT %s)", f->expr, f->expr, list.data);
    } else {
        pgr_sb_printf(&b->where, "%s %s", f->expr, list.data);
    }
    pgr_sb_free(&list);
    return 0;
}

static void bind_all(pgr_stmt *st, const qb *b, int upto)
{
    for (int i = 0; i < upto; i++) {
        const pgr_param *p = &b->p[i];
        if (p->type == PT_INT)
            pgr_bind_int(st, i + 1, p->i);
        else if (p->type == PT_TEXT)
            pgr_bind_text(st, i + 1, p->s);
        else if (p->type == PT_DOUBLE)
            pgr_bind_double(st, i + 1, p->d);
        else
            pgr_bind_null(st, i + 1);
    }
}

/* ---- cursors: base64url of a JSON array [query hash, sort values..., id] ---- */
static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static char *b64_encode(const char *in)
{
    size_t n = strlen(in), o = 0;
    char *out = malloc(n / 3 * 4 + 8);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)(unsigned char)in[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)in[i + 2];
        out[o++] = b64[(v >> 18) & 63];
        out[o++] = b64[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = b64[(v >> 6) & 63];
        if (i + 2 < n)
            out[o++] = b64[v & 63];
    }
    out[o] = '\0';
    return out;
}

static char *b64_decode(const char *in)
{
    size_t n = strlen(in), o = 0;
    if (n > 4096)
        return NULL;
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = strchr(b64, in[i]);
        if (!p || !in[i]) {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (uint32_t)(p - b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[o] = '\0';
    return out;
}

static uint64_t fnv(uint64_t h, const char *s)
{
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (h ^ 0xff) * 1099511628211ull; /* field separator */
}

/* A cursor belongs to one query: entity, filters, search and sorts. */
static uint64_t query_hash(const pgr_query *q)
{
    uint64_t h = fnv(1469598103934665603ull, pgr_entity_name(q->entity));
    for (size_t i = 0; i < q->n_filters; i++) {
        char op[8];
        snprintf(op, sizeof op, "%d", (int)q->filters[i].op);
        h = fnv(fnv(h, q->filters[i].field), op);
        for (size_t k = 0; k < q->filters[i].n_values; k++)
            h = fnv(h, q->filters[i].values[k]);
    }
    h = fnv(h, q->search);
    for (size_t i = 0; i < q->n_sorts; i++)
        h = fnv(fnv(h, q->sorts[i].field), q->sorts[i].desc ? "d" : "a");
    return h;
}

/* ---- the list ---- */
static int in_select(const pgr_query *q, const char *field)
{
    if (!q->select)
        return 1;
    for (size_t i = 0; i < q->n_select; i++)
        if (!strcmp(q->select[i], field))
            return 1;
    return 0;
}

typedef struct skey {
    const char *expr;
    int kind, desc;
} skey;

/* The top-k path's verification (search_topk.c): which of ids match the
 * request (its filters, MATCH, cursor) and their exact scores, from the
 * request's own SQL with the ids as one JSON parameter. */
typedef struct topk_verify_ctx {
    pgr_store *s;
    qb *b;
    const char *sql;         /* filters, MATCH, cursor: ids and exact scores */
    const char *sql_filters; /* filters alone; NULL: there are none */
    int ids_param;
    pgr_sb json;
} topk_verify_ctx;

static int topk_verify(void *ctx, int full, const pgr_id *ids, size_t n, pgr_id *ok_ids,
                       double *ok_scores, size_t *n_ok, pgr_err *err)
{
    topk_verify_ctx *v = ctx;
    *n_ok = 0;
    if (!full && !v->sql_filters) {
        memcpy(ok_ids, ids, n * sizeof *ids);
        *n_ok = n;
        return 0;
    }
    pgr_sb_reset(&v->json);
    pgr_sb_putc(&v->json, '[');
    for (size_t i = 0; i < n; i++)
        pgr_sb_printf(&v->json, "%s%lld", i ? "," : "", (long long)ids[i]);
    pgr_sb_putc(&v->json, ']');
    if (!pgr_sb_ok(&v->json))
        return OOM(err);
    v->b->p[v->ids_param - 1].s = v->json.data;
    pgr_stmt *st = pgr_st_dyn(v->s, full ? "list_topk" : "list_topk_filters",
                              full ? v->sql : v->sql_filters, err);
    if (!st)
        return -1;
    bind_all(st, v->b, v->b->np);
    int r;
    while ((r = pgr_step(st, err)) == 1 && *n_ok < n) {
        ok_ids[*n_ok] = pgr_col_int(st, 0);
        ok_scores[(*n_ok)++] = full ? pgr_col_double(st, 1) : NAN;
    }
    pgr_reset(st);
    return r < 0 ? -1 : 0;
}

/* The FROM and WHERE of a list query over b->e: the entity's table, live
 * authors only, the request's filters and its search. */
static int qb_start(qb *b, const pgr_query *q)
{
    pgr_sb_printf(&b->from, "%s e", tables[b->e]);
    if (b->e == PGR_AUTHORS)
        pgr_sb_puts(&b->where, "e.merged_into IS NULL");
    for (size_t i = 0; i < q->n_filters; i++)
        if (add_filter(b, &q->filters[i]) != 0)
            return -1;
    if (q->search && *q->search && add_search(b, "search", q->search) != 0)
        return -1;
    if (!b->where.len)
        pgr_sb_puts(&b->where, "1 = 1");
    return 0;
}

static int list_run(pgr_store *s, const pgr_query *q, json_t **out, pgr_err *err);

int pgr_list(pgr_store *s, const pgr_query *q, json_t **out, pgr_err *err)
{
    /* SQLite: the whole list in one read transaction. Outside one, every
     * statement takes and drops the database's locks (fcntl and fstat
     * calls), and a works search reads hundreds of texts one statement at a
     * time: a fifth of its CPU went there. */
    int own = !strcmp(s->be->name, "sqlite") && !s->in_tx;
    if (own && s->be->exec(s, "list_begin", "BEGIN", err) != 0)
        return -1;
    int rc = list_run(s, q, out, err);
    if (own) {
        pgr_err e2 = {0};
        if (s->be->exec(s, "list_end", "COMMIT", rc == 0 ? err : &e2) != 0) {
            s->be->exec(s, "list_end", "ROLLBACK", &e2);
            if (rc == 0) {
                json_decref(*out);
                *out = NULL;
                rc = -1;
            }
        }
    }
    return rc;
}

static int list_run(pgr_store *s, const pgr_query *q, json_t **out, pgr_err *err)
{
    *out = NULL;
    if ((unsigned)q->entity >= PGR_N_ENTITIES)
        return pgr_errf(err, PGR_EINVAL, "list: unknown entity %d", (int)q->entity);
    int per_page = q->per_page ? q->per_page : 25;
    if (per_page < 1 || per_page > 200)
        return pgr_errf(err, PGR_EINVAL, "per_page: %d is not in 1..200", per_page);
    int page = q->page ? q->page : 1;
    if (!q->cursor && (page < 1 || (int64_t)page * per_page > 1000000))
        return pgr_errf(err, PGR_EINVAL, "page: %d is out of range", page);
    if (q->select && pgr_select_check(q->entity, q->select, q->n_select, err) != 0)
        return -1;
    qb b = {.s = s, .e = q->entity, .err = err};
    json_t *results = NULL, *meta = NULL, *res = NULL;
    pgr_sb sql = {0};
    char *cursor_json = NULL;
    int rc = -1;
    if (qb_start(&b, q) != 0)
        goto cleanup;
    if (!pgr_sb_ok(&b.from) || !pgr_sb_ok(&b.where)) {
        OOM(err);
        goto cleanup;
    }
    const fts_sql *fts = !strcmp(s->be->name, "sqlite") ? &fts_sqlite[q->entity < 2 ? q->entity : 0]
                                                        : &fts_pg[q->entity < 2 ? q->entity : 0];
    char rel_expr[160] = "";
    if (b.rel_param)
        snprintf(rel_expr, sizeof rel_expr, fts->rank, b.rel_param);

    /* sort keys, then id as the tiebreaker */
    skey keys[9];
    size_t nk = 0;
    int id_desc = 0;
    for (size_t i = 0; i < q->n_sorts; i++) {
        const char *name = q->sorts[i].field;
        if (nk >= 8) {
            pgr_errf(err, PGR_EINVAL, "sort: at most 8 keys");
            goto cleanup;
        }
        if (!strcmp(name, "id")) {
            id_desc = q->sorts[i].desc;
            break;
        }
        if (!strcmp(name, "relevance_score")) {
            if (!b.rel_param) {
                pgr_errf(err, PGR_EINVAL, "sort: relevance_score needs a search");
                goto cleanup;
            }
            keys[nk++] = (skey){rel_expr, S_REL, q->sorts[i].desc};
            continue;
        }
        const sdef *d = NULL;
        for (size_t k = 0; k < sizeof sorts / sizeof sorts[0] && !d; k++)
            if (sorts[k].e == q->entity && !strcmp(sorts[k].name, name))
                d = &sorts[k];
        if (!d) {
            pgr_errf(err, PGR_EINVAL, "sort: '%s' is not a sort key of %s", name,
                     pgr_entity_name(q->entity));
            goto cleanup;
        }
        keys[nk++] = (skey){d->expr, d->kind, q->sorts[i].desc};
    }
    if (!q->n_sorts && b.rel_param)
        keys[nk++] = (skey){rel_expr, S_REL, 1};

    /* the cursor: after which row to continue */
    uint64_t qh = query_hash(q);
    int after = 0;
    json_t *cvals = NULL;
    double keys_after_score = 0;
    pgr_id keys_after_id = 0;
    if (q->cursor && strcmp(q->cursor, "*") != 0) {
        char *dec = b64_decode(q->cursor);
        json_error_t je;
        cvals = dec ? json_loads(dec, 0, &je) : NULL;
        free(dec);
        char hs[24];
        snprintf(hs, sizeof hs, "%016llx", (unsigned long long)qh);
        if (!json_is_array(cvals) || json_array_size(cvals) != nk + 2 ||
            !json_is_string(json_array_get(cvals, 0)) ||
            strcmp(json_string_value(json_array_get(cvals, 0)), hs) != 0 ||
            !json_is_integer(json_array_get(cvals, nk + 1))) {
            json_decref(cvals);
            pgr_errf(err, PGR_EINVAL, "cursor: not a cursor of this query (start with cursor=*)");
            goto cleanup;
        }
        for (size_t i = 0; i < nk; i++) {
            json_t *v = json_array_get(cvals, i + 1);
            int ok = keys[i].kind == S_INT    ? json_is_integer(v)
                     : keys[i].kind == S_TEXT ? json_is_string(v)
                                              : json_is_number(v);
            if (!ok) {
                json_decref(cvals);
                pgr_errf(err, PGR_EINVAL, "cursor: malformed (start with cursor=*)");
                goto cleanup;
            }
        }
        after = 1;
        if (nk == 1 && keys[0].kind == S_REL) { /* for the top-k path */
            keys_after_score = json_number_value(json_array_get(cvals, 1));
            keys_after_id = json_integer_value(json_array_get(cvals, 2));
        }
    }
    int n_filter_params = b.np;
    /* The probe: the ids of the first COUNT_CAP matches, newest first, in the
     * order the index holds them. It gives the count (exact when under the
     * cap, else estimated from the id span the cap covered, matches being
     * spread over ids much as works are) and the lowest id of the relevance
     * window. */
    int64_t count = 0;
    uint64_t tr0 = pgr_now_us(), tr_probe = 0, tr_rank = 0, tr_ent = 0;
    int count_exact = 1;
    const long cap = s->count_cap ? s->count_cap : COUNT_CAP;
    {
        const char *idx = b.rel_param ? fts->id : "e.id", *from = b.from.data;
        /* a works search and nothing else: FTS5's table alone answers it, and
         * looking up each match's (wide) works row would cost ten times more */
        char only[64];
        snprintf(only, sizeof only, fts->cond, b.rel_param);
        int64_t est = 0, cost = 0;
        int estimated = 0;
        if (b.rel_param && q->entity == PGR_WORKS && !strcmp(s->be->name, "sqlite") &&
            !strcmp(b.where.data, only)) {
            from = "works_fts";
            /* counting reads the doclists of the query's words: a common
             * word is in a third of the works, so past the cap the count is
             * estimated from the search index's document frequencies (a
             * prefix term: FTS5 merges the lists of every term it starts
             * before the first row, hundreds of ms on 1M works) */
            if ((estimated = pgr_topk_count_estimate(s, b.p[b.rel_param - 1].s, &est, &cost,
                                                     err)) < 0) {
                json_decref(cvals);
                goto cleanup;
            }
        }
        if (estimated == 1 && cost > cap) {
            count = est;
            count_exact = 0;
            goto probed;
        }
        pgr_sb_printf(&sql, "SELECT %s FROM %s WHERE %s ORDER BY %s DESC LIMIT %ld", idx, from,
                      b.where.data, idx, cap);
        pgr_stmt *pst = pgr_sb_ok(&sql) ? pgr_st_dyn(s, "list_probe", sql.data, err) : NULL;
        if (!pst) {
            if (!pgr_sb_ok(&sql))
                OOM(err);
            json_decref(cvals);
            goto cleanup;
        }
        bind_all(pst, &b, n_filter_params);
        pgr_id first = 0, last = 0;
        int r;
        while ((r = pgr_step(pst, err)) == 1) {
            last = pgr_col_int(pst, 0);
            if (!count++)
                first = last;
        }
        pgr_reset(pst);
        pgr_sb_reset(&sql);
        if (r < 0) {
            json_decref(cvals);
            goto cleanup;
        }
        if (count >= cap && first > last) {
            /* ids run from 1: cap matches over [last, first] */
            double est = (double)cap * (double)first / (double)(first - last + 1);
            count = est > (double)INT64_MAX / 2 ? INT64_MAX / 2 : (int64_t)est;
            if (count < cap)
                count = cap;
            count_exact = 0;
        }
    }
probed:;
    /* keyset: (k1 > v1) OR (k1 = v1 AND ((k2 > v2) OR (k2 = v2 AND id > vid))) */
    pgr_sb keyset = {0};
    if (after) {
        int opened = 0;
        for (size_t i = 0; i <= nk; i++) {
            int k;
            json_t *v = json_array_get(cvals, i + 1);
            const char *expr = i < nk ? keys[i].expr : "e.id";
            int desc = i < nk ? keys[i].desc : id_desc;
            if (i == nk || keys[i].kind == S_INT)
                k = qb_param(&b, PT_INT, json_integer_value(v), NULL);
            else if (keys[i].kind == S_TEXT)
                k = qb_param(&b, PT_TEXT, 0, pgr_arena_strdup(&b.a, json_string_value(v)));
            else {
                k = qb_param(&b, PT_DOUBLE, 0, NULL);
                if (k > 0)
                    b.p[k - 1].d = json_number_value(v);
            }
            if (k < 0) {
                json_decref(cvals);
                pgr_sb_free(&keyset);
                goto cleanup;
            }
            if (i < nk) {
                pgr_sb_printf(&keyset, "(%s %c $%d OR (%s = $%d AND ", expr, desc ? '<' : '>', k,
                              expr, k);
                opened++;
            } else {
                pgr_sb_printf(&keyset, "%s %c $%d", expr, desc ? '<' : '>', k);
            }
        }
        while (opened--)
            pgr_sb_puts(&keyset, "))");
    }
    json_decref(cvals);

    tr_probe = pgr_now_us();
    /* relevance alone: the top-k path, verified by this query's own WHERE */
    pgr_id ids[201];
    double rels[201];
    json_t *lastkeys = NULL;
    int n = 0, r, more = 0, topk_done = 0;
    size_t topk_k = (size_t)per_page + 1 + (q->cursor ? 0 : (size_t)(page - 1) * per_page);
    if (b.rel_param && q->entity == PGR_WORKS && !strcmp(s->be->name, "sqlite") && nk == 1 &&
        keys[0].kind == S_REL && keys[0].desc && !id_desc && topk_k <= TOPK_MAX_K) {
        int ids_param = qb_param(&b, PT_TEXT, 0, "[]");
        if (ids_param < 0) {
            pgr_sb_free(&keyset);
            goto cleanup;
        }
        /* the ids drive (CROSS JOIN keeps them outermost): each is one rowid
         * lookup in FTS5 instead of a walk over every match */
        pgr_sb_printf(&sql, "SELECT e.id, %s FROM json_each($%d) AS tk CROSS JOIN %s WHERE e.id = "
                            "tk.value AND %s%s%s",
                      rel_expr, ids_param, b.from.data, b.where.data, after ? " AND " : "",
                      after ? keyset.data : "");
        /* the filters alone: the WHERE without the match (the condition
         * add_search wrote), over the works table */
        pgr_sb fsql = {0};
        char cond[64];
        snprintf(cond, sizeof cond, fts->cond, b.rel_param);
        const char *at = strstr(b.where.data, cond);
        if (at && strcmp(b.where.data, cond) != 0)
            pgr_sb_printf(&fsql, "SELECT e.id FROM json_each($%d) AS tk CROSS JOIN %s e WHERE "
                                 "e.id = tk.value AND %.*s1 = 1%s",
                          ids_param, tables[q->entity], (int)(at - b.where.data), b.where.data,
                          at + strlen(cond));
        pgr_id *tk_ids = NULL;
        double *tk_scores = NULL;
        size_t tk_n = 0;
        topk_verify_ctx vc = {.s = s, .b = &b, .sql = sql.data, .ids_param = ids_param,
                              .sql_filters = fsql.len ? fsql.data : NULL};
        pgr_topk_after after_at = {0};
        if (after) {
            after_at.score = keys_after_score;
            after_at.id = keys_after_id;
        }
        int t = -1;
        if (!pgr_sb_ok(&sql) || !pgr_sb_ok(&fsql) || (at == NULL))
            at ? OOM(err) : pgr_errf(err, PGR_EINTERNAL, "list: search condition not found");
        else if (!(tk_ids = malloc(topk_k * sizeof *tk_ids)) ||
                 !(tk_scores = malloc(topk_k * sizeof *tk_scores)))
            OOM(err);
        else
            t = pgr_topk_works(s, b.p[b.rel_param - 1].s, topk_k, after ? &after_at : NULL,
                               topk_verify, &vc, tk_ids, tk_scores, &tk_n, err);
        pgr_sb_free(&vc.json);
        pgr_sb_free(&fsql);
        /* the main query binds every parameter: not the freed id list */
        b.p[ids_param - 1].s = "[]";
        pgr_sb_reset(&sql);
        if (t == 1) {
            size_t off = q->cursor ? 0 : (size_t)(page - 1) * per_page;
            for (size_t i = off; i < tk_n && n < per_page; i++) {
                ids[n] = tk_ids[i];
                rels[n++] = tk_scores[i];
            }
            more = tk_n > off + (size_t)per_page;
            /* fewer than k: every match, so the count is known */
            if (!count_exact && !after && tk_n < topk_k) {
                count = (int64_t)tk_n;
                count_exact = 1;
            }
            if (n)
                lastkeys = json_pack("[f]", rels[n - 1]);
            topk_done = 1;
        }
        free(tk_ids);
        free(tk_scores);
        if (t < 0) {
            pgr_sb_free(&keyset);
            goto cleanup;
        }
    }
    if (topk_done) {
        pgr_sb_free(&keyset);
        goto rows_done;
    }
    /* SELECT e.id, keys... FROM ... WHERE ... ORDER BY ... LIMIT n+1 [OFFSET] */
    pgr_sb_puts(&sql, "SELECT e.id");
    for (size_t i = 0; i < nk; i++)
        pgr_sb_printf(&sql, ", %s", keys[i].expr);
    if (b.rel_param)
        pgr_sb_printf(&sql, ", %s", rel_expr);
    pgr_sb_printf(&sql, " FROM %s WHERE %s", b.from.data, b.where.data);
    if (after)
        pgr_sb_printf(&sql, " AND %s", keyset.data);
    pgr_sb_free(&keyset);
    pgr_sb_puts(&sql, " ORDER BY ");
    for (size_t i = 0; i < nk; i++)
        pgr_sb_printf(&sql, "%s %s, ", keys[i].expr, keys[i].desc ? "DESC" : "ASC");
    pgr_sb_printf(&sql, "e.id %s", id_desc ? "DESC" : "ASC");
    int lim = qb_param(&b, PT_INT, per_page + 1, NULL);
    if (lim < 0)
        goto cleanup;
    pgr_sb_printf(&sql, " LIMIT $%d", lim);
    if (!q->cursor) {
        int off = qb_param(&b, PT_INT, (int64_t)(page - 1) * per_page, NULL);
        if (off < 0)
            goto cleanup;
        pgr_sb_printf(&sql, " OFFSET $%d", off);
    }
    if (!pgr_sb_ok(&sql)) {
        OOM(err);
        goto cleanup;
    }
    pgr_stmt *st = pgr_st_dyn(s, "list", sql.data, err);
    if (!st)
        goto cleanup;
    bind_all(st, &b, b.np);
    results = json_array();
    /* rows first (ids and keys), entities after: the statement must be reset
     * before other statements run on PostgreSQL's single result */
    while ((r = pgr_step(st, err)) == 1) {
        if (n == per_page) {
            more = 1;
            break;
        }
        ids[n] = pgr_col_int(st, 0);
        rels[n] = b.rel_param ? pgr_col_double(st, 1 + (int)nk) : NAN;
        {
            json_decref(lastkeys);
            lastkeys = json_array();
            for (size_t i = 0; i < nk; i++) {
                if (keys[i].kind == S_INT)
                    json_array_append_new(lastkeys, json_integer(pgr_col_int(st, 1 + (int)i)));
                else if (keys[i].kind == S_TEXT)
                    json_array_append_new(lastkeys,
                                          json_string(pgr_col_text(st, 1 + (int)i) ? pgr_col_text(st, 1 + (int)i) : ""));
                else
                    json_array_append_new(lastkeys, json_real(pgr_col_double(st, 1 + (int)i)));
            }
        }
        n++;
    }
    pgr_reset(st);
    if (r < 0) {
        json_decref(lastkeys);
        goto cleanup;
    }
rows_done:
    tr_rank = pgr_now_us();
    if (!results && !(results = json_array())) {
        json_decref(lastkeys);
        OOM(err);
        goto cleanup;
    }
    /* the page's entities, then the texts snippets are cut from */
    json_t *objs[201] = {0}, *texts[201] = {0};
    int want_snip = q->hl_open && q->hl_close && b.q.active &&
                    (q->entity == PGR_WORKS || q->entity == PGR_AUTHORS);
    static const char *const snip_fields[2][2] = {{"title", "abstract"}, {"display_name", NULL}};
    if (pgr_entities_json(s, q->entity, ids, (size_t)n, q->select, q->n_select, objs, err) != 0 ||
        (want_snip && pgr_entities_json(s, q->entity, ids, (size_t)n,
                                        snip_fields[q->entity == PGR_AUTHORS],
                                        q->entity == PGR_AUTHORS ? 1 : 2, texts, err) != 0)) {
        for (int i = 0; i < n; i++)
            json_decref(objs[i]);
        json_decref(lastkeys);
        goto cleanup;
    }
    for (int i = 0; i < n; i++) {
        json_t *o = objs[i];
        if (!o) /* deleted between the two statements: skip it */
            continue;
        if (b.rel_param && in_select(q, "relevance_score"))
            json_object_set_new(o, "relevance_score", json_real(rels[i]));
        if (want_snip && texts[i] && q->entity == PGR_WORKS) {
            char *t = snippet(&b.q, json_string_value(json_object_get(texts[i], "title")), 0,
                              q->hl_open, q->hl_close);
            char *a = snippet(&b.q, json_string_value(json_object_get(texts[i], "abstract")), 40,
                              q->hl_open, q->hl_close);
            json_object_set_new(o, "snippet", json_pack("{s:s?,s:s?}", "title", t, "abstract", a));
            free(t);
            free(a);
        } else if (want_snip && texts[i]) {
            char *t = snippet(&b.q, json_string_value(json_object_get(texts[i], "display_name")),
                              0, q->hl_open, q->hl_close);
            json_object_set_new(o, "snippet", json_pack("{s:s?}", "display_name", t));
            free(t);
        }
        json_decref(texts[i]);
        json_array_append_new(results, o);
    }
    tr_ent = pgr_now_us();
    if (getenv("PGR_LIST_TRACE"))
        fprintf(stderr, "list: probe %.2f ms, rank %.2f ms (%s), page %.2f ms\n",
                (double)(tr_probe - tr0) / 1e3, (double)(tr_rank - tr_probe) / 1e3,
                topk_done ? "top-k" : "all", (double)(tr_ent - tr_rank) / 1e3);
    meta = json_pack("{sIsbsos i}", "count", (json_int_t)count, "count_exact", count_exact,
                     "page", q->cursor ? json_null() : json_integer(page), "per_page", per_page);
    if (q->cursor && more && lastkeys) {
        char hs[24];
        snprintf(hs, sizeof hs, "%016llx", (unsigned long long)qh);
        json_array_insert_new(lastkeys, 0, json_string(hs));
        json_array_append_new(lastkeys, json_integer(ids[n - 1]));
        cursor_json = json_dumps(lastkeys, JSON_COMPACT | JSON_REAL_PRECISION(17));
        char *c = cursor_json ? b64_encode(cursor_json) : NULL;
        json_object_set_new(meta, "next_cursor", c ? json_string(c) : json_null());
        free(c);
    } else {
        json_object_set_new(meta, "next_cursor", json_null());
    }
    json_decref(lastkeys);
    json_object_set_new(meta, "groups_count", json_null());
    res = json_pack("{soso}", "meta", meta, "results", results);
    meta = results = NULL;
    if (!res) {
        OOM(err);
        goto cleanup;
    }
    if (q->group_by) {
        const gdef *g = NULL;
        for (size_t i = 0; i < sizeof groups / sizeof groups[0] && !g; i++)
            if (groups[i].e == q->entity && !strcmp(groups[i].name, q->group_by))
                g = &groups[i];
        if (!g) {
            pgr_errf(err, PGR_EINVAL, "group_by: '%s' is not a group key of %s", q->group_by,
                     pgr_entity_name(q->entity));
            goto cleanup;
        }
        pgr_sb_reset(&sql);
        pgr_sb_printf(&sql,
                      "SELECT %s, COUNT(*) FROM %s%s WHERE %s GROUP BY %s ORDER BY COUNT(*) DESC, "
                      "%s NULLS FIRST LIMIT 200",
                      g->expr, b.from.data, g->join, b.where.data, g->expr, g->expr);
        if (!pgr_sb_ok(&sql) || !(st = pgr_st_dyn(s, "list_group_by", sql.data, err)))
            goto cleanup;
        bind_all(st, &b, n_filter_params);
        json_t *garr = json_array();
        json_t *refs = json_array();
        while ((r = pgr_step(st, err)) == 1) {
            json_t *key, *disp;
            if (pgr_col_null(st, 0)) {
                key = json_string("unknown");
                disp = json_string("unknown");
            } else if (g->kind == F_INT) {
                char k[24];
                snprintf(k, sizeof k, "%lld", (long long)pgr_col_int(st, 0));
                key = json_string(k);
                disp = json_string(k);
            } else if (g->kind == F_BOOL) {
                key = json_string(pgr_col_int(st, 0) ? "true" : "false");
                disp = json_incref(key);
            } else if (g->kind == F_REF) {
                key = pgr_key_json(g->ref, pgr_col_int(st, 0));
                disp = json_null();
                json_array_append_new(refs, json_integer(pgr_col_int(st, 0)));
            } else {
                key = json_string(pgr_col_text(st, 0));
                disp = json_incref(key);
            }
            json_array_append_new(garr, json_pack("{sosos I}", "key", key, "key_display_name", disp,
                                                  "count", (json_int_t)pgr_col_int(st, 1)));
        }
        pgr_reset(st);
        if (r < 0) {
            json_decref(garr);
            json_decref(refs);
            goto cleanup;
        }
        /* display names of entity keys, now that the group statement is done */
        size_t gi = 0, ri = 0;
        json_t *gv;
        json_array_foreach(garr, gi, gv)
        {
            if (g->kind != F_REF || !json_is_null(json_object_get(gv, "key_display_name")))
                continue;
            if (!json_is_string(json_object_get(gv, "key")) ||
                !strcmp(json_string_value(json_object_get(gv, "key")), "unknown"))
                continue;
            pgr_id rid = json_integer_value(json_array_get(refs, ri++));
            json_t *ent = pgr_entity_json(s, g->ref, rid, (const char *[]){"display_name"}, 1, err);
            if (ent) {
                json_object_set(gv, "key_display_name", json_object_get(ent, "display_name"));
                json_decref(ent);
            }
        }
        json_decref(refs);
        json_object_set_new(json_object_get(res, "meta"), "groups_count",
                            json_integer((json_int_t)json_array_size(garr)));
        json_object_set_new(res, "group_by", garr);
    }
    *out = res;
    res = NULL;
    rc = 0;
cleanup:
    free(cursor_json);
    json_decref(res);
    json_decref(meta);
    json_decref(results);
    pgr_sb_free(&sql);
    pgr_sb_free(&b.from);
    pgr_sb_free(&b.where);
    pgr_arena_free(&b.a);
    return rc;
}

/* ---- autocomplete ---- */
int pgr_autocomplete(pgr_store *s, pgr_entity e, const char *text, json_t **out, pgr_err *err)
{
    *out = NULL;
    if ((unsigned)e >= PGR_N_ENTITIES)
        return pgr_errf(err, PGR_EINVAL, "autocomplete: unknown entity %d", (int)e);
    size_t len = text ? strlen(text) : 0;
    if (len > 200 || (text && !pgr_utf8_valid(text, len)))
        return pgr_errf(err, PGR_EINVAL, "q: longer than 200 bytes or not UTF-8");
    pgr_sb folded = {0}, pattern = {0}, sql = {0};
    pgr_fold(text, &folded);
    json_t *arr = json_array();
    int rc = -1;
    if (!pgr_sb_ok(&folded) || !arr) {
        OOM(err);
        goto cleanup;
    }
    if (!folded.len) {
        *out = arr;
        arr = NULL;
        rc = 0;
        goto cleanup;
    }
    /* every word exact but the last, which is a prefix */
    int sqlite = !strcmp(s->be->name, "sqlite");
    for (char *t = folded.data; *t;) {
        char *sp = strchr(t, ' ');
        size_t n = sp ? (size_t)(sp - t) : strlen(t);
        if (pattern.len)
            pgr_sb_puts(&pattern, sqlite ? " AND " : " & ");
        /* works complete on their titles only: FTS5's column filter, and
         * the title's weight A in the tsvector */
        const char *pg_suffix = e == PGR_WORKS ? (sp ? ":A" : ":*A") : (sp ? "" : ":*");
        if (sqlite)
            pgr_sb_printf(&pattern, "\"%.*s\"%s", (int)n, t, sp ? "" : "*");
        else
            pgr_sb_printf(&pattern, "'%.*s'%s", (int)n, t, pg_suffix);
        t = sp ? sp + 1 : t + n;
    }
    if (sqlite && e == PGR_WORKS && pattern.data) {
        char *p = pgr_sb_steal(&pattern);
        pgr_sb_printf(&pattern, "title : (%s)", p);
        free(p);
    }
    const char *order = e == PGR_WORKS ? "e.cited_by_count DESC, e.id"
                                       : "e.cited_by_count DESC, e.works_count DESC, e.id";
    if (e == PGR_WORKS || e == PGR_AUTHORS) {
        const fts_sql *f = sqlite ? &fts_sqlite[e] : &fts_pg[e];
        pgr_sb_printf(&sql, "SELECT e.id FROM %s e%s WHERE ", tables[e], f->join);
        pgr_sb_printf(&sql, f->cond, 1);
        if (e == PGR_AUTHORS)
            pgr_sb_puts(&sql, " AND e.merged_into IS NULL");
    } else {
        /* names: the folded words must start words of norm_name (LIKE is
         * case-blind only for ASCII in SQLite; both sides are folded already) */
        pgr_sb_reset(&pattern);
        pgr_sb_printf(&pattern, "%% %s%%", folded.data);
        pgr_sb_printf(&sql, "SELECT e.id FROM %s e WHERE (' ' || e.norm_name) LIKE $1", tables[e]);
    }
    pgr_sb_printf(&sql, " ORDER BY %s LIMIT 10", order);
    if (!pgr_sb_ok(&sql) || !pgr_sb_ok(&pattern)) {
        OOM(err);
        goto cleanup;
    }
    pgr_stmt *st = pgr_st_dyn(s, "autocomplete", sql.data, err);
    if (!st)
        goto cleanup;
    pgr_bind_text(st, 1, pattern.data);
    pgr_id ids[10];
    int n = 0, r;
    while ((r = pgr_step(st, err)) == 1 && n < 10)
        ids[n++] = pgr_col_int(st, 0);
    pgr_reset(st);
    if (r < 0)
        goto cleanup;
    for (int i = 0; i < n; i++) {
        json_t *ent = pgr_entity_json(s, e, ids[i], NULL, 0, err);
        if (!ent)
            goto cleanup;
        json_t *hint = json_null();
        if (e == PGR_WORKS) {
            json_t *first = json_array_get(json_object_get(ent, "authorships"), 0);
            json_t *dn = json_object_get(json_object_get(first, "author"), "display_name");
            if (dn)
                hint = json_incref(dn);
        } else if (e == PGR_AUTHORS) {
            json_t *inst = json_array_get(json_object_get(ent, "last_known_institutions"), 0);
            if (inst)
                hint = json_incref(json_object_get(inst, "display_name"));
        } else if (e == PGR_TOPICS) {
            hint = json_incref(json_object_get(ent, "scheme"));
        } else if (e == PGR_INSTITUTIONS) {
            hint = json_incref(json_object_get(ent, "country_code"));
        }
        json_t *wc = json_object_get(ent, "works_count");
        json_array_append_new(
            arr, json_pack("{sOsOsosOsO}", "id", json_object_get(ent, "id"), "display_name",
                           json_object_get(ent, "display_name"), "hint", hint ? hint : json_null(),
                           "works_count", wc ? wc : json_null(), "cited_by_count",
                           json_object_get(ent, "cited_by_count")));
        json_decref(ent);
    }
    *out = arr;
    arr = NULL;
    rc = 0;
cleanup:
    json_decref(arr);
    pgr_sb_free(&folded);
    pgr_sb_free(&pattern);
    pgr_sb_free(&sql);
    return rc;
}

/* ---- facets over the newest matches ----
 * Counting every match by year, topic and code flag cost hundreds of
 * milliseconds for a common word on 100k works (three GROUP BYs over every
 * match). Here the matches are read newest first in the order the index
 * holds them (as the list's count probe does) and only the first `top` are
 * counted: a handful of statements whose cost is bounded by `top`, not by the
 * corpus. The caller says which part was counted. */
static int cmp_facet(const void *x, const void *y)
{
    const int64_t *a = x, *b = y; /* {key, count} */
    if (a[1] != b[1])
        return a[1] > b[1] ? -1 : 1;
    return a[0] < b[0] ? -1 : a[0] > b[0];
}

/* [{key, key_display_name, count}] from (key, count) pairs; key INT64_MIN =
 * unknown (listed first among equal counts, as group_by's NULLS FIRST). */
static json_t *facet_groups(int64_t (*kc)[2], size_t n, int is_bool)
{
    qsort(kc, n, sizeof *kc, cmp_facet);
    json_t *arr = json_array();
    for (size_t i = 0; i < n && i < 200; i++) {
        char k[24];
        if (kc[i][0] == INT64_MIN)
            snprintf(k, sizeof k, "unknown");
        else if (is_bool)
            snprintf(k, sizeof k, "%s", kc[i][0] ? "true" : "false");
        else
            snprintf(k, sizeof k, "%lld", (long long)kc[i][0]);
        json_array_append_new(arr, json_pack("{s:s, s:s, s:I}", "key", k, "key_display_name", k,
                                             "count", (json_int_t)kc[i][1]));
    }
    return arr;
}

/* Adds one to key's count in kc[0..*n) (linear: years and flags are few). */
static void facet_add(int64_t (*kc)[2], size_t *n, size_t cap, int64_t key)
{
    for (size_t i = 0; i < *n; i++)
        if (kc[i][0] == key) {
            kc[i][1]++;
            return;
        }
    if (*n < cap) {
        kc[*n][0] = key;
        kc[*n][1] = 1;
        (*n)++;
    }
}

int pgr_list_facets(pgr_store *s, const pgr_query *q, long top, json_t **out, pgr_err *err)
{
    *out = NULL;
    if (q->entity != PGR_WORKS)
        return pgr_errf(err, PGR_EINVAL, "facets: works only");
    if (top < 1 || top > 100000)
        return pgr_errf(err, PGR_EINVAL, "facets: top %ld is not in 1..100000", top);
    qb b = {.s = s, .e = PGR_WORKS, .err = err};
    pgr_sb sql = {0}, list = {0};
    pgr_id *ids = NULL;
    size_t n = 0;
    int64_t(*years)[2] = NULL;
    int rc = -1, r;
    json_t *res = NULL;
    if (qb_start(&b, q) != 0)
        goto cleanup;
    const fts_sql *fts = !strcmp(s->be->name, "sqlite") ? &fts_sqlite[0] : &fts_pg[0];
    const char *idx = b.rel_param ? fts->id : "e.id", *from = b.from.data;
    char only[64];
    snprintf(only, sizeof only, fts->cond, b.rel_param);
    /* a search alone: FTS5's table answers it without the works rows */
    if (b.rel_param && !strcmp(s->be->name, "sqlite") && !strcmp(b.where.data, only))
        from = "works_fts";
    pgr_sb_printf(&sql, "SELECT %s FROM %s WHERE %s ORDER BY %s DESC LIMIT %ld", idx, from,
                  b.where.data, idx, top);
    if (!pgr_sb_ok(&sql) || !pgr_sb_ok(&b.from) || !pgr_sb_ok(&b.where)) {
        OOM(err);
        goto cleanup;
    }
    pgr_stmt *st = pgr_st_dyn(s, "facets_ids", sql.data, err);
    if (!st)
        goto cleanup;
    bind_all(st, &b, b.np);
    if (!(ids = malloc((size_t)top * sizeof *ids))) {
        pgr_reset(st);
        OOM(err);
        goto cleanup;
    }
    while ((r = pgr_step(st, err)) == 1 && n < (size_t)top)
        ids[n++] = pgr_col_int(st, 0);
    pgr_reset(st);
    if (r < 0)
        goto cleanup;
    res = json_pack("{s:I, s:I, s:[], s:[], s:[]}", "considered", (json_int_t)n, "top",
                    (json_int_t)top, "publication_year", "has_code", "topics.id");
    if (!res) {
        OOM(err);
        goto cleanup;
    }
    if (!n) {
        *out = res;
        res = NULL;
        rc = 0;
        goto cleanup;
    }
    pgr_ids_param(s, ids, n, &list);
    if (!pgr_sb_ok(&list)) {
        OOM(err);
        goto cleanup;
    }
    /* years and code flags from one read of the rows */
    char q1[256];
    snprintf(q1, sizeof q1, "SELECT e.year, e.has_code FROM works e WHERE e.id IN %s",
             pgr_ids_sql(s));
    if (!(st = pgr_st_dyn(s, "facets_rows", q1, err)))
        goto cleanup;
    pgr_bind_text(st, 1, list.data);
    size_t ny = 0, nc = 0;
    int64_t code[3][2];
    if (!(years = malloc(n * sizeof *years))) {
        pgr_reset(st);
        OOM(err);
        goto cleanup;
    }
    while ((r = pgr_step(st, err)) == 1) {
        facet_add(years, &ny, n, pgr_col_null(st, 0) ? INT64_MIN : pgr_col_int(st, 0));
        facet_add(code, &nc, 3, pgr_col_null(st, 1) ? INT64_MIN : pgr_col_int(st, 1) != 0);
    }
    pgr_reset(st);
    if (r < 0)
        goto cleanup;
    json_object_set_new(res, "publication_year", facet_groups(years, ny, 0));
    json_object_set_new(res, "has_code", facet_groups(code, nc, 1));
    /* topics: counted by the database, names joined for the 200 kept */
    char q2[512];
    snprintf(q2, sizeof q2,
             "SELECT t.id, t.display_name, c.n FROM (SELECT wt.topic_id, COUNT(*) AS n FROM "
             "work_topics wt WHERE wt.work_id IN %s GROUP BY wt.topic_id ORDER BY n DESC, "
             "wt.topic_id LIMIT 200) c JOIN topics t ON t.id = c.topic_id ORDER BY c.n DESC, "
             "t.id",
             pgr_ids_sql(s));
    if (!(st = pgr_st_dyn(s, "facets_topics", q2, err)))
        goto cleanup;
    pgr_bind_text(st, 1, list.data);
    json_t *topics = json_object_get(res, "topics.id");
    while ((r = pgr_step(st, err)) == 1)
        json_array_append_new(topics,
                              json_pack("{s:o, s:s?, s:I}", "key",
                                        pgr_key_json(PGR_TOPICS, pgr_col_int(st, 0)),
                                        "key_display_name", pgr_col_text(st, 1), "count",
                                        (json_int_t)pgr_col_int(st, 2)));
    pgr_reset(st);
    if (r < 0)
        goto cleanup;
    *out = res;
    res = NULL;
    rc = 0;
cleanup:
    json_decref(res);
    free(ids);
    free(years);
    pgr_sb_free(&sql);
    pgr_sb_free(&list);
    pgr_sb_free(&b.from);
    pgr_sb_free(&b.where);
    pgr_arena_free(&b.a);
    return rc;
}
