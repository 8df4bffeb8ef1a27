/* DBLP XML (https://dblp.org/xml/, the dblp.xml dump and the /rec/KEY.xml and
 * search exports): a <dblp> root whose children are records
 *   <article|inproceedings|proceedings|book|incollection|phdthesis|
 *    mastersthesis|www|data key="journals/..." mdate="YYYY-MM-DD">
 *     author* (orcid="..." in recent dumps), editor*, title (with <i>, <sub>,
 *     <sup>, <tt> markup), booktitle, journal, year, month, volume, number,
 *     pages, ee* (electronic editions: doi.org and arxiv.org links give the
 *     DOI / arXiv id), url, crossref, publisher, series, school, isbn, note
 * (element layout from dblp.dtd). Names of homonyms carry dblp's
 * disambiguation number ("Jun Wang 0006"): the display name drops it, the
 * authorship's printed name keeps it.
 *
 * dblp.xml is ISO-8859-1 with named entities (&uuml;) that its DTD defines.
 * The DTD is never read: the document's one-line <!DOCTYPE dblp SYSTEM
 * "dblp.dtd"> is blanked (an internal subset is refused, as ixxml refuses
 * every DOCTYPE) and the named entities of dblp_entities.h are rewritten as
 * character references before libxml2 sees the text; an unknown entity is
 * an error naming its line. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "indexer/dblp_entities.h"
#include "indexer/ids.h"
#include "indexer/ixxml.h"
#include "indexer/mdutil.h"
#include "indexer/metadata.h"

static const char *const record_kinds[] = {"article",      "inproceedings", "proceedings",
                                           "book",         "incollection",  "phdthesis",
                                           "mastersthesis", "www",          "data"};

static int is_record(const xmlNode *n)
{
    for (size_t i = 0; i < sizeof record_kinds / sizeof *record_kinds; i++)
        if (ix_xml_is(n, record_kinds[i]))
            return 1;
    return 0;
}

int ix_dblp_detect(const char *data, size_t len)
{
    size_t at;
    if (ix_first_byte(data, len, &at) != '<')
        return 0;
    const char *d = data + at;
    size_t n = len - at;
    if (ix_find(d, n, 4096, "<!DOCTYPE dblp") || ix_find(d, n, 4096, "<dblp>") ||
        ix_find(d, n, 4096, "<dblp "))
        return 92;
    return 0;
}

static int ent_cmp(const void *k, const void *e)
{
    return strcmp(k, ((const struct dblp_entity *)e)->name);
}

/* The document with its DOCTYPE blanked and named entities as character
 * references (malloc'd, NUL-terminated); NULL with err set. Newlines are
 * kept, so libxml2's line numbers are the file's. */
static char *prepare(const char *s, size_t n, size_t *out_n, pgr_err *err)
{
    const char *dt = ix_find(s, n, n, "<!DOCTYPE");
    size_t dt_end = 0;
    if (dt) {
        const char *gt = memchr(dt, '>', n - (size_t)(dt - s));
        const char *br = memchr(dt, '[', n - (size_t)(dt - s));
        long line = 1;
        for (const char *p = s; p < dt; p++)
            line += *p == '\n';
        if (!gt || (br && br < gt)) {
            pgr_errf(err, PGR_EINVAL,
                     "line %ld: a DOCTYPE with an internal subset is not accepted (only "
                     "<!DOCTYPE dblp SYSTEM \"dblp.dtd\">)",
                     line);
            return NULL;
        }
        if (ix_find(gt + 1, n - (size_t)(gt + 1 - s), n, "<!DOCTYPE")) {
            pgr_errf(err, PGR_EINVAL, "line %ld: a second DOCTYPE", line);
            return NULL;
        }
        dt_end = (size_t)(gt + 1 - s);
    }
    /* each "&name;" (at least 3 bytes) becomes at most "&#1114111;" */
    size_t cap = n + n / 3 * 7 + 1;
    char *out = malloc(cap);
    if (!out) {
        pgr_errf(err, PGR_ENOMEM, "offset 0: out of memory");
        return NULL;
    }
    size_t o = 0;
    long line = 1;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\n')
            line++;
        if (dt && i >= (size_t)(dt - s) && i < dt_end) {
            out[o++] = c == '\n' ? '\n' : ' ';
            continue;
        }
        if (c != '&' || i + 1 >= n || !isalpha((unsigned char)s[i + 1])) {
            out[o++] = c;
            continue;
        }
        size_t k = i + 1;
        while (k < n && k - i <= 32 && isalnum((unsigned char)s[k]))
            k++;
        if (k >= n || s[k] != ';') {
            out[o++] = c; /* not an entity reference: libxml2 will say so */
            continue;
        }
        char name[40];
        memcpy(name, s + i + 1, k - i - 1);
        name[k - i - 1] = '\0';
        if (!strcmp(name, "amp") || !strcmp(name, "lt") || !strcmp(name, "gt") ||
            !strcmp(name, "quot") || !strcmp(name, "apos")) {
            out[o++] = c;
            continue;
        }
        const struct dblp_entity *e =
            bsearch(name, dblp_entities, sizeof dblp_entities / sizeof *dblp_entities,
                    sizeof *dblp_entities, ent_cmp);
        if (!e) {
            pgr_errf(err, PGR_EINVAL, "line %ld: unknown entity &%s; (not one dblp.dtd defines)",
                     line, name);
            free(out);
            return NULL;
        }
        o += (size_t)snprintf(out + o, cap - o, "&#%u;", e->cp);
        i = k;
    }
    out[o] = '\0';
    *out_n = o;
    return out;
}

static const char *text_of(pgr_arena *a, const xmlNode *n)
{
    const char *t = ix_xml_text(a, n);
    return t ? ix_squash_ws(a, t, strlen(t)) : NULL;
}

/* "Jun Wang 0006" -> "Jun Wang": dblp's homonym number is four digits after
 * a space at the end of the name. */
static const char *strip_homonym(pgr_arena *a, const char *name)
{
    size_t n = strlen(name);
    if (n > 5 && name[n - 5] == ' ' && strspn(name + n - 4, "0123456789") == 4)
        return pgr_arena_printf(a, "%.*s", (int)(n - 5), name);
    return name;
}

/* dblp ends titles with a period ("Speech Recognition."); one final period
 * is dropped, an ellipsis or a title ending in "?"/"!" is kept. */
static const char *title_of(pgr_arena *a, const xmlNode *n)
{
    const char *t = text_of(a, n);
    size_t k = t ? strlen(t) : 0;
    if (k > 1 && t[k - 1] == '.' && t[k - 2] != '.')
        return pgr_arena_printf(a, "%.*s", (int)(k - 1), t);
    return t;
}

/* The DOI or arXiv id of an ee link, when it is a doi.org / arxiv.org one. */
static void ee_ids(pgr_arena *a, const char *ee, ix_work *w)
{
    if (!ee)
        return;
    const char *p = ee;
    if (!strncmp(p, "https://", 8))
        p += 8;
    else if (!strncmp(p, "http://", 7))
        p += 7;
    else
        return;
    if (!strncmp(p, "www.", 4))
        p += 4;
    if (!w->doi && (!strncmp(p, "doi.org/", 8) || !strncmp(p, "dx.doi.org/", 11))) {
        w->doi = ix_doi_canon_a(a, ee);
    } else if (!w->arxiv_id && (!strncmp(p, "arxiv.org/abs/", 14) ||
                                !strncmp(p, "export.arxiv.org/abs/", 21))) {
        int ver = 0;
        w->arxiv_id = ix_arxiv_canon_a(a, ee, &ver);
        w->arxiv_version = ver;
    }
}

static int parse_record(pgr_arena *a, const xmlNode *r, long position, const ix_sink *sink,
                        pgr_err *err)
{
    long line = ix_xml_line(r);
    const char *key = ix_xml_attr(a, r, "key");
    const char *name = key ? key : "(no key)";
    ix_work w;
    ix_work_init(&w, line, position);
    w.type = (const char *)r->name;
    ix_vec au = {0};
    const char *fallback_venue = NULL; /* series (books), school (theses) */
    for (xmlNodePtr c = r->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        long cl = ix_xml_line(c);
        if (ix_xml_is(c, "author")) {
            const char *raw = text_of(a, c);
            if (!raw)
                continue;
            if (au.n >= IX_MAX_AUTHORS)
                return pgr_errf(err, PGR_EINVAL, "line %ld: record %s: more than %d authors", cl,
                                name, IX_MAX_AUTHORS);
            ix_author_ref *x = ix_vec_push(a, &au, sizeof *x);
            if (!x)
                return pgr_errf(err, PGR_ENOMEM, "line %ld: out of memory", cl);
            x->raw_name = raw;
            x->display_name = strip_homonym(a, raw);
            const char *orcid = ix_xml_attr(a, c, "orcid");
            if (orcid) {
                char canon[IX_ORCID_LEN + 1];
                if (ix_orcid_canon(orcid, canon))
                    return pgr_errf(err, PGR_EINVAL,
                                    "line %ld: record %s: author.orcid: \"%.40s\" is not an "
                                    "ORCID iD",
                                    cl, name, orcid);
                x->orcid = pgr_arena_strdup(a, canon);
            }
        } else if (ix_xml_is(c, "title")) {
            if (!w.title)
                w.title = title_of(a, c);
        } else if (ix_xml_is(c, "year")) {
            const char *y = text_of(a, c);
            char *end = NULL;
            long yy = y ? strtol(y, &end, 10) : 0;
            if (!y || *end || yy < 1000 || yy > 2100)
                return pgr_errf(err, PGR_EINVAL,
                                "line %ld: record %s: year: \"%.20s\" is not a year in 1000..2100",
                                cl, name, y ? y : "");
            w.year = (int)yy;
        } else if (ix_xml_is(c, "journal") || ix_xml_is(c, "booktitle")) {
            if (!w.venue)
                w.venue = text_of(a, c);
        } else if (ix_xml_is(c, "ee")) {
            ee_ids(a, text_of(a, c), &w);
        } else if ((ix_xml_is(c, "school") || ix_xml_is(c, "series")) && !fallback_venue) {
            fallback_venue = text_of(a, c);
        }
    }
    if (!w.title)
        return pgr_errf(err, PGR_EINVAL, "line %ld: record %s: no title", line, name);
    if (!w.venue)
        w.venue = fallback_venue;
    w.authors = au.items;
    w.n_authors = au.n;
    return sink->work ? sink->work(sink->ctx, &w, err) : 0;
}

int ix_dblp_parse(const ix_input *in, const ix_sink *sink, pgr_err *err)
{
    pgr_arena arena = {0};
    int rc = -1;
    size_t n = 0;
    xmlDocPtr doc = NULL;
    pgr_err_clear(err);
    char *buf = prepare(in->data, in->len, &n, err);
    if (!buf)
        goto cleanup;
    doc = ix_xml_parse(buf, n, err);
    if (!doc)
        goto cleanup;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    long position = 0;
    size_t persons = 0, skipped_data = 0;
    if (is_record(root)) { /* a single record (/rec/KEY.xml without the wrapper) */
        if (ix_xml_is(root, "www"))
            persons++;
        else if (parse_record(&arena, root, ++position, sink, err))
            goto cleanup;
    } else if (!ix_xml_is(root, "dblp")) {
        pgr_errf(err, PGR_EINVAL, "line %ld: root element <%s> is not <dblp> or a dblp record",
                 ix_xml_line(root), (const char *)root->name);
        goto cleanup;
    }
    for (xmlNodePtr r = is_record(root) ? NULL : root->children; r; r = r->next) {
        if (r->type != XML_ELEMENT_NODE)
            continue;
        if (!is_record(r)) {
            pgr_errf(err, PGR_EINVAL, "line %ld: <%s> is not a dblp record", ix_xml_line(r),
                     (const char *)r->name);
            goto cleanup;
        }
        if (ix_xml_is(r, "www")) { /* person pages: not works */
            persons++;
            continue;
        }
        if (ix_xml_is(r, "data")) { /* research data sets: not works */
            skipped_data++;
            continue;
        }
        if (parse_record(&arena, r, ++position, sink, err))
            goto cleanup;
        pgr_arena_reset(&arena);
    }
    if (persons || skipped_data)
        ix_notice(err, "%ld work(s); skipped %zu person record(s) (www) and %zu data record(s)",
                  position, persons, skipped_data);
    rc = 0;
cleanup:
    if (rc && err->code == PGR_OK)
        pgr_errf(err, PGR_EINVAL, "offset 0: dblp input rejected");
    if (doc)
        xmlFreeDoc(doc);
    free(buf);
    pgr_arena_free(&arena);
    return rc;
}
