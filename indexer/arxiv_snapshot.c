/* arXiv bulk metadata snapshot (the Kaggle "arxiv-metadata-oai-snapshot.json"):
 * one JSON object per line,
 *   {"id", "submitter", "authors", "title", "comments", "journal-ref", "doi",
 *    "report-no", "categories", "license", "abstract",
 *    "versions": [{"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"}],
 *    "update_date": "2008-11-13",
 *    "authors_parsed": [["Balázs", "C.", ""], ["Berger", "E. L.", ""]]}
 *
 * Speed matters (the nightly file has ~2.7M lines; target 20k records/s end to
 * end): each line is parsed on its own with json_loadb straight from the input
 * buffer, strings that need no cleaning are handed to the sink as Jansson owns
 * them, and the per-record arena is reset between lines. */
#include <ctype.h>
#include <math.h>
#include <string.h>

#include "indexer/ids.h"
#include "indexer/ixjson.h"
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

/* Splits the printed author list ("A. One, B. Two (MIT) and C. Three") at
 * top-level commas and " and ", so each parsed author can keep its raw
 * spelling. Returns the number of pieces (at most max), -1 on OOM. Pieces are
 * whitespace-squashed; a trailing "(affiliation)" is split off into affs. */
static long split_printed(pgr_arena *a, const char *s, const char **names, const char **affs,
                          size_t max)
{
    size_t k = 0;
    const char *p = s, *start = s;
    int depth = 0;
    for (;; p++) {
        int cut = 0, skip = 0;
        char c = *p;
        if (c == '(')
            depth++;
        else if (c == ')' && depth > 0)
            depth--;
        if (c == '\0')
            cut = 1;
        else if (depth == 0 && c == ',')
            cut = 1, skip = 1;
        else if (depth == 0 && isspace((unsigned char)c) && !strncmp(p + 1, "and", 3) &&
                 (p[4] == '\0' || isspace((unsigned char)p[4])))
            cut = 1, skip = 4;
        if (!cut)
            continue;
        const char *e = p;
        /* A piece may end in "(affiliation)". */
        const char *aff = NULL;
        size_t aff_n = 0;
        const char *q = e;
        while (q > start && isspace((unsigned char)q[-1]))
            q--;
        if (q > start && q[-1] == ')') {
            const char *open = NULL;
            int d = 0;
            for (const char *r = q - 1;; r--) {
                if (*r == ')')
                    d++;
                else if (*r == '(' && --d == 0) {
                    open = r;
                    break;
                }
                if (r == start)
                    break;
            }
            if (open && open > start) {
                aff = open + 1;
                aff_n = (size_t)(q - 1 - aff);
                e = open;
            }
        }
        const char *name = ix_squash_ws(a, start, (size_t)(e - start));
        if (name) {
            if (k == max)
                return (long)max + 1; /* more pieces than parsed authors: give up */
            names[k] = name;
            affs[k] = aff ? ix_squash_ws(a, aff, aff_n) : NULL;
            k++;
        }
        if (c == '\0')
            break;
        p += skip - 1;
        start = p + 1;
    }
    return (long)k;
}

/* authors_parsed -> ix_author_ref[]. Elements are [last, first, suffix,
 * (affiliation...)]; some records carry only [last, first]. */
static int build_authors(ix_jctx *c, pgr_arena *a, json_t *ap, const char *printed,
                         ix_author_ref **out, size_t *n_out)
{
    size_t n = json_array_size(ap);
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
    long pieces = printed ? split_printed(a, printed, names, affs, n) : -1;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(ap, i);
        if (!json_is_array(e) || json_array_size(e) < 1)
            return ix_jfail(c, "field \"authors_parsed\"[%zu]: expected [last, first, suffix]", i);
        const char *part[3] = {NULL, NULL, NULL};
        size_t np = json_array_size(e);
        for (size_t k = 0; k < np && k < 3; k++) {
            json_t *v = json_array_get(e, k);
            if (!json_is_string(v))
                return ix_jfail(c, "field \"authors_parsed\"[%zu][%zu]: expected a string", i, k);
            part[k] = json_string_value(v);
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
            json_t *v = json_array_get(e, 3);
            if (json_is_string(v))
                au[i].affiliation = ix_squash_ws(a, json_string_value(v), json_string_length(v));
        }
        if (!au[i].affiliation && pieces == (long)n)
            au[i].affiliation = affs[i];
    }
    *out = au;
    *n_out = n;
    return 0;
}

/* Fallback when authors_parsed is absent: authors from the printed list. */
static int authors_from_printed(ix_jctx *c, pgr_arena *a, const char *printed,
                                ix_author_ref **out, size_t *n_out)
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
    long k = split_printed(a, printed, names, affs, max);
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
static int parse_record(ix_jctx *c, pgr_arena *a, json_t *o, const ix_sink *sink)
{
    ix_work w;
    memset(&w, 0, sizeof w);
    w.score = NAN;
    w.cited_by_count = -1;
    w.has_code = -1;
    w.line = c->line;
    w.type = "preprint";
    w.venue = "arXiv";

    if (!json_is_object(o))
        return ix_jfail(c, "expected a JSON object per line");
    const char *id = ix_jstr(c, o, "id");
    const char *title = ix_jstr(c, o, "title");
    const char *abstract = ix_jstr(c, o, "abstract");
    const char *printed = ix_jstr(c, o, "authors");
    const char *cats = ix_jstr(c, o, "categories");
    const char *doi = ix_jstr(c, o, "doi");
    const char *update = ix_jstr(c, o, "update_date");
    w.comments = ix_jstr(c, o, "comments");
    w.journal_ref = ix_jstr(c, o, "journal-ref");
    json_t *ap = ix_jarr(c, o, "authors_parsed");
    json_t *versions = ix_jarr(c, o, "versions");
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
    if (doi)
        w.doi = ix_doi_canon_a(a, doi); /* junk in the field: no DOI, not an error */

    /* Versions: first "created" dates the work; the highest vN is current. */
    char date[11] = "";
    size_t nv = json_array_size(versions);
    for (size_t i = 0; i < nv; i++) {
        json_t *v = json_array_get(versions, i);
        if (!json_is_object(v))
            return ix_jfail(c, "field \"versions\"[%zu]: expected an object", i);
        const char *vs = ix_jstr(c, v, "version");
        const char *created = ix_jstr(c, v, "created");
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

int ix_arxiv_snapshot_parse(const ix_input *in, const ix_sink *sink, pgr_err *err)
{
    pgr_arena arena = {0};
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
            json_t *o = ix_json_parse(&c, p, n, 0);
            if (!o)
                goto cleanup;
            int r = parse_record(&c, &arena, o, sink);
            json_decref(o);
            pgr_arena_reset(&arena);
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
    pgr_arena_free(&arena);
    return rc;
}
