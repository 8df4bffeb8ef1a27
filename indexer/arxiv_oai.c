/* arXiv OAI-PMH responses (http://export.arxiv.org/oai2): GetRecord and
 * ListRecords pages in the three metadata formats arXiv serves,
 *   arXiv     <arXiv><id/><created/><updated/><authors><author><keyname/>
 *             <forenames/><suffix/><affiliation/>*</author>...</authors><title/>
 *             <categories/><comments/><report-no/><journal-ref/><doi/><license/>
 *             <abstract/></arXiv>
 *   arXivRaw  <arXivRaw><id/><submitter/><version version="v1"><date/><size/>
 *             <source_type/></version>...<title/><authors/> (one printed string)
 *             <categories/><comments/><journal-ref/><doi/><abstract/></arXivRaw>
 *   oai_dc    <oai_dc:dc><dc:title/><dc:creator/>* ("Last, First")<dc:subject/>*
 *             <dc:description/>*<dc:date/>*<dc:identifier/>*</oai_dc:dc>
 * (element layouts from arXiv/oaipmh templates/record_formats.xml and the
 * OAI-PMH 2.0 protocol). OAI errors are reported as errors naming their code;
 * noRecordsMatch is an empty, valid answer. Deleted records
 * (<header status="deleted">) carry no metadata and are skipped. */
#include <ctype.h>
#include <math.h>
#include <string.h>

#include "indexer/ids.h"
#include "indexer/ixxml.h"
#include "indexer/mdutil.h"
#include "indexer/metadata.h"

int ix_arxiv_oai_detect(const char *data, size_t len)
{
    size_t at;
    if (ix_first_byte(data, len, &at) != '<')
        return 0;
    return ix_find(data + at, len - at, 4096, "<OAI-PMH") ? 95 : 0;
}

static const char *squash_node(pgr_arena *a, const xmlNode *n)
{
    const char *t = ix_xml_text(a, n);
    return t ? ix_squash_ws(a, t, strlen(t)) : NULL;
}

static const char *trim_node(pgr_arena *a, const xmlNode *n)
{
    const char *t = ix_xml_text(a, n);
    return t ? ix_trim_ws(a, t, strlen(t)) : NULL;
}

/* A name made only of punctuation (the ":" keyname arXiv uses to separate a
 * collaboration from its members) is not an author. */
static int has_alnum(const char *s)
{
    for (; s && *s; s++)
        if (isalnum((unsigned char)*s) || (unsigned char)*s >= 0x80)
            return 1;
    return 0;
}

static const char *join2(pgr_arena *a, const char *x, const char *sep, const char *y)
{
    if (!x)
        return y;
    if (!y)
        return x;
    return pgr_arena_printf(a, "%s%s%s", x, sep, y);
}

/* <authors><author>... in the arXiv format. */
static int arxiv_authors(pgr_arena *a, const xmlNode *authors, ix_work *w, pgr_err *err)
{
    ix_vec v = {0};
    for (xmlNodePtr au = ix_xml_child(authors, "author"); au; au = ix_xml_next(au, "author")) {
        const char *key = NULL, *fore = NULL, *suffix = NULL, *aff = NULL;
        for (xmlNodePtr c = au->children; c; c = c->next) {
            if (ix_xml_is(c, "keyname")) /* two keynames (hand-edited fixture): keep both */
                key = join2(a, key, " ", squash_node(a, c));
            else if (ix_xml_is(c, "forenames"))
                fore = join2(a, fore, " ", squash_node(a, c));
            else if (ix_xml_is(c, "suffix"))
                suffix = squash_node(a, c);
            else if (ix_xml_is(c, "affiliation"))
                aff = join2(a, aff, "; ", squash_node(a, c));
        }
        const char *name = join2(a, join2(a, fore, " ", key), " ", suffix);
        if (!name || !has_alnum(name))
            continue;
        if (v.n >= IX_MAX_AUTHORS)
            return pgr_errf(err, PGR_EINVAL, "line %ld: more than %d authors", ix_xml_line(au),
                            IX_MAX_AUTHORS);
        ix_author_ref *r = ix_vec_push(a, &v, sizeof *r);
        if (!r)
            return pgr_errf(err, PGR_ENOMEM, "line %ld: out of memory", ix_xml_line(au));
        r->raw_name = r->display_name = name;
        r->affiliation = aff;
    }
    w->authors = v.items;
    w->n_authors = v.n;
    return 0;
}

/* The printed author string of arXivRaw. */
static int raw_authors(pgr_arena *a, const char *printed, ix_work *w, long line, pgr_err *err)
{
    if (!printed)
        return 0;
    size_t max = 1;
    for (const char *p = printed; *p; p++)
        max += *p == ',' || *p == ' ';
    if (max > IX_MAX_AUTHORS)
        max = IX_MAX_AUTHORS;
    const char **names = pgr_arena_calloc(a, max + 1, sizeof *names);
    const char **affs = pgr_arena_calloc(a, max + 1, sizeof *affs);
    if (!names || !affs)
        return pgr_errf(err, PGR_ENOMEM, "line %ld: out of memory", line);
    long k = ix_split_authors(a, printed, names, affs, max);
    if (k < 0 || (size_t)k > max)
        return pgr_errf(err, PGR_EINVAL, "line %ld: unusable author list", line);
    ix_author_ref *r = pgr_arena_calloc(a, (size_t)k + 1, sizeof *r);
    if (!r)
        return pgr_errf(err, PGR_ENOMEM, "line %ld: out of memory", line);
    size_t n = 0;
    for (long i = 0; i < k; i++) {
        if (!has_alnum(names[i]))
            continue;
        r[n].raw_name = r[n].display_name = names[i];
        r[n].affiliation = affs[i];
        n++;
    }
    w->authors = r;
    w->n_authors = n;
    return 0;
}

/* Sets year/date from a date string, failing on an implausible one. */
static int set_date(ix_work *w, pgr_arena *a, const char *s, long line, const char *what,
                    pgr_err *err)
{
    char d[11];
    int y = ix_parse_any_date(s, d);
    if (y < 1986)
        return pgr_errf(err, PGR_EINVAL, "line %ld: %s: bad date \"%.40s\"", line, what, s);
    w->year = y;
    w->date = pgr_arena_strdup(a, d);
    return 0;
}

static int set_id(ix_work *w, pgr_arena *a, const char *id, long line, pgr_err *err)
{
    int ver = 0;
    const char *canon = ix_arxiv_canon_a(a, id, &ver);
    if (!canon)
        return pgr_errf(err, PGR_EINVAL, "line %ld: \"%.64s\" is not an arXiv identifier", line,
                        id ? id : "");
    w->arxiv_id = canon;
    if (ver > w->arxiv_version)
        w->arxiv_version = ver;
    return 0;
}

/* Fields common to arXiv and arXivRaw. */
static int common_fields(pgr_arena *a, const xmlNode *m, ix_work *w, pgr_err *err)
{
    for (xmlNodePtr c = m->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (ix_xml_is(c, "title"))
            w->title = squash_node(a, c);
        else if (ix_xml_is(c, "abstract"))
            w->abstract = trim_node(a, c);
        else if (ix_xml_is(c, "comments"))
            w->comments = squash_node(a, c);
        else if (ix_xml_is(c, "journal-ref"))
            w->journal_ref = squash_node(a, c);
        else if (ix_xml_is(c, "doi")) {
            const char *d = squash_node(a, c);
            w->doi = d ? ix_doi_canon_a(a, d) : NULL;
        } else if (ix_xml_is(c, "categories")) {
            ix_topic_ref *t;
            long nt = ix_arxiv_categories(a, squash_node(a, c), &t);
            if (nt < 0)
                return pgr_errf(err, PGR_ENOMEM, "out of memory");
            w->topics = t;
            w->n_topics = (size_t)nt;
        } else if (ix_xml_is(c, "id")) {
            if (set_id(w, a, squash_node(a, c), ix_xml_line(c), err))
                return -1;
        }
    }
    return 0;
}

static int parse_arxiv(pgr_arena *a, const xmlNode *m, ix_work *w, pgr_err *err)
{
    if (common_fields(a, m, w, err))
        return -1;
    xmlNodePtr created = ix_xml_child(m, "created");
    if (created && set_date(w, a, squash_node(a, created), ix_xml_line(created), "created", err))
        return -1;
    return arxiv_authors(a, ix_xml_child(m, "authors"), w, err);
}

static int parse_arxiv_raw(pgr_arena *a, const xmlNode *m, ix_work *w, pgr_err *err)
{
    if (common_fields(a, m, w, err))
        return -1;
    int first = 1;
    for (xmlNodePtr v = ix_xml_child(m, "version"); v; v = ix_xml_next(v, "version")) {
        const char *vs = ix_xml_attr(a, v, "version");
        long line = ix_xml_line(v);
        if (vs) {
            int vn = 0;
            size_t vl = strlen(vs);
            if (vl < 2 || vl > 5 || (vs[0] != 'v' && vs[0] != 'V'))
                return pgr_errf(err, PGR_EINVAL, "line %ld: bad version \"%.16s\"", line, vs);
            for (size_t k = 1; k < vl; k++) {
                if (!isdigit((unsigned char)vs[k]))
                    return pgr_errf(err, PGR_EINVAL, "line %ld: bad version \"%.16s\"", line, vs);
                vn = vn * 10 + vs[k] - '0';
            }
            if (vn < 1)
                return pgr_errf(err, PGR_EINVAL, "line %ld: bad version \"%.16s\"", line, vs);
            if (vn > w->arxiv_version)
                w->arxiv_version = vn;
        }
        xmlNodePtr d = ix_xml_child(v, "date");
        if (first && d && set_date(w, a, squash_node(a, d), ix_xml_line(d), "version date", err))
            return -1;
        first = 0;
    }
    xmlNodePtr au = ix_xml_child(m, "authors");
    return raw_authors(a, au ? squash_node(a, au) : NULL, w, ix_xml_line(au), err);
}

/* oai_dc: Dublin Core as arXiv fills it. */
static int parse_dc(pgr_arena *a, const xmlNode *m, ix_work *w, pgr_err *err)
{
    ix_vec au = {0};
    for (xmlNodePtr c = m->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (ix_xml_is(c, "title") && !w->title)
            w->title = squash_node(a, c);
        else if (ix_xml_is(c, "description") && !w->abstract) {
            /* arXiv adds "Comment: ..." as a second description. */
            const char *d = trim_node(a, c);
            if (d && strncmp(d, "Comment:", 8))
                w->abstract = d;
        } else if (ix_xml_is(c, "date") && !w->date) {
            if (set_date(w, a, squash_node(a, c), ix_xml_line(c), "dc:date", err))
                return -1;
        } else if (ix_xml_is(c, "identifier")) {
            const char *id = squash_node(a, c);
            if (!id)
                continue;
            if (!w->doi && !strncmp(id, "doi:", 4))
                w->doi = ix_doi_canon_a(a, id);
            else if (!w->arxiv_id && strstr(id, "arxiv.org/abs/")) {
                if (set_id(w, a, id, ix_xml_line(c), err))
                    return -1;
            }
        } else if (ix_xml_is(c, "creator")) {
            /* "Family, Given" -> display "Given Family"; raw as printed. */
            const char *raw = squash_node(a, c);
            if (!raw || !has_alnum(raw))
                continue;
            if (au.n >= IX_MAX_AUTHORS)
                return pgr_errf(err, PGR_EINVAL, "line %ld: too many creators", ix_xml_line(c));
            ix_author_ref *r = ix_vec_push(a, &au, sizeof *r);
            if (!r)
                return pgr_errf(err, PGR_ENOMEM, "out of memory");
            r->raw_name = raw;
            const char *comma = strchr(raw, ',');
            r->display_name = comma && comma[1]
                                  ? pgr_arena_printf(a, "%s %.*s", comma + 2 - (comma[1] != ' '),
                                                     (int)(comma - raw), raw)
                                  : raw;
        }
    }
    w->authors = au.items;
    w->n_authors = au.n;
    return 0;
}

/* Reports the first OAI <error>; 1 when it was noRecordsMatch (empty result). */
static int oai_error(pgr_arena *a, const xmlNode *root, pgr_err *err)
{
    xmlNodePtr e = ix_xml_child(root, "error");
    if (!e)
        return 0;
    const char *code = ix_xml_attr(a, e, "code");
    const char *msg = squash_node(a, e);
    if (code && !strcmp(code, "noRecordsMatch")) {
        ix_notice(err, "OAI-PMH noRecordsMatch: %s", msg ? msg : "no records");
        return 1;
    }
    int ecode = code && (!strcmp(code, "idDoesNotExist")) ? PGR_ENOTFOUND : PGR_EINVAL;
    return pgr_errf(err, ecode, "line %ld: OAI-PMH error %s: %s", ix_xml_line(e),
                    code ? code : "(no code)", msg ? msg : "(no message)");
}

int ix_arxiv_oai_parse(const ix_input *in, const ix_sink *sink, pgr_err *err)
{
    pgr_arena arena = {0};
    int rc = -1;
    xmlDocPtr doc = ix_xml_parse(in->data, in->len, err);
    if (!doc)
        goto cleanup;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (!ix_xml_is(root, "OAI-PMH")) {
        pgr_errf(err, PGR_EINVAL, "line %ld: root element <%s> is not <OAI-PMH>", ix_xml_line(root),
                 (const char *)root->name);
        goto cleanup;
    }
    int e = oai_error(&arena, root, err);
    if (e) {
        rc = e > 0 ? 0 : -1;
        goto cleanup;
    }
    xmlNodePtr list = ix_xml_child(root, "ListRecords");
    if (!list)
        list = ix_xml_child(root, "GetRecord");
    if (!list) {
        pgr_errf(err, PGR_EINVAL,
                 "line %ld: OAI-PMH response has neither ListRecords nor "
                 "GetRecord (other verbs carry no records)",
                 ix_xml_line(root));
        goto cleanup;
    }
    long position = 0;
    size_t skipped = 0;
    for (xmlNodePtr r = ix_xml_child(list, "record"); r; r = ix_xml_next(r, "record")) {
        position++;
        long line = ix_xml_line(r);
        xmlNodePtr header = ix_xml_child(r, "header");
        const char *status = ix_xml_attr(&arena, header, "status");
        xmlNodePtr md = ix_xml_child(r, "metadata");
        if ((status && !strcmp(status, "deleted")) || !md) {
            skipped++;
            pgr_arena_reset(&arena);
            continue;
        }
        xmlNodePtr m = md->children;
        while (m && m->type != XML_ELEMENT_NODE)
            m = m->next;
        ix_work w;
        memset(&w, 0, sizeof w);
        w.score = NAN;
        w.cited_by_count = -1;
        w.has_code = -1;
        w.type = "preprint";
        w.venue = "arXiv";
        w.position = position;
        w.line = line;
        int pr;
        if (ix_xml_is(m, "arXiv"))
            pr = parse_arxiv(&arena, m, &w, err);
        else if (ix_xml_is(m, "arXivRaw"))
            pr = parse_arxiv_raw(&arena, m, &w, err);
        else if (ix_xml_is(m, "dc"))
            pr = parse_dc(&arena, m, &w, err);
        else {
            pgr_errf(err, PGR_EUNSUPPORTED, "line %ld: unsupported metadata format <%s>", line,
                     m ? (const char *)m->name : "(empty)");
            goto cleanup;
        }
        if (pr)
            goto cleanup;
        /* The header identifier names the record when the metadata does not. */
        if (!w.arxiv_id) {
            const char *hid =
                header ? squash_node(&arena, ix_xml_child(header, "identifier")) : NULL;
            if (set_id(&w, &arena, hid, line, err))
                goto cleanup;
        }
        if (!w.title) {
            pgr_errf(err, PGR_EINVAL, "line %ld: record %s has no title", line, w.arxiv_id);
            goto cleanup;
        }
        if (sink->work && sink->work(sink->ctx, &w, err))
            goto cleanup;
        pgr_arena_reset(&arena);
    }
    /* A ListRecords page may end with a resumptionToken: the harvest goes on
     * in the next file; say so (an empty token marks the last page). */
    const char *token = squash_node(&arena, ix_xml_child(list, "resumptionToken"));
    if (skipped && token)
        ix_notice(err, "%zu deleted record(s) skipped; more records follow (resumptionToken %.64s)",
                  skipped, token);
    else if (skipped)
        ix_notice(err, "%zu deleted record(s) skipped", skipped);
    else if (token)
        ix_notice(err, "more records follow (resumptionToken %.64s)", token);
    rc = 0;
cleanup:
    if (doc)
        xmlFreeDoc(doc);
    pgr_arena_free(&arena);
    return rc;
}
