/* Semantic Scholar Academic Graph API (https://api.semanticscholar.org/api-docs):
 *   paper objects   {paperId, corpusId, externalIds {DOI, ArXiv, PubMed, CorpusId,
 *                   ...}, title, abstract, venue, publicationVenue, journal, year,
 *                   publicationDate, publicationTypes, citationCount,
 *                   fieldsOfStudy, s2FieldsOfStudy, authors [{authorId, name}],
 *                   references [paper], citations [paper], tldr, embedding}
 *   author objects  {authorId, name, aliases, affiliations, paperCount,
 *                   citationCount, hIndex, externalIds {ORCID, DBLP}, papers}
 *   pages           {total, offset, next | token, data: [...]} (search, bulk
 *                   search, /citations, /references, /author/{id}/papers)
 *   batch answers   [paper | author | null, ...] (null = unknown id)
 *   citation items  {citingPaper, contexts, intents, isInfluential}
 *   reference items {citedPaper, ...}
 *   recommendations {recommendedPapers: [...]}
 *   errors          {"error": "..."} / {"message": "..."}
 * and recorded exchanges wrapped as {url, status_code, body} (what
 * tests/data/s2/extract_vcr.py makes of the vcr recordings).
 *
 * Edges: a paper's references become its ix_work.references (each cited
 * paper's best id: doi:, else arxiv:, else s2:); each citing paper (a paper's
 * citations, or /paper/{id}/citations items when the wrapper URL names the
 * paper) gets the cited paper's id in its references. Cited and citing papers
 * that carry a title are emitted as works of their own. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "indexer/ids.h"
#include "indexer/ixjson.h"
#include "indexer/mdutil.h"
#include "indexer/metadata.h"

#define S2_MAX_LIST 1000000

static int is_s2_wrapper(const char *data, size_t len)
{
    return ix_find(data, len, 1 << 16, "\"status_code\"") &&
           ix_find(data, len, 1 << 16, "api.semanticscholar.org");
}

int ix_s2_detect(const char *data, size_t len)
{
    size_t at;
    char c = ix_first_byte(data, len, &at);
    if (c != '{' && c != '[')
        return 0;
    const char *d = data + at;
    size_t n = len - at;
    if (c == '{' && is_s2_wrapper(d, n))
        return 92;
    if (ix_find(d, n, 65536, "\"paperId\"") || ix_find(d, n, 65536, "\"authorId\"") ||
        ix_find(d, n, 65536, "\"recommendedPapers\""))
        return 80;
    if (c == '{' && (ix_find(d, n, 4096, "\"release_id\"") || ix_find(d, n, 4096, "\"diffs\"") ||
                     (ix_find(d, n, 4096, "\"README\"") && ix_find(d, n, 1 << 16, "\"files\""))))
        return 60; /* Datasets API listings: recognised, skipped */
    if (c == '{' && ix_find(d, n, 64, "\"error\""))
        return 30; /* a bare API error body */
    return 0;
}

typedef struct s2_state {
    pgr_arena a;
    const ix_sink *sink;
    const char *subject_ref;  /* id of the paper a citations page is about */
    int subject_is_citations; /* the page lists papers citing subject_ref */
    int subject_is_references;
    size_t works, authors, nulls, untitled, unidentified;
} s2_state;

/* The externalIds / paperId of a paper, canonicalised. */
typedef struct s2_ids {
    const char *s2, *doi, *arxiv, *pmid;
    int arxiv_version;
} s2_ids;

static int paper_ids(ix_jctx *c, pgr_arena *a, json_t *p, s2_ids *ids)
{
    memset(ids, 0, sizeof *ids);
    ids->s2 = ix_jstr(c, p, "paperId");
    json_t *ext = ix_jobj(c, p, "externalIds");
    const char *doi = ix_jstr(c, ext, "DOI");
    const char *arx = ix_jstr(c, ext, "ArXiv");
    ids->pmid = ix_jstr(c, ext, "PubMed");
    long corpus = ix_jint(c, ext, "CorpusId", 0, 100000000000L, -1);
    if (corpus < 0)
        corpus = ix_jint(c, p, "corpusId", 0, 100000000000L, -1);
    if (c->failed)
        return -1;
    if (ids->s2) {
        size_t n = strlen(ids->s2);
        for (size_t i = 0; i < n; i++)
            if (!isxdigit((unsigned char)ids->s2[i]))
                return ix_jfail(c, "paperId \"%.64s\" is not a hex id", ids->s2);
        if (n != 40)
            return ix_jfail(c, "paperId \"%.64s\" is not 40 hex digits", ids->s2);
    } else if (corpus >= 0) {
        ids->s2 = pgr_arena_printf(a, "CorpusId:%ld", corpus);
    }
    if (doi)
        ids->doi = ix_doi_canon_a(a, doi);
    if (arx)
        ids->arxiv = ix_arxiv_canon_a(a, arx, &ids->arxiv_version);
    return 0;
}

static const char *ref_id(pgr_arena *a, const s2_ids *ids)
{
    if (ids->doi)
        return pgr_arena_printf(a, "doi:%s", ids->doi);
    if (ids->arxiv)
        return pgr_arena_printf(a, "arxiv:%s", ids->arxiv);
    if (ids->s2)
        return pgr_arena_printf(a, "s2:%s", ids->s2);
    return NULL;
}

static int add_topic(pgr_arena *a, ix_vec *v, const char *name)
{
    if (!name)
        return 0;
    for (size_t i = 0; i < v->n; i++)
        if (!strcmp(((ix_topic_ref *)v->items)[i].code, name))
            return 0;
    if (v->n >= 1000)
        return 0;
    ix_topic_ref *t = ix_vec_push(a, v, sizeof *t);
    if (!t)
        return -1;
    t->scheme = "s2";
    t->code = t->name = name;
    t->score = NAN;
    return 0;
}

static int emit_paper(ix_jctx *c, s2_state *st, json_t *p, long position, const char *cites,
                      int depth);
static int emit_author(ix_jctx *c, s2_state *st, json_t *o, long position, int papers_too);
static int is_author_object(json_t *e);

/* references / citations arrays of a paper object. */
static int related(ix_jctx *c, s2_state *st, json_t *arr, const char *self_ref, int citing,
                   ix_vec *refs, int depth)
{
    size_t n = json_array_size(arr);
    if (n > S2_MAX_LIST)
        return ix_jfail(c, "%zu related papers", n);
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(arr, i);
        if (json_is_null(p))
            continue;
        if (!json_is_object(p))
            return ix_jfail(c, "%s[%zu]: expected a paper object",
                            citing ? "citations" : "references", i);
        if (!citing) {
            s2_ids ids;
            if (paper_ids(c, &st->a, p, &ids))
                return -1;
            const char *r = ref_id(&st->a, &ids);
            if (r) {
                const char **slot = ix_vec_push(&st->a, refs, sizeof *slot);
                if (!slot)
                    return ix_jfail(c, "out of memory");
                *slot = r;
            }
        }
        if (emit_paper(c, st, p, 0, citing ? self_ref : NULL, depth + 1))
            return -1;
    }
    return 0;
}

/* Emits one paper as a work. cites (may be NULL): an id this paper cites
 * (set for citing papers). depth stops references-of-references recursion. */
static int emit_paper(ix_jctx *c, s2_state *st, json_t *p, long position, const char *cites,
                      int depth)
{
    pgr_arena *a = &st->a;
    ix_work w;
    ix_work_init(&w, c->line, position);
    s2_ids ids;
    if (paper_ids(c, a, p, &ids))
        return -1;
    const char *title = ix_jstr(c, p, "title");
    const char *abstract = ix_jstr(c, p, "abstract");
    w.year = (int)ix_jint(c, p, "year", 1000, 2100, 0);
    const char *pdate = ix_jstr(c, p, "publicationDate");
    w.venue = ix_jstr(c, p, "venue");
    if (!w.venue)
        w.venue = ix_jstr(c, ix_jobj(c, p, "publicationVenue"), "name");
    if (!w.venue)
        w.venue = ix_jstr(c, ix_jobj(c, p, "journal"), "name");
    w.cited_by_count = ix_jint(c, p, "citationCount", 0, 1000000000L, -1);
    json_t *types = ix_jarr(c, p, "publicationTypes");
    json_t *fos = ix_jarr(c, p, "fieldsOfStudy");
    json_t *s2fos = ix_jarr(c, p, "s2FieldsOfStudy");
    json_t *authors = ix_jarr(c, p, "authors");
    json_t *refs = ix_jarr(c, p, "references");
    json_t *cits = ix_jarr(c, p, "citations");
    /* tldr {model, text}: a one-sentence summary, null when S2 has none */
    json_t *tldr = ix_jobj(c, p, "tldr");
    const char *tldr_text = ix_jstr(c, tldr, "text");
    w.tldr_model = ix_jstr(c, tldr, "model");
    if (c->failed)
        return -1;
    if (tldr_text) {
        w.tldr = ix_trim_ws(a, tldr_text, strlen(tldr_text));
        if (!*w.tldr)
            w.tldr = NULL;
    }
    if (!w.tldr)
        w.tldr_model = NULL;
    w.s2_id = ids.s2;
    w.doi = ids.doi;
    w.arxiv_id = ids.arxiv;
    w.arxiv_version = ids.arxiv_version;
    w.pmid = ids.pmid;
    if (pdate) {
        char d[11];
        int y = ix_parse_date(pdate, d);
        if (y <= 0 || !d[0])
            return ix_jfail(c, "publicationDate: bad date \"%.40s\"", pdate);
        w.date = pgr_arena_strdup(a, d);
        if (!w.year)
            w.year = y;
    }
    json_t *t0 = json_array_get(types, 0);
    if (json_is_string(t0))
        w.type = json_string_value(t0);
    w.title = title ? ix_squash_ws(a, title, strlen(title)) : NULL;
    w.abstract = abstract ? ix_trim_ws(a, abstract, strlen(abstract)) : NULL;

    ix_vec topics = {0};
    size_t i;
    json_t *e;
    json_array_foreach(fos, i, e)
    {
        if (json_is_string(e) && add_topic(a, &topics, json_string_value(e)))
            return ix_jfail(c, "out of memory");
    }
    json_array_foreach(s2fos, i, e)
    {
        json_t *cat = json_is_object(e) ? json_object_get(e, "category") : NULL;
        if (json_is_string(cat) && add_topic(a, &topics, json_string_value(cat)))
            return ix_jfail(c, "out of memory");
    }
    w.topics = topics.items;
    w.n_topics = topics.n;

    size_t na = json_array_size(authors);
    if (na > IX_MAX_AUTHORS)
        return ix_jfail(c, "authors: %zu exceeds the limit", na);
    ix_author_ref *au = pgr_arena_calloc(a, na + 1, sizeof *au);
    if (!au)
        return ix_jfail(c, "out of memory");
    size_t k = 0;
    json_array_foreach(authors, i, e)
    {
        if (!json_is_object(e))
            return ix_jfail(c, "authors[%zu]: expected an object", i);
        const char *name = ix_jstr(c, e, "name");
        const char *aid = ix_jstr(c, e, "authorId");
        if (c->failed)
            return -1;
        if (!name)
            continue;
        au[k].raw_name = au[k].display_name = ix_squash_ws(a, name, strlen(name));
        au[k].s2_id = aid;
        if (au[k].raw_name)
            k++;
    }
    w.authors = au;
    w.n_authors = k;

    const char *self = ref_id(a, &ids);
    ix_vec rv = {0};
    if (cites) {
        const char **slot = ix_vec_push(a, &rv, sizeof *slot);
        if (!slot)
            return ix_jfail(c, "out of memory");
        *slot = cites;
    }
    /* Nested papers first (they are complete works too); only one level:
     * a reference's own references are not followed. */
    if (depth == 0) {
        if (related(c, st, refs, self, 0, &rv, depth) || related(c, st, cits, self, 1, NULL, depth))
            return -1;
    } else if (refs) {
        size_t nr = json_array_size(refs);
        for (size_t j = 0; j < nr && j < S2_MAX_LIST; j++) {
            s2_ids rid;
            json_t *rp = json_array_get(refs, j);
            if (!json_is_object(rp))
                continue;
            if (paper_ids(c, a, rp, &rid))
                return -1;
            const char *r = ref_id(a, &rid);
            const char **slot = r ? ix_vec_push(a, &rv, sizeof *slot) : NULL;
            if (slot)
                *slot = r;
        }
    }
    w.references = rv.items;
    w.n_references = rv.n;
    if (!w.title) {
        /* Papers listed with ids only (fields=paperId) are edges, not works. */
        st->untitled++;
        return 0;
    }
    if (!w.s2_id && !w.doi && !w.arxiv_id) {
        /* S2's unresolved reference strings ("London Math. Soc", footnote
         * text) come with no id at all: not papers we can name or link. */
        st->unidentified++;
        return 0;
    }
    st->works++;
    if (st->sink->work && st->sink->work(st->sink->ctx, &w, c->err))
        return -1;
    /* authors given as author objects (authors.hIndex, ... asked for): their
     * figures are S2's claims about them, after the work that names them */
    json_array_foreach(authors, i, e)
    {
        if (is_author_object(e) && emit_author(c, st, e, 0, 0))
            return -1;
    }
    return 0;
}

/* externalIds of an author {ORCID: "...", DBLP: ["name", ...], ...}: every
 * id, in the object's order (a list gives one id per entry). */
static int author_ext_ids(ix_jctx *c, pgr_arena *a, const char *what, json_t *ext, ix_author *x)
{
    ix_vec v = {0};
    const char *key;
    json_t *val;
    if (json_object_size(ext) > 64)
        return ix_jfail(c, "%sexternalIds: %zu entries", what, json_object_size(ext));
    json_object_foreach(ext, key, val)
    {
        size_t kl = strlen(key), n = json_is_array(val) ? json_array_size(val) : 1;
        int ok = kl > 0 && kl <= 32;
        for (size_t i = 0; ok && i < kl; i++)
            ok = isalnum((unsigned char)key[i]) || key[i] == '_';
        if (!ok)
            return ix_jfail(c, "%sexternalIds: \"%.40s\" is not an id kind", what, key);
        if (n > 1000)
            return ix_jfail(c, "%sexternalIds.%s: %zu entries", what, key, n);
        char *kind = pgr_arena_strdup(a, key);
        if (!kind)
            return ix_jfail(c, "out of memory");
        for (char *p = kind; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        for (size_t i = 0; i < n; i++) {
            json_t *e = json_is_array(val) ? json_array_get(val, i) : val;
            const char *value;
            if (json_is_null(e))
                continue;
            if (json_is_string(e) && json_string_length(e) > 0 && json_string_length(e) <= 2048)
                value = json_string_value(e);
            else if (json_is_integer(e) && json_integer_value(e) >= 0)
                value = pgr_arena_printf(a, "%lld", (long long)json_integer_value(e));
            else
                return ix_jfail(c, "%sexternalIds.%s: expected an id string", what, key);
            if (!strcmp(kind, "orcid")) {
                char where[96];
                snprintf(where, sizeof where, "%sexternalIds.ORCID", what);
                if (!(value = ix_jorcid(c, a, value, where)))
                    return -1;
                if (!x->orcid)
                    x->orcid = value;
            }
            ix_ext_id *id = ix_vec_push(a, &v, sizeof *id);
            if (!id)
                return ix_jfail(c, "out of memory");
            id->kind = kind;
            id->value = value;
        }
    }
    x->ids = v.items;
    x->n_ids = v.n;
    return 0;
}

/* An author object {authorId, name, aliases, affiliations, homepage,
 * paperCount, citationCount, hIndex, externalIds, papers}: the author, and
 * what S2 reports about them as its claims. papers: emit the papers too. */
static int emit_author(ix_jctx *c, s2_state *st, json_t *o, long position, int papers_too)
{
    pgr_arena *a = &st->a;
    ix_author x;
    memset(&x, 0, sizeof x);
    x.works_count = x.cited_by_count = x.h_index = x.i10_index = -1;
    x.mean_citedness_2yr = NAN;
    x.line = c->line;
    x.position = position;
    x.s2_id = ix_jstr(c, o, "authorId");
    if (c->failed)
        return -1;
    if (x.s2_id) {
        size_t n = strlen(x.s2_id), i = 0;
        while (i < n && isdigit((unsigned char)x.s2_id[i]))
            i++;
        if (n > 20 || i != n)
            return ix_jfail(c, "authorId \"%.40s\" is not a Semantic Scholar author id", x.s2_id);
    }
    char what[64];
    snprintf(what, sizeof what, "author %s: ", x.s2_id ? x.s2_id : "(no id)");
    const char *name = ix_jstr(c, o, "name");
    x.works_count = ix_jcount(c, o, "paperCount", 100000000L, what);
    x.cited_by_count = ix_jcount(c, o, "citationCount", 1000000000L, what);
    x.h_index = ix_jcount(c, o, "hIndex", 1000000L, what);
    x.homepage = ix_jstr(c, o, "homepage");
    json_t *aliases = ix_jarr(c, o, "aliases");
    json_t *affs = ix_jarr(c, o, "affiliations");
    json_t *ext = ix_jobj(c, o, "externalIds");
    json_t *papers = ix_jarr(c, o, "papers");
    if (c->failed)
        return -1;
    if (!name)
        return ix_jfail(c, "author %s without a name", x.s2_id ? x.s2_id : "(no id)");
    x.display_name = ix_squash_ws(a, name, strlen(name));
    if (x.homepage && strlen(x.homepage) > 2048)
        return ix_jfail(c, "%shomepage: %zu bytes", what, strlen(x.homepage));
    if (author_ext_ids(c, a, what, ext, &x))
        return -1;
    size_t n = json_array_size(aliases);
    if (n > 10000)
        return ix_jfail(c, "aliases: %zu entries", n);
    const char **al = pgr_arena_calloc(a, n + 1, sizeof *al);
    if (!al)
        return ix_jfail(c, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(aliases, i);
        if (json_is_string(s) && json_string_length(s))
            al[k++] = json_string_value(s);
    }
    x.alternatives = al;
    x.n_alternatives = k;
    /* affiliations: strings, as the author's S2 profile states them */
    n = json_array_size(affs);
    if (n > 1000)
        return ix_jfail(c, "%saffiliations: %zu entries", what, n);
    ix_inst_ref *af = pgr_arena_calloc(a, n + 1, sizeof *af);
    if (!af)
        return ix_jfail(c, "out of memory");
    k = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(affs, i);
        if (json_is_null(s))
            continue;
        if (!json_is_string(s))
            return ix_jfail(c, "%saffiliations[%zu]: expected a string", what, i);
        const char *v = ix_squash_ws(a, json_string_value(s), json_string_length(s));
        if (v && *v)
            af[k++].name = v;
    }
    x.affiliations = af;
    x.n_affiliations = k;
    if (k)
        x.affiliation = af[0].name;
    st->authors++;
    if (st->sink->author && st->sink->author(st->sink->ctx, &x, c->err))
        return -1;
    /* /author/{id}?fields=papers... lists the author's papers. */
    size_t np = papers_too ? json_array_size(papers) : 0;
    for (size_t i = 0; i < np && i < S2_MAX_LIST; i++) {
        json_t *p = json_array_get(papers, i);
        if (json_is_object(p) && emit_paper(c, st, p, position, NULL, 1))
            return -1;
    }
    return 0;
}

/* A paper's author entry that is an author object of its own (fields such as
 * authors.hIndex asked for), not just {authorId, name}. */
static int is_author_object(json_t *e)
{
    static const char *const keys[] = {"paperCount", "citationCount", "hIndex", "affiliations",
                                       "homepage",   "externalIds",   "aliases"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        json_t *v = json_object_get(e, keys[i]);
        if (v && !json_is_null(v))
            return 1;
    }
    return 0;
}

/* One element of a page, batch or the document itself. */
static int emit_item(ix_jctx *c, s2_state *st, json_t *it, long position)
{
    if (json_is_null(it)) {
        st->nulls++; /* batch answer: unknown id */
        return 0;
    }
    if (!json_is_object(it))
        return ix_jfail(c, "item %ld: expected an object", position);
    json_t *citing = json_object_get(it, "citingPaper");
    json_t *cited = json_object_get(it, "citedPaper");
    if (citing || cited) {
        json_t *p = citing ? citing : cited;
        if (json_is_null(p))
            return 0;
        if (!json_is_object(p))
            return ix_jfail(c, "item %ld: %s is not a paper", position,
                            citing ? "citingPaper" : "citedPaper");
        /* A citing paper cites the page's subject when the URL named it. */
        const char *cites = citing && st->subject_is_citations ? st->subject_ref : NULL;
        return emit_paper(c, st, p, position, cites, 1);
    }
    /* an author object may carry externalIds too: authorId without a paper's
     * own fields is an author */
    if (json_object_get(it, "authorId") && !json_object_get(it, "paperId") &&
        !json_object_get(it, "title"))
        return emit_author(c, st, it, position, 1);
    if (json_object_get(it, "paperId") || json_object_get(it, "externalIds") ||
        json_object_get(it, "title"))
        return emit_paper(c, st, it, position, NULL, 0);
    return ix_jfail(c, "item %ld: neither a paper nor an author", position);
}

static int api_error(ix_jctx *c, json_t *doc, long status)
{
    const char *e = ix_jstr(c, doc, "error");
    if (!e)
        e = ix_jstr(c, doc, "message");
    if (!e)
        return 0;
    int code = strstr(e, "not found") || status == 404 ? PGR_ENOTFOUND : PGR_EINVAL;
    if (status > 0)
        pgr_errf(c->err, code, "offset %zu: Semantic Scholar API error (HTTP %ld): %s", c->offset,
                 status, e);
    else
        pgr_errf(c->err, code, "offset %zu: Semantic Scholar API error: %s", c->offset, e);
    c->failed = 1;
    return -1;
}

static int parse_doc(ix_jctx *c, s2_state *st, json_t *doc, long status)
{
    if (json_is_array(doc)) { /* batch */
        size_t i;
        json_t *it;
        json_array_foreach(doc, i, it)
        {
            if (emit_item(c, st, it, (long)i + 1))
                return -1;
            pgr_arena_reset(&st->a);
        }
        return 0;
    }
    if (!json_is_object(doc))
        return ix_jfail(c, "expected a JSON object or array");
    if (api_error(c, doc, status))
        return -1;
    if (status > 0 && status != 200)
        return ix_jfail(c, "Semantic Scholar API answered HTTP %ld", status);
    json_t *data = json_object_get(doc, "data");
    json_t *rec = json_object_get(doc, "recommendedPapers");
    if (data || rec) {
        json_t *arr = data ? data : rec;
        if (!json_is_array(arr))
            return ix_jfail(c, "field \"%s\": expected an array",
                            data ? "data" : "recommendedPapers");
        long offset = ix_jint(c, doc, "offset", 0, 100000000L, 0);
        if (c->failed)
            return -1;
        size_t i;
        json_t *it;
        json_array_foreach(arr, i, it)
        {
            if (emit_item(c, st, it, offset + (long)i + 1))
                return -1;
            pgr_arena_reset(&st->a);
        }
        if (st->subject_is_references && st->works)
            ix_notice(c->err,
                      "references of %s listed: cited papers ingested, edges need the "
                      "citing paper's own record",
                      st->subject_ref);
        return 0;
    }
    if (json_object_get(doc, "release_id") || json_object_get(doc, "diffs") ||
        (json_object_get(doc, "files") && json_object_get(doc, "README"))) {
        ix_notice(c->err, "Semantic Scholar Datasets API listing: not a work/author: skipped");
        return 0;
    }
    return emit_item(c, st, doc, 0);
}

/* From a wrapper URL like .../graph/v1/paper/{id}/citations?..., the id
 * of the subject paper as a reference id ("doi:...", "arxiv:...", "s2:..."). */
static void subject_from_url(s2_state *st, const char *url)
{
    const char *p = url ? strstr(url, "/graph/v1/paper/") : NULL;
    if (!p)
        return;
    p += 16;
    const char *q = strchr(p, '?');
    size_t n = q ? (size_t)(q - p) : strlen(p);
    int kind = 0;
    if (n > 10 && !strncmp(p + n - 10, "/citations", 10))
        kind = 1, n -= 10;
    else if (n > 11 && !strncmp(p + n - 11, "/references", 11))
        kind = 2, n -= 11;
    if (!kind || n == 0 || n > 512)
        return;
    char id[520];
    memcpy(id, p, n);
    id[n] = '\0';
    char buf[IX_DOI_MAX];
    int ver;
    if (!strncmp(id, "DOI:", 4) ? !ix_doi_canon(id + 4, n - 4, buf) : !ix_doi_canon(id, n, buf))
        st->subject_ref = pgr_arena_printf(&st->a, "doi:%s", buf);
    else if (!strncasecmp(id, "arXiv:", 6) && !ix_arxiv_canon(id, n, buf, &ver))
        st->subject_ref = pgr_arena_printf(&st->a, "arxiv:%s", buf);
    else if (n == 40 || !strncmp(id, "CorpusId:", 9))
        st->subject_ref = pgr_arena_printf(&st->a, "s2:%s", id);
    if (st->subject_ref) {
        st->subject_is_citations = kind == 1;
        st->subject_is_references = kind == 2;
    }
}

int ix_s2_parse(const ix_input *in, const ix_sink *sink, pgr_err *err)
{
    s2_state st;
    memset(&st, 0, sizeof st);
    st.sink = sink;
    pgr_arena keep = {0}; /* subject id outlives the per-item resets */
    int rc = -1;
    ix_jctx c = {err, 1, 0, 0};
    json_t *doc = ix_json_parse(&c, in->data, in->len, 0), *inner = NULL;
    if (!doc)
        goto cleanup;
    long status = 0;
    json_t *body = json_is_object(doc) ? json_object_get(doc, "body") : NULL;
    if (json_is_object(doc) && json_object_get(doc, "status_code") && json_is_string(body)) {
        /* Recorded exchange {url, status_code, body}: the body is the answer. */
        status = ix_jint(&c, doc, "status_code", 100, 599, 0);
        const char *url = ix_jstr(&c, doc, "url");
        if (c.failed)
            goto cleanup;
        const char *saved = NULL;
        if (url) {
            subject_from_url(&st, url);
            saved = st.subject_ref ? pgr_arena_strdup(&keep, st.subject_ref) : NULL;
        }
        pgr_arena_reset(&st.a);
        st.subject_ref = saved;
        ix_jctx bc = {err, 1, 0, 0};
        inner = ix_json_parse(&bc, json_string_value(body), json_string_length(body), 0);
        if (!inner) {
            pgr_err_prefix(err, "wrapped body");
            goto cleanup;
        }
        if (parse_doc(&bc, &st, inner, status)) {
            pgr_err_prefix(err, "wrapped body");
            goto cleanup;
        }
    } else if (parse_doc(&c, &st, doc, 0)) {
        goto cleanup;
    }
    if (err->msg[0] == '\0' && (st.nulls || st.untitled || st.unidentified))
        ix_notice(err,
                  "%zu work(s), %zu author(s); skipped: %zu null batch answer(s) (unknown ids), "
                  "%zu paper(s) without a title, %zu reference(s) without any id",
                  st.works, st.authors, st.nulls, st.untitled, st.unidentified);
    rc = 0;
cleanup:
    if (rc && err && err->code == PGR_OK)
        pgr_errf(err, PGR_EINVAL, "offset 0: Semantic Scholar input rejected");
    json_decref(inner);
    json_decref(doc);
    pgr_arena_free(&st.a);
    pgr_arena_free(&keep);
    return rc;
}
