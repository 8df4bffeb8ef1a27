/* OpenAlex (https://docs.openalex.org): single entity objects as the API
 * returns them (/works/W.., /authors/A.., /topics/T.., ...), API list pages
 * ({"meta": {...}, "results": [...]}), plain JSON arrays of entities, and the
 * snapshot's JSON lines (one entity per line; gzip is undone by ix_gunzip
 * before detection).
 *
 * Works -> ix_work: ids (openalex, doi, pmid), title/display_name,
 * publication_year/date, type, language, primary_location.source (venue),
 * authorships (author id/display_name/orcid, raw_author_name,
 * raw_affiliation_strings, institutions), is_authors_truncated,
 * abstract_inverted_index (word order rebuilt), referenced_works
 * ("openalex:W.."), cited_by_count, counts_by_year, topics (with scores),
 * an arXiv id from a 10.48550/arXiv.* DOI or an arxiv.org location.
 * Authors -> ix_author: summary_stats (h_index, i10_index), counts_by_year,
 * topics, last_known_institutions, display_name_alternatives, orcid.
 * Topics (/topics/T..) -> the topic with its description and the names of its
 * subfield, field and domain (sink->topic).
 * The "Deleted Author" tombstone and other entity kinds (source, institution,
 * concept, funder, publisher, keyword, field...) are recognised and skipped
 * with a notice, not an error. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "indexer/ids.h"
#include "indexer/ixjson.h"
#include "indexer/mdutil.h"
#include "indexer/metadata.h"

#define OA_MAX_ABSTRACT_WORDS 100000 /* positions; the longest real abstracts are ~10k words */
#define OA_MAX_LIST 1000000

int ix_openalex_detect(const char *data, size_t len)
{
    size_t at;
    char c = ix_first_byte(data, len, &at);
    if (c != '{' && c != '[')
        return 0;
    if (ix_find(data + at, len - at, 65536, "https://openalex.org/") ||
        ix_find(data + at, len - at, 65536, "\"openalex\""))
        return 85;
    return 0;
}

typedef struct oa_state {
    pgr_arena a;
    const ix_sink *sink;
    size_t works, authors, topics;
    size_t skipped[16];
    char skipped_example[256];
} oa_state;

/* "https://openalex.org/W2741809807" -> "W2741809807"; NULL if not an id. */
static const char *short_id(pgr_arena *a, const char *url)
{
    if (!url)
        return NULL;
    const char *p = url;
    if (!strncmp(p, "https://openalex.org/", 21))
        p += 21;
    else if (!strncmp(p, "http://openalex.org/", 20))
        p += 20;
    if (!isalpha((unsigned char)p[0]))
        return NULL;
    size_t n = strlen(p);
    if (n < 2 || n > 64)
        return NULL;
    return p == url ? url : pgr_arena_strndup(a, p, n);
}

/* Entity kind from the id: 'W', 'A', 'T', ... or 'K' (keywords/), 'f'
 * (fields/subfields/domains...), 0 unknown. */
static char entity_kind(json_t *o)
{
    json_t *idv = json_object_get(o, "id");
    const char *id = json_is_string(idv) ? json_string_value(idv) : NULL;
    if (id) {
        const char *p = id;
        if (!strncmp(p, "https://openalex.org/", 21))
            p += 21;
        if (!strncmp(p, "keywords/", 9))
            return 'K';
        if (strchr(p, '/'))
            return 'f';
        if (strchr("WATSICFP", p[0]) && isdigit((unsigned char)p[1]))
            return p[0];
    }
    if (json_object_get(o, "authorships") || json_object_get(o, "publication_year"))
        return 'W';
    if (json_object_get(o, "last_known_institutions") || json_object_get(o, "orcid"))
        return 'A';
    return 0;
}

static const char *kind_name(char k)
{
    switch (k) {
    case 'T':
        return "topic";
    case 'S':
        return "source";
    case 'I':
        return "institution";
    case 'C':
        return "concept";
    case 'F':
        return "funder";
    case 'P':
        return "publisher";
    case 'K':
        return "keyword";
    case 'f':
        return "field/subfield/domain";
    default:
        return "unknown entity";
    }
}

/* Rebuilds the abstract from {"word": [pos, ...], ...}. */
static const char *rebuild_abstract(ix_jctx *c, pgr_arena *a, json_t *inv)
{
    const char *key;
    json_t *val;
    size_t max_pos = 0, total = 0;
    json_object_foreach(inv, key, val)
    {
        if (!json_is_array(val))
            return ix_jfail(c, "abstract_inverted_index[\"%.40s\"]: expected an array", key), NULL;
        size_t i;
        json_t *p;
        json_array_foreach(val, i, p)
        {
            if (!json_is_integer(p) || json_integer_value(p) < 0 ||
                json_integer_value(p) >= OA_MAX_ABSTRACT_WORDS)
                return ix_jfail(c, "abstract_inverted_index[\"%.40s\"]: bad position", key), NULL;
            size_t pos = (size_t)json_integer_value(p);
            if (pos + 1 > max_pos)
                max_pos = pos + 1;
            if (++total > OA_MAX_ABSTRACT_WORDS)
                return ix_jfail(c, "abstract_inverted_index: more than %d words",
                                OA_MAX_ABSTRACT_WORDS),
                       NULL;
        }
    }
    if (max_pos == 0)
        return NULL;
    const char **slots = pgr_arena_calloc(a, max_pos, sizeof *slots);
    if (!slots)
        return NULL;
    json_object_foreach(inv, key, val)
    {
        size_t i;
        json_t *p;
        json_array_foreach(val, i, p)
        {
            size_t pos = (size_t)json_integer_value(p);
            if (!slots[pos]) /* first claim wins: deterministic for duplicates */
                slots[pos] = key;
        }
    }
    pgr_sb sb = {0};
    for (size_t i = 0; i < max_pos; i++) {
        if (!slots[i])
            continue; /* gaps: positions OpenAlex dropped */
        if (sb.len)
            pgr_sb_putc(&sb, ' ');
        pgr_sb_puts(&sb, slots[i]);
    }
    const char *out = pgr_sb_ok(&sb) && sb.data ? pgr_arena_strndup(a, sb.data, sb.len) : NULL;
    pgr_sb_free(&sb);
    return out;
}

/* counts_by_year -> ix_year_count[]. who names the record in messages
 * ("author A5: ", "work W2: "). */
static int counts(ix_jctx *c, pgr_arena *a, json_t *arr, const char *who, const ix_year_count **out,
                  size_t *n)
{
    size_t cnt = json_array_size(arr);
    *out = NULL;
    *n = 0;
    if (!cnt)
        return 0;
    if (cnt > 1000)
        return ix_jfail(c, "%scounts_by_year: %zu entries", who, cnt);
    ix_year_count *y = pgr_arena_calloc(a, cnt, sizeof *y);
    if (!y)
        return ix_jfail(c, "out of memory");
    for (size_t i = 0; i < cnt; i++) {
        json_t *e = json_array_get(arr, i);
        char what[96];
        snprintf(what, sizeof what, "%scounts_by_year[%zu].", who, i);
        if (!json_is_object(e))
            return ix_jfail(c, "%scounts_by_year[%zu]: expected an object", who, i);
        long year = ix_jcount(c, e, "year", 2100, what);
        y[i].works_count = ix_jcount(c, e, "works_count", 1000000000L, what);
        y[i].cited_by_count = ix_jcount(c, e, "cited_by_count", 1000000000L, what);
        if (c->failed)
            return -1;
        if (year < 1000)
            return ix_jfail(c, "%scounts_by_year[%zu]: no year in 1000..2100", who, i);
        y[i].year = (int)year;
        for (size_t j = 0; j < i; j++)
            if (y[j].year == y[i].year)
                return ix_jfail(c, "%scounts_by_year[%zu]: year %d listed twice", who, i,
                                y[i].year);
    }
    *out = y;
    *n = cnt;
    return 0;
}

/* subfield/field/domain {id, display_name} of a topic: their display names. */
static int topic_levels(ix_jctx *c, json_t *e, ix_topic_ref *t)
{
    t->subfield = ix_jstr(c, ix_jobj(c, e, "subfield"), "display_name");
    t->field = ix_jstr(c, ix_jobj(c, e, "field"), "display_name");
    t->domain = ix_jstr(c, ix_jobj(c, e, "domain"), "display_name");
    return c->failed ? -1 : 0;
}

/* A list of topics or concepts [{id, display_name, <score_key>, count}] ->
 * ix_topic_ref[]: the source's figures as given (score within 0..score_max,
 * NAN when absent; count -1 when absent), nothing derived from them. Used for
 * a work's "topics" (score 0..1), an author's "topics" (count: the author's
 * works with the topic), "topic_share" (value) and "x_concepts" (score 0..100).
 * what names the field in messages. */
static int topics(ix_jctx *c, pgr_arena *a, json_t *arr, const char *what, const char *score_key,
                  double score_max, const ix_topic_ref **out, size_t *n)
{
    size_t cnt = json_array_size(arr);
    *out = NULL;
    *n = 0;
    if (!cnt)
        return 0;
    if (cnt > 10000)
        return ix_jfail(c, "%s: %zu entries", what, cnt);
    ix_topic_ref *t = pgr_arena_calloc(a, cnt, sizeof *t);
    if (!t)
        return ix_jfail(c, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < cnt; i++) {
        json_t *e = json_array_get(arr, i);
        if (!json_is_object(e))
            return ix_jfail(c, "%s[%zu]: expected an object", what, i);
        const char *id = short_id(a, ix_jstr(c, e, "id"));
        const char *name = ix_jstr(c, e, "display_name");
        double score = ix_jreal(c, e, score_key, 0, score_max, NAN);
        long count = ix_jint(c, e, "count", 0, 1000000000L, -1);
        if (c->failed)
            return -1;
        if (!id)
            continue;
        t[k].scheme = "openalex";
        t[k].code = id;
        t[k].name = name;
        t[k].score = score;
        t[k].count = count;
        if (topic_levels(c, e, &t[k]) < 0)
            return -1;
        k++;
    }
    *out = t;
    *n = k;
    return 0;
}

static const char *arxiv_from_work(pgr_arena *a, const char *doi, json_t *locations, int *ver)
{
    if (doi && !strncmp(doi, "10.48550/arxiv.", 15)) {
        const char *id = ix_arxiv_canon_a(a, doi + 15, ver);
        if (id)
            return id;
    }
    size_t i;
    json_t *l;
    json_array_foreach(locations, i, l)
    {
        if (!json_is_object(l))
            continue;
        const char *keys[2] = {"landing_page_url", "pdf_url"};
        for (int k = 0; k < 2; k++) {
            json_t *u = json_object_get(l, keys[k]);
            if (json_is_string(u) && strstr(json_string_value(u), "arxiv.org/")) {
                const char *id = ix_arxiv_canon_a(a, json_string_value(u), ver);
                if (id)
                    return id;
            }
        }
    }
    return NULL;
}

static int parse_work(ix_jctx *c, oa_state *st, json_t *o, long position)
{
    pgr_arena *a = &st->a;
    ix_work w;
    memset(&w, 0, sizeof w);
    w.score = NAN;
    w.has_code = -1;
    w.position = position;
    w.line = c->line;
    w.openalex_id = short_id(a, ix_jstr(c, o, "id"));
    const char *title = ix_jstr(c, o, "title");
    if (!title)
        title = ix_jstr(c, o, "display_name");
    const char *doi = ix_jstr(c, o, "doi");
    json_t *ids = ix_jobj(c, o, "ids");
    const char *pmid = ix_jstr(c, ids, "pmid");
    if (!doi)
        doi = ix_jstr(c, ids, "doi");
    w.year = (int)ix_jint(c, o, "publication_year", 1000, 2100, 0);
    const char *pdate = ix_jstr(c, o, "publication_date");
    w.type = ix_jstr(c, o, "type");
    w.language = ix_jstr(c, o, "language");
    w.cited_by_count = ix_jint(c, o, "cited_by_count", 0, 1000000000L, -1);
    json_t *ploc = ix_jobj(c, o, "primary_location");
    json_t *src = ix_jobj(c, ploc, "source");
    w.venue = ix_jstr(c, src, "display_name");
    if (!w.venue)
        w.venue = ix_jstr(c, ix_jobj(c, o, "host_venue"), "display_name");
    json_t *auths = ix_jarr(c, o, "authorships");
    json_t *inv = ix_jobj(c, o, "abstract_inverted_index");
    json_t *refs = ix_jarr(c, o, "referenced_works");
    json_t *cby = ix_jarr(c, o, "counts_by_year");
    json_t *tops = ix_jarr(c, o, "topics");
    json_t *locs = ix_jarr(c, o, "locations");
    json_t *trunc = json_object_get(o, "is_authors_truncated");
    if (c->failed)
        return -1;
    if (!title)
        return ix_jfail(c, "work %s: no title", w.openalex_id ? w.openalex_id : "(no id)");
    w.title = ix_squash_ws(a, title, strlen(title));
    if (doi && !(w.doi = ix_doi_canon_a(a, doi)))
        return ix_jfail(c, "work %s: \"%.80s\" is not a DOI", w.openalex_id ? w.openalex_id : "",
                        doi);
    if (pmid) {
        const char *slash = strrchr(pmid, '/');
        w.pmid = slash ? slash + 1 : pmid;
    }
    if (pdate) {
        char d[11];
        int y = ix_parse_date(pdate, d);
        if (y <= 0 || !d[0])
            return ix_jfail(c, "publication_date: bad date \"%.40s\"", pdate);
        w.date = pgr_arena_strdup(a, d);
        if (!w.year)
            w.year = y;
    }
    w.arxiv_id = arxiv_from_work(a, w.doi, locs, &w.arxiv_version);
    if (json_is_true(trunc))
        w.authors_truncated = "et al.";

    size_t na = json_array_size(auths);
    if (na > IX_MAX_AUTHORS)
        return ix_jfail(c, "authorships: %zu authors exceeds the limit", na);
    ix_author_ref *au = pgr_arena_calloc(a, na + 1, sizeof *au);
    if (!au)
        return ix_jfail(c, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < na; i++) {
        json_t *e = json_array_get(auths, i);
        if (!json_is_object(e))
            return ix_jfail(c, "authorships[%zu]: expected an object", i);
        json_t *ao = ix_jobj(c, e, "author");
        const char *dn = ix_jstr(c, ao, "display_name");
        const char *raw = ix_jstr(c, e, "raw_author_name");
        au[k].openalex_id = short_id(a, ix_jstr(c, ao, "id"));
        au[k].orcid = ix_jorcid(c, a, ix_jstr(c, ao, "orcid"), "authorships[].author.orcid");
        json_t *rafs = ix_jarr(c, e, "raw_affiliation_strings");
        const char *raf = ix_jstr(c, e, "raw_affiliation_string");
        json_t *insts = ix_jarr(c, e, "institutions");
        if (c->failed)
            return -1;
        if (!dn && !raw)
            continue;
        au[k].display_name = ix_squash_ws(a, dn ? dn : raw, strlen(dn ? dn : raw));
        au[k].raw_name = raw ? ix_squash_ws(a, raw, strlen(raw)) : au[k].display_name;
        if (!au[k].display_name)
            continue;
        /* Affiliation: the printed strings, else the institution names. */
        pgr_sb sb = {0};
        size_t j;
        json_t *s;
        json_array_foreach(rafs, j, s)
        {
            if (json_is_string(s) && json_string_length(s)) {
                if (sb.len)
                    pgr_sb_puts(&sb, "; ");
                pgr_sb_puts(&sb, json_string_value(s));
            }
        }
        if (!sb.len && raf)
            pgr_sb_puts(&sb, raf);
        if (!sb.len) {
            json_array_foreach(insts, j, s)
            {
                json_t *nm = json_is_object(s) ? json_object_get(s, "display_name") : NULL;
                if (json_is_string(nm)) {
                    if (sb.len)
                        pgr_sb_puts(&sb, "; ");
                    pgr_sb_puts(&sb, json_string_value(nm));
                }
            }
        }
        if (!pgr_sb_ok(&sb)) {
            pgr_sb_free(&sb);
            return ix_jfail(c, "out of memory");
        }
        au[k].affiliation = sb.len ? ix_squash_ws(a, sb.data, sb.len) : NULL;
        pgr_sb_free(&sb);
        k++;
    }
    w.authors = au;
    w.n_authors = k;

    if (inv) {
        w.abstract = rebuild_abstract(c, a, inv);
        if (c->failed)
            return -1;
    }
    size_t nr = json_array_size(refs);
    if (nr > OA_MAX_LIST)
        return ix_jfail(c, "referenced_works: %zu entries", nr);
    const char **rv = pgr_arena_calloc(a, nr + 1, sizeof *rv);
    if (!rv)
        return ix_jfail(c, "out of memory");
    size_t kr = 0;
    for (size_t i = 0; i < nr; i++) {
        json_t *r = json_array_get(refs, i);
        const char *id = json_is_string(r) ? short_id(a, json_string_value(r)) : NULL;
        if (!id || id[0] != 'W')
            return ix_jfail(c, "referenced_works[%zu]: not a work id", i);
        rv[kr++] = pgr_arena_printf(a, "openalex:%s", id);
    }
    w.references = rv;
    w.n_references = kr;
    char who[96];
    snprintf(who, sizeof who, "work %s: ", w.openalex_id ? w.openalex_id : "(no id)");
    if (counts(c, a, cby, who, &w.counts_by_year, &w.n_counts_by_year) ||
        topics(c, a, tops, "topics", "score", 1, &w.topics, &w.n_topics))
        return -1;
    st->works++;
    return st->sink->work ? st->sink->work(st->sink->ctx, &w, c->err) : 0;
}

/* A dehydrated institution {id, ror, display_name, ...} -> r; 0, 1 when it
 * names nothing (skipped), -1 on a malformed id. */
static int inst_ref(ix_jctx *c, pgr_arena *a, const char *rec, json_t *o, const char *where,
                    ix_inst_ref *r)
{
    memset(r, 0, sizeof *r);
    if (!json_is_object(o))
        return ix_jfail(c, "author %s: %s: expected an institution object", rec, where);
    const char *name = ix_jstr(c, o, "display_name");
    const char *id = ix_jstr(c, o, "id");
    const char *ror = ix_jstr(c, o, "ror");
    if (c->failed)
        return -1;
    if (id) {
        r->openalex_id = short_id(a, id);
        if (!r->openalex_id || r->openalex_id[0] != 'I' || !isdigit((unsigned char)r->openalex_id[1]))
            return ix_jfail(c, "author %s: %s.id: \"%.80s\" is not an OpenAlex institution id",
                            rec, where, id);
    }
    if (ror) {
        /* https://ror.org/ + 9 characters: 0, six of Crockford base32, two digits */
        const char *p = !strncmp(ror, "https://ror.org/", 16) ? ror + 16 : ror;
        int ok = strlen(p) == 9 && p[0] == '0';
        for (int i = 1; ok && i < 9; i++)
            ok = i < 7 ? (isdigit((unsigned char)p[i]) || (islower((unsigned char)p[i]) &&
                                                            !strchr("ilou", p[i])))
                       : isdigit((unsigned char)p[i]);
        if (!ok)
            return ix_jfail(c, "author %s: %s.ror: \"%.80s\" is not a ROR id", rec, where, ror);
        r->ror = pgr_arena_printf(a, "https://ror.org/%s", p);
    }
    r->name = name ? ix_squash_ws(a, name, strlen(name)) : NULL;
    return r->name || r->openalex_id || r->ror ? 0 : 1;
}

/* last_known_institutions[] (or the pre-2024 last_known_institution) and
 * affiliations[{institution, years[]}] of an author object. */
static int institutions(ix_jctx *c, pgr_arena *a, const char *rec, json_t *lki, json_t *lki1,
                        json_t *affs, ix_author *x)
{
    size_t nl = lki ? json_array_size(lki) : lki1 ? 1 : 0, na = json_array_size(affs);
    if (nl > 1000 || na > 10000)
        return ix_jfail(c, "author %s: %zu institutions", rec, nl + na);
    ix_inst_ref *l = pgr_arena_calloc(a, nl + 1, sizeof *l);
    ix_inst_ref *f = pgr_arena_calloc(a, na + 1, sizeof *f);
    if (!l || !f)
        return ix_jfail(c, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < nl; i++) {
        char where[64];
        if (lki)
            snprintf(where, sizeof where, "last_known_institutions[%zu]", i);
        else
            snprintf(where, sizeof where, "last_known_institution");
        int r = inst_ref(c, a, rec, lki ? json_array_get(lki, i) : lki1, where, &l[k]);
        if (r < 0)
            return -1;
        k += r == 0;
    }
    x->last_known = l;
    x->n_last_known = k;
    k = 0;
    for (size_t i = 0; i < na; i++) {
        char where[64];
        json_t *e = json_array_get(affs, i);
        snprintf(where, sizeof where, "affiliations[%zu]", i);
        if (!json_is_object(e))
            return ix_jfail(c, "author %s: %s: expected an object", rec, where);
        json_t *inst = ix_jobj(c, e, "institution");
        json_t *years = ix_jarr(c, e, "years");
        if (c->failed)
            return -1;
        if (!inst)
            continue;
        snprintf(where, sizeof where, "affiliations[%zu].institution", i);
        int r = inst_ref(c, a, rec, inst, where, &f[k]);
        if (r < 0)
            return -1;
        if (r)
            continue;
        size_t ny = json_array_size(years);
        if (ny > 500)
            return ix_jfail(c, "author %s: affiliations[%zu].years: %zu entries", rec, i, ny);
        int *yv = pgr_arena_calloc(a, ny + 1, sizeof *yv);
        if (!yv)
            return ix_jfail(c, "out of memory");
        for (size_t j = 0; j < ny; j++) {
            json_t *y = json_array_get(years, j);
            if (!json_is_integer(y) || json_integer_value(y) < 1000 || json_integer_value(y) > 2100)
                return ix_jfail(c, "author %s: affiliations[%zu].years[%zu]: not a year in 1000..2100",
                                rec, i, j);
            yv[j] = (int)json_integer_value(y);
            for (size_t q = 0; q < j; q++)
                if (yv[q] == yv[j])
                    return ix_jfail(c, "author %s: affiliations[%zu].years[%zu]: %d listed twice",
                                    rec, i, j, yv[j]);
        }
        f[k].years = yv;
        f[k].n_years = ny;
        k++;
    }
    x->affiliations = f;
    x->n_affiliations = k;
    return 0;
}

/* ids {openalex, orcid, scopus, twitter, wikipedia, mag, ...}: every id the
 * object lists, in its order; a string (mag: also an integer). */
static int ext_ids(ix_jctx *c, pgr_arena *a, const char *rec, json_t *ids, ix_author *x)
{
    size_t n = json_object_size(ids);
    if (n > 64)
        return ix_jfail(c, "author %s: ids: %zu entries", rec, n);
    ix_ext_id *v = pgr_arena_calloc(a, n + 1, sizeof *v);
    if (!v)
        return ix_jfail(c, "out of memory");
    size_t k = 0;
    const char *key;
    json_t *val;
    json_object_foreach(ids, key, val)
    {
        size_t kl = strlen(key);
        int ok = kl > 0 && kl <= 32;
        for (size_t i = 0; ok && i < kl; i++)
            ok = islower((unsigned char)key[i]) || isdigit((unsigned char)key[i]) || key[i] == '_';
        if (!ok)
            return ix_jfail(c, "author %s: ids: \"%.40s\" is not an id kind", rec, key);
        if (json_is_null(val))
            continue;
        const char *value;
        if (json_is_string(val) && json_string_length(val) > 0 && json_string_length(val) <= 2048)
            value = json_string_value(val);
        else if (json_is_integer(val) && json_integer_value(val) >= 0)
            value = pgr_arena_printf(a, "%lld", (long long)json_integer_value(val));
        else
            return ix_jfail(c, "author %s: ids.%s: expected an id string", rec, key);
        if (!strcmp(key, "orcid")) {
            char where[48];
            snprintf(where, sizeof where, "author %s: ids.orcid", rec);
            if (!(value = ix_jorcid(c, a, value, where)))
                return -1;
        }
        v[k].kind = pgr_arena_strdup(a, key);
        v[k].value = value;
        k++;
    }
    x->ids = v;
    x->n_ids = k;
    return 0;
}

static int parse_author(ix_jctx *c, oa_state *st, json_t *o, long position)
{
    pgr_arena *a = &st->a;
    ix_author x;
    memset(&x, 0, sizeof x);
    x.mean_citedness_2yr = NAN;
    x.openalex_id = short_id(a, ix_jstr(c, o, "id"));
    x.line = c->line;
    x.position = position;
    const char *rec = x.openalex_id ? x.openalex_id : "(no id)";
    const char *dn = ix_jstr(c, o, "display_name");
    char orcid_where[96], what[96], what_ss[112];
    snprintf(orcid_where, sizeof orcid_where, "author %s: orcid", rec);
    snprintf(what, sizeof what, "author %s: ", rec);
    snprintf(what_ss, sizeof what_ss, "author %s: summary_stats.", rec);
    x.orcid = ix_jorcid(c, a, ix_jstr(c, o, "orcid"), orcid_where);
    x.works_count = ix_jcount(c, o, "works_count", 100000000L, what);
    x.cited_by_count = ix_jcount(c, o, "cited_by_count", 1000000000L, what);
    json_t *ss = ix_jobj(c, o, "summary_stats");
    x.h_index = ix_jcount(c, ss, "h_index", 1000000L, what_ss);
    x.i10_index = ix_jcount(c, ss, "i10_index", 100000000L, what_ss);
    x.mean_citedness_2yr = ix_jfigure(c, ss, "2yr_mean_citedness", 1e7, what_ss);
    json_t *ids = ix_jobj(c, o, "ids");
    json_t *affs = ix_jarr(c, o, "affiliations");
    const char *upd = ix_jstr(c, o, "updated_date");
    json_t *alts = ix_jarr(c, o, "display_name_alternatives");
    json_t *lki = ix_jarr(c, o, "last_known_institutions");
    json_t *lki1 = ix_jobj(c, o, "last_known_institution"); /* pre-2024 API */
    json_t *cby = ix_jarr(c, o, "counts_by_year");
    json_t *tops = ix_jarr(c, o, "topics");
    json_t *share = ix_jarr(c, o, "topic_share");
    json_t *concepts = ix_jarr(c, o, "x_concepts");
    if (c->failed)
        return -1;
    /* The tombstone OpenAlex leaves for a removed profile. */
    if (dn && !strcmp(dn, "Deleted Author") && x.works_count <= 0) {
        st->skipped[0]++;
        if (!st->skipped_example[0])
            snprintf(st->skipped_example, sizeof st->skipped_example,
                     "\"Deleted Author\" tombstone %s", x.openalex_id ? x.openalex_id : "");
        return 0;
    }
    if (!dn)
        return ix_jfail(c, "author %s: no display_name", x.openalex_id ? x.openalex_id : "");
    x.display_name = ix_squash_ws(a, dn, strlen(dn));
    size_t nal = json_array_size(alts);
    if (nal > 10000)
        return ix_jfail(c, "display_name_alternatives: %zu entries", nal);
    const char **al = pgr_arena_calloc(a, nal + 1, sizeof *al);
    if (!al)
        return ix_jfail(c, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < nal; i++) {
        json_t *s = json_array_get(alts, i);
        if (!json_is_string(s))
            return ix_jfail(c, "display_name_alternatives[%zu]: expected a string", i);
        const char *v = ix_squash_ws(a, json_string_value(s), json_string_length(s));
        if (v)
            al[k++] = v;
    }
    x.alternatives = al;
    x.n_alternatives = k;
    if (upd) {
        char d[11];
        int y = ix_parse_date(upd, d);
        if (y <= 0 || !d[0])
            return ix_jfail(c, "author %s: updated_date: bad date \"%.40s\"", rec, upd);
        x.updated_date = upd;
        x.updated_day = pgr_arena_strdup(a, d);
    }
    if (institutions(c, a, rec, json_array_size(lki) ? lki : NULL, json_is_object(lki1) ? lki1 : NULL,
                     affs, &x) || ext_ids(c, a, rec, ids, &x))
        return -1;
    if (x.n_last_known) {
        /* the first last known institution is also the graph's link */
        x.affiliation = x.last_known[0].name;
        if (x.last_known[0].ror)
            x.institution_ror = x.last_known[0].ror + 16;
    }
    if (counts(c, a, cby, what, &x.counts_by_year, &x.n_counts_by_year) ||
        topics(c, a, tops, "topics", "score", 1, &x.topics, &x.n_topics) ||
        topics(c, a, share, "topic_share", "value", 1, &x.topic_share, &x.n_topic_share) ||
        topics(c, a, concepts, "x_concepts", "score", 100, &x.concepts, &x.n_concepts))
        return -1;
    st->authors++;
    return st->sink->author ? st->sink->author(st->sink->ctx, &x, c->err) : 0;
}

/* A topic object (/topics/T..): id, display_name, description, its
 * subfield/field/domain. Its works_count and cited_by_count are OpenAlex's
 * figures over OpenAlex's corpus, not this graph's: not kept. */
static int parse_topic(ix_jctx *c, oa_state *st, json_t *o)
{
    ix_topic_ref t = {.scheme = "openalex", .score = NAN};
    t.code = short_id(&st->a, ix_jstr(c, o, "id"));
    t.name = ix_jstr(c, o, "display_name");
    t.description = ix_jstr(c, o, "description");
    if (c->failed || topic_levels(c, o, &t) < 0)
        return -1;
    if (!t.code || t.code[0] != 'T')
        return ix_jfail(c, "topic: no OpenAlex topic id (T...)");
    st->topics++;
    return st->sink->topic ? st->sink->topic(st->sink->ctx, &t, c->err) : 0;
}

static int parse_entity(ix_jctx *c, oa_state *st, json_t *o, long position)
{
    if (!json_is_object(o))
        return ix_jfail(c, "expected an OpenAlex entity object");
    char k = entity_kind(o);
    int rc;
    if (k == 'W')
        rc = parse_work(c, st, o, position);
    else if (k == 'A')
        rc = parse_author(c, st, o, position);
    else if (k == 'T')
        rc = parse_topic(c, st, o);
    else {
        static const char kinds[] = "TSICFPKf";
        const char *at = k ? strchr(kinds, k) : NULL;
        size_t slot = at ? (size_t)(at - kinds) + 1 : 15;
        st->skipped[slot]++;
        if (!st->skipped_example[0]) {
            json_t *id = json_object_get(o, "id"), *dn = json_object_get(o, "display_name");
            snprintf(st->skipped_example, sizeof st->skipped_example, "%s %s \"%.80s\"",
                     kind_name(k), json_is_string(id) ? json_string_value(id) : "(no id)",
                     json_is_string(dn) ? json_string_value(dn) : "");
        }
        rc = 0;
    }
    if (rc && !c->failed && c->err->code == PGR_OK)
        ix_jfail(c, "record rejected");
    return rc;
}

/* One JSON document: an entity, a list page, or an array of entities. */
static int parse_document(ix_jctx *c, oa_state *st, json_t *doc)
{
    if (json_is_array(doc)) {
        size_t i;
        json_t *e;
        json_array_foreach(doc, i, e)
        {
            if (parse_entity(c, st, e, (long)i + 1))
                return -1;
            pgr_arena_reset(&st->a);
        }
        return 0;
    }
    if (!json_is_object(doc))
        return ix_jfail(c, "expected a JSON object or array");
    json_t *results = json_object_get(doc, "results");
    if (results) {
        if (!json_is_array(results))
            return ix_jfail(c, "field \"results\": expected an array");
        json_t *meta = ix_jobj(c, doc, "meta");
        long page = ix_jint(c, meta, "page", 0, 100000000L, 1);
        long per = ix_jint(c, meta, "per_page", 0, 100000L, 0);
        if (c->failed)
            return -1;
        if (page < 1)
            page = 1;
        size_t i;
        json_t *e;
        json_array_foreach(results, i, e)
        {
            /* Rank on the listing, across pages when meta tells the page size. */
            long pos = (long)i + 1 + (per > 0 ? (page - 1) * per : 0);
            if (parse_entity(c, st, e, pos))
                return -1;
            pgr_arena_reset(&st->a);
        }
        return 0;
    }
    if (json_object_get(doc, "error") && !json_object_get(doc, "id")) {
        const char *msg = ix_jstr(c, doc, "message");
        const char *e = ix_jstr(c, doc, "error");
        return ix_jfail(c, "OpenAlex API error: %s%s%s", e ? e : "?", msg ? ": " : "",
                        msg ? msg : "");
    }
    return parse_entity(c, st, doc, 0);
}

static void finish_notice(oa_state *st, pgr_err *err)
{
    size_t skipped = 0;
    for (int i = 0; i < 16; i++)
        skipped += st->skipped[i];
    if (!skipped)
        return;
    if (skipped == 1)
        ix_notice(err, "%s: not a work/author: skipped", st->skipped_example);
    else
        ix_notice(err, "%zu entities that are not works/authors skipped (first: %s)", skipped,
                  st->skipped_example);
}

int ix_openalex_parse(const ix_input *in, const ix_sink *sink, pgr_err *err)
{
    oa_state st;
    memset(&st, 0, sizeof st);
    st.sink = sink;
    int rc = -1;
    json_t *doc = NULL;
    ix_jctx c = {err, 1, 0, 0};
    size_t at;
    ix_first_byte(in->data, in->len, &at);
    /* One document, or JSON lines? Parse the first value alone to see (after
     * the nesting check, which the probe would otherwise skip). */
    size_t deep;
    if (ix_json_depth_ok(in->data, in->len, IX_JSON_MAX_DEPTH, &deep)) {
        c.offset = deep;
        ix_jfail(&c, "JSON nested deeper than %d levels (bomb?)", IX_JSON_MAX_DEPTH);
        goto cleanup;
    }
    json_error_t je;
    doc = json_loadb(in->data + at, in->len - at, JSON_DISABLE_EOF_CHECK, &je);
    int lines = 0;
    if (doc) {
        size_t end = at + (size_t)je.position;
        while (end < in->len && isspace((unsigned char)in->data[end]))
            end++;
        lines = end < in->len;
        json_decref(doc);
        doc = NULL;
    }
    if (!lines) {
        doc = ix_json_parse(&c, in->data, in->len, 0);
        if (!doc || parse_document(&c, &st, doc))
            goto cleanup;
    } else {
        const char *p = in->data, *end = in->data + in->len;
        long lineno = 0;
        while (p < end) {
            lineno++;
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t n = (size_t)((nl ? nl : end) - p);
            ix_jctx lc = {err, lineno, (size_t)(p - in->data), 0};
            if (n > IX_SNAPSHOT_MAX_LINE) {
                ix_jfail(&lc, "line of %zu bytes exceeds the limit", n);
                goto cleanup;
            }
            size_t i = 0;
            while (i < n && isspace((unsigned char)p[i]))
                i++;
            if (i < n) {
                json_t *o = ix_json_parse(&lc, p, n, 0);
                if (!o)
                    goto cleanup;
                int r = parse_entity(&lc, &st, o, 0);
                json_decref(o);
                if (r)
                    goto cleanup;
                pgr_arena_reset(&st.a);
            }
            p = nl ? nl + 1 : end;
        }
    }
    finish_notice(&st, err);
    rc = 0;
cleanup:
    json_decref(doc);
    pgr_arena_free(&st.a);
    return rc;
}
