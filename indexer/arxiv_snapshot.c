/* arXiv bulk metadata snapshot (the Kaggle "arxiv-metadata-oai-snapshot.json"):
 * one JSON object per line,
 *   {"id", "submitter", "authors", "title", "comments", "journal-ref", "doi",
 *    "report-no", "categories", "license", "abstract",
 *    "versions": [{"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"}],
 *    "update_date": "2008-11-13",
 *    "authors_parsed": [["Balázs", "C.", ""], ["Berger", "E. L.", ""]]}
 *
 * Speed matters (the nightly file has ~2.7M lines; target 20k records/s end to
 * end): each line is parsed on its own, straight from the input buffer, by the
 * one-pass reader of jscan.h (Jansson, measured on generated snapshot lines,
 * managed ~15-25k lines/s alone, leaving nothing for the store); strings that
 * need no cleaning are handed to the sink as decoded, and the per-record arena
 * is reset between lines. */
#include <ctype.h>
#include <math.h>
#include <string.h>

#include "indexer/ids.h"
#include "indexer/ixjson.h"
#include "indexer/jscan.h"
#include "indexer/mdutil.h"
#include "indexer/metadata.h"

int ix_arxiv_snapshot_detect(const char *data, size_t len)
{
    size_t at;
    if (ix_first_byte(data, len, &at) != '{')
        return 0;
    const char *line = data + at;
    size_t rest = len - at;
    const char *nl = memchr(line, '\n', rest < 65536 ? rest : 65536);
    size_t n = nl ? (size_t)(nl - line) : (rest < 65536 ? rest : 65536);
    if (!ix_find(line, n, n, "\"id\""))
        return 0;
    if (ix_find(line, n, n, "\"authors_parsed\""))
        return 90;
    if (ix_find(line, n, n, "\"versions\"") && ix_find(line, n, n, "\"update_date\""))
        return 90;
    /* Arrays of the same records (a JSON export) are not this format. */
    return 0;
}

/* Field accessors over the jscan tree, with ixjson.h's conventions: absent,
 * null and blank strings are "not given"; a wrong type fails the record. */
static const char *js_str(ix_jctx *c, const jv *o, const char *key)
{
    const jv *v = jv_get(o, key);
    if (!v || v->type == JV_NULL)
        return NULL;
    if (v->type != JV_STR) {
        ix_jfail(c, "field \"%s\": expected a string", key);
        return NULL;
    }
    for (const char *p = v->u.s; *p; p++)
        if (!isspace((unsigned char)*p))
            return v->u.s;
    return NULL;
}

static const jv *js_arr(ix_jctx *c, const jv *o, const char *key)
{
    const jv *v = jv_get(o, key);
    if (!v || v->type == JV_NULL)
        return NULL;
    if (v->type != JV_ARR) {
        ix_jfail(c, "field \"%s\": expected an array", key);
        return NULL;
    }
    return v;
}

/* authors_parsed -> ix_author_ref[]. Elements are [last, first, suffix,
 * (affiliation...)]; some records carry only [last, first]. */
static int build_authors(ix_jctx *c, pgr_arena *a, const jv *ap, const char *printed,
                         ix_author_ref **out, size_t *n_out)
{
    size_t n = ap->n;
    *out = NULL;
    *n_out = 0;
    if (n == 0)
        return 0;
    if (n > IX_MAX_AUTHORS)
        return ix_jfail(c, "field \"authors_parsed\": %zu authors exceeds the limit of %d", n,
                        IX_MAX_AUTHORS);
    ix_author_ref *au = pgr_arena_calloc(a, n, sizeof *au);
    const char **names = pgr_arena_calloc(a, n + 1, sizeof *names);
    const char **affs = pgr_arena_calloc(a, n + 1, sizeof *affs);
    if (!au || !names || !affs)
        return pgr_errf(c->err, PGR_ENOMEM, "line %ld: out of memory", c->line);
    long pieces = printed ? ix_split_authors(a, printed, names, affs, n) : -1;
    for (size_t i = 0; i < n; i++) {
        const jv *e = jv_at(ap, i);
        if (!e || e->type != JV_ARR || e->n < 1)
            return ix_jfail(c, "field \"authors_parsed\"[%zu]: expected [last, first, suffix]", i);
        const char *part[3] = {NULL, NULL, NULL};
        size_t np = e->n;
        for (size_t k = 0; k < np && k < 3; k++) {
            const jv *v = jv_at(e, k);
            if (v->type != JV_STR)
                return ix_jfail(c, "field \"authors_parsed\"[%zu][%zu]: expected a string", i, k);
            part[k] = v->u.s;
        }
        /* "Given Family Suffix", squashed (names are wrapped like titles). */
        pgr_sb sb = {0};
        if (part[1] && *part[1])
            pgr_sb_puts(&sb, part[1]);
        if (part[0] && *part[0]) {
            if (sb.len)
                pgr_sb_putc(&sb, ' ');
            pgr_sb_puts(&sb, part[0]);
        }
        if (part[2] && *part[2]) {
            if (sb.len)
                pgr_sb_putc(&sb, ' ');
            pgr_sb_puts(&sb, part[2]);
        }
        if (!pgr_sb_ok(&sb)) {
            pgr_sb_free(&sb);
            return pgr_errf(c->err, PGR_ENOMEM, "line %ld: out of memory", c->line);
        }
        const char *display = sb.data ? ix_squash_ws(a, sb.data, sb.len) : NULL;
        pgr_sb_free(&sb);
        if (!display)
            return ix_jfail(c, "field \"authors_parsed\"[%zu]: empty author name", i);
        au[i].display_name = display;
        au[i].raw_name = (pieces == (long)n) ? names[i] : display;
        if (np > 3) {
            const jv *v = jv_at(e, 3);
            if (v->type == JV_STR)
                au[i].affiliation = ix_squash_ws(a, v->u.s, v->n);
        }
        if (!au[i].affiliation && pieces == (long)n)
            au[i].affiliation = affs[i];
    }
    *out = au;
    *n_out = n;
    return 0;
}

/* Fallback when authors_parsed is absent: authors from the printed list. */
static int authors_from_printed(ix_jctx *c, pgr_arena *a, const char *printed, ix_author_ref **out,
                                size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (!printed)
        return 0;
    size_t max = 1;
    for (const char *p = printed; *p; p++)
        max += (*p == ',') || (*p == ' ');
    if (max > IX_MAX_AUTHORS)
        max = IX_MAX_AUTHORS;
    const char **names = pgr_arena_calloc(a, max + 1, sizeof *names);
    const char **affs = pgr_arena_calloc(a, max + 1, sizeof *affs);
    if (!names || !affs)
        return pgr_errf(c->err, PGR_ENOMEM, "line %ld: out of memory", c->line);
    long k = ix_split_authors(a, printed, names, affs, max);
    if (k < 0 || (size_t)k > max)
        return ix_jfail(c, "field \"authors\": too many authors");
    ix_author_ref *au = pgr_arena_calloc(a, (size_t)k ? (size_t)k : 1, sizeof *au);
    if (!au)
        return pgr_errf(c->err, PGR_ENOMEM, "line %ld: out of memory", c->line);
    for (long i = 0; i < k; i++) {
        au[i].raw_name = au[i].display_name = names[i];
        au[i].affiliation = affs[i];
    }
    *out = au;
    *n_out = (size_t)k;
    return 0;
}

/* One snapshot record -> one ix_work. */
static int parse_record(ix_jctx *c, pgr_arena *a, const jv *o, const ix_sink *sink)
{
    ix_work w;
    memset(&w, 0, sizeof w);
    w.score = NAN;
    w.cited_by_count = -1;
    w.has_code = -1;
    w.line = c->line;
    w.type = "preprint";
    w.venue = "arXiv";

    if (o->type != JV_OBJ)
        return ix_jfail(c, "expected a JSON object per line");
    const char *id = js_str(c, o, "id");
    const char *title = js_str(c, o, "title");
    const char *abstract = js_str(c, o, "abstract");
    const char *printed = js_str(c, o, "authors");
    const char *cats = js_str(c, o, "categories");
    const char *doi = js_str(c, o, "doi");
    const char *update = js_str(c, o, "update_date");
    const char *comments = js_str(c, o, "comments");
    const char *jref = js_str(c, o, "journal-ref");
    const jv *ap = js_arr(c, o, "authors_parsed");
    const jv *versions = js_arr(c, o, "versions");
    if (c->failed)
        return -1;
    if (!id)
        return ix_jfail(c, "field \"id\" missing");
    char idbuf[IX_ARXIV_ID_MAX];
    int idver = 0;
    if (ix_arxiv_canon(id, strlen(id), idbuf, &idver))
        return ix_jfail(c, "field \"id\": \"%.64s\" is not an arXiv identifier", id);
    w.arxiv_id = strcmp(idbuf, id) ? pgr_arena_strdup(a, idbuf) : id;
    w.arxiv_version = idver;
    if (!title)
        return ix_jfail(c, "record %s: field \"title\" missing", w.arxiv_id);
    w.title = ix_squash_ws(a, title, strlen(title));
    w.abstract = abstract ? ix_trim_ws(a, abstract, strlen(abstract)) : NULL;
    /* Wrapped like titles in the metadata ("...published\n  version"). */
    w.comments = comments ? ix_squash_ws(a, comments, strlen(comments)) : NULL;
    w.journal_ref = jref ? ix_squash_ws(a, jref, strlen(jref)) : NULL;
    if (doi)
        w.doi = ix_doi_canon_a(a, doi); /* junk in the field: no DOI, not an error */

    /* Versions: first "created" dates the work; the highest vN is current. */
    char date[11] = "";
    size_t nv = versions ? versions->n : 0;
    for (size_t i = 0; i < nv; i++) {
        const jv *v = jv_at(versions, i);
        if (v->type != JV_OBJ)
            return ix_jfail(c, "field \"versions\"[%zu]: expected an object", i);
        const char *vs = js_str(c, v, "version");
        const char *created = js_str(c, v, "created");
        if (c->failed)
            return -1;
        if (vs) {
            int vn = 0;
            size_t vl = strlen(vs);
            if ((vs[0] != 'v' && vs[0] != 'V') || vl < 2 || vl > 5)
                return ix_jfail(c, "field \"versions\"[%zu]: bad version \"%.16s\"", i, vs);
            for (size_t k = 1; k < vl; k++) {
                if (!isdigit((unsigned char)vs[k]))
                    return ix_jfail(c, "field \"versions\"[%zu]: bad version \"%.16s\"", i, vs);
                vn = vn * 10 + (vs[k] - '0');
            }
            if (vn < 1)
                return ix_jfail(c, "field \"versions\"[%zu]: bad version \"%.16s\"", i, vs);
            if (vn > w.arxiv_version)
                w.arxiv_version = vn;
        }
        if (i == 0 && created) {
            int y = ix_parse_any_date(created, date);
            if (y < 1986)
                return ix_jfail(c, "field \"versions\"[0].created: bad date \"%.40s\"", created);
            w.year = y;
        }
    }
    if (update) {
        char ud[11];
        int y = ix_parse_date(update, ud);
        if (y < 1986 || !ud[0])
            return ix_jfail(c, "field \"update_date\": bad date \"%.40s\"", update);
        if (!w.year) { /* no versions: the update date is the best we have */
            w.year = y;
            memcpy(date, ud, sizeof ud);
        }
    }
    if (date[0])
        w.date = pgr_arena_strdup(a, date);

    ix_author_ref *au;
    size_t nau;
    if (ap ? build_authors(c, a, ap, printed, &au, &nau)
           : authors_from_printed(c, a, printed, &au, &nau))
        return -1;
    w.authors = au;
    w.n_authors = nau;

    ix_topic_ref *topics;
    long nt = ix_arxiv_categories(a, cats, &topics);
    if (nt < 0)
        return pgr_errf(c->err, PGR_ENOMEM, "line %ld: out of memory", c->line);
    w.topics = topics;
    w.n_topics = (size_t)nt;
    if (!w.title)
        return ix_jfail(c, "record %s: empty title", w.arxiv_id);
    if (sink->work && sink->work(sink->ctx, &w, c->err))
        return -1;
    return 0;
}

/* Frees the arena's chunks between records only when a record grew it past
 * the default chunk; otherwise the memory is simply reused. */
static void arena_recycle(pgr_arena *a)
{
    pgr_arena_reset(a);
}

int ix_arxiv_snapshot_parse(const ix_input *in, const ix_sink *sink, pgr_err *err)
{
    pgr_arena arena = {0};
    jscan scan = {0};
    int rc = -1;
    const char *p = in->data, *end = in->data + in->len;
    long lineno = 0;
    size_t records = 0;
    if (in->len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
        p += 3;
    while (p < end) {
        lineno++;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        size_t n = (size_t)(le - p);
        size_t off = (size_t)(p - in->data);
        ix_jctx c = {err, lineno, off, 0};
        if (n > IX_SNAPSHOT_MAX_LINE) {
            ix_jfail(&c, "line of %zu bytes exceeds the %zu-byte limit", n,
                     (size_t)IX_SNAPSHOT_MAX_LINE);
            goto cleanup;
        }
        /* Blank lines (and a final newline) are allowed. */
        size_t i = 0;
        while (i < n && isspace((unsigned char)p[i]))
            i++;
        if (i < n) {
            if (memchr(p, '\0', n)) {
                ix_jfail(&c, "NUL byte in line (binary data?)");
                goto cleanup;
            }
            jv o;
            if (jscan_parse(&scan, &arena, p, n, &o)) {
                c.offset += scan.err_off;
                ix_jfail(&c, "invalid JSON: %s", scan.err_msg);
                goto cleanup;
            }
            int r = parse_record(&c, &arena, &o, sink);
            arena_recycle(&arena);
            if (r) {
                if (!c.failed && err && err->code == PGR_OK)
                    pgr_errf(err, PGR_EINTERNAL, "line %ld: record rejected", lineno);
                goto cleanup;
            }
            records++;
        }
        p = nl ? nl + 1 : end;
    }
    if (records == 0) {
        pgr_errf(err, PGR_EINVAL, "offset 0: no records in arXiv snapshot input");
        goto cleanup;
    }
    rc = 0;
cleanup:
    jscan_free(&scan);
    pgr_arena_free(&arena);
    return rc;
}
