/* arXiv API (http(s)://export.arxiv.org/api/query) Atom responses, both
 * layouts: the older one (namespaces declared on each arxiv:/opensearch:
 * element, http links, "ArXiv Query:" title) and the 2026 one (namespaces on
 * <feed>, https links). Per entry: <id> (abs URL with version), <title>,
 * <summary>, <published> (v1 date), <updated>, <author><name/>
 * <arxiv:affiliation/>*</author>, <arxiv:doi>, <arxiv:comment>,
 * <arxiv:journal_ref>, <arxiv:primary_category term>, <category term>*.
 *
 * Errors: the API answers a bad query with a single entry titled "Error"
 * whose id is https://arxiv.org/api/errors#<reason>; that is reported as an
 * error. Recorded responses wrapped as {"url", "status_code", "body"} (the
 * arxiv.py test fixtures) are accepted too; a status other than 200 is an
 * error naming it. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "indexer/ids.h"
#include "indexer/ixjson.h"
#include "indexer/ixxml.h"
#include "indexer/mdutil.h"
#include "indexer/metadata.h"

static int is_wrapper(const char *data, size_t len)
{
    size_t at;
    if (ix_first_byte(data, len, &at) != '{')
        return 0;
    return ix_find(data, len, 1 << 20, "\"status_code\"") &&
           ix_find(data, len, 1 << 20, "\"body\"") &&
           (ix_find(data, len, 1 << 20, "<feed") || ix_find(data, len, 1 << 20, "arxiv.org/api"));
}

int ix_arxiv_atom_detect(const char *data, size_t len)
{
    size_t at;
    char c = ix_first_byte(data, len, &at);
    if (c == '<') {
        const char *feed = ix_find(data + at, len - at, 4096, "<feed");
        if (feed && (ix_find(data + at, len - at, 8192, "arxiv.org") ||
                     ix_find(data + at, len - at, 8192, "ArXiv Query")))
            return 90;
        return 0;
    }
    return is_wrapper(data, len) ? 90 : 0;
}

static const char *squash_node(pgr_arena *a, const xmlNode *n)
{
    const char *t = ix_xml_text(a, n);
    return t ? ix_squash_ws(a, t, strlen(t)) : NULL;
}

/* An entry that is the API's error report (see the header). */
static int entry_error(pgr_arena *a, const xmlNode *e, int status, pgr_err *err)
{
    const char *title = squash_node(a, ix_xml_child(e, "title"));
    const char *id = squash_node(a, ix_xml_child(e, "id"));
    if (!title || strcmp(title, "Error") || !id || !strstr(id, "/api/errors"))
        return 0;
    const char *summary = squash_node(a, ix_xml_child(e, "summary"));
    if (status > 0)
        return pgr_errf(err, PGR_EINVAL, "line %ld: arXiv API error (HTTP %d): %s (%s)",
                        ix_xml_line(e), status, summary ? summary : "no message", id);
    return pgr_errf(err, PGR_EINVAL, "line %ld: arXiv API error: %s (%s)", ix_xml_line(e),
                    summary ? summary : "no message", id);
}

static int parse_entry(pgr_arena *a, const xmlNode *e, long position, const ix_sink *sink,
                       pgr_err *err)
{
    ix_work w;
    memset(&w, 0, sizeof w);
    w.score = NAN;
    w.cited_by_count = -1;
    w.has_code = -1;
    w.type = "preprint";
    w.venue = "arXiv";
    w.position = position;
    w.line = ix_xml_line(e);
    ix_vec au = {0}, topics = {0};
    const char *primary = NULL;
    for (xmlNodePtr c = e->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        long line = ix_xml_line(c);
        if (ix_xml_is(c, "id")) {
            const char *id = squash_node(a, c);
            int ver = 0;
            w.arxiv_id = ix_arxiv_canon_a(a, id, &ver);
            if (!w.arxiv_id)
                return pgr_errf(err, PGR_EINVAL,
                                "line %ld: entry id \"%.80s\" is not an arXiv "
                                "abstract URL",
                                line, id ? id : "");
            w.arxiv_version = ver;
        } else if (ix_xml_is(c, "title")) {
            w.title = squash_node(a, c);
        } else if (ix_xml_is(c, "summary")) {
            const char *s = ix_xml_text(a, c);
            w.abstract = s ? ix_trim_ws(a, s, strlen(s)) : NULL;
        } else if (ix_xml_is(c, "published")) {
            char d[11];
            const char *s = squash_node(a, c);
            int y = ix_parse_any_date(s, d);
            if (y < 1986)
                return pgr_errf(err, PGR_EINVAL, "line %ld: bad published date \"%.40s\"", line,
                                s ? s : "");
            w.year = y;
            w.date = pgr_arena_strdup(a, d);
        } else if (ix_xml_is(c, "author")) {
            const char *name = squash_node(a, ix_xml_child(c, "name"));
            if (!name)
                continue;
            if (au.n >= IX_MAX_AUTHORS)
                return pgr_errf(err, PGR_EINVAL, "line %ld: more than %d authors", line,
                                IX_MAX_AUTHORS);
            ix_author_ref *r = ix_vec_push(a, &au, sizeof *r);
            if (!r)
                return pgr_errf(err, PGR_ENOMEM, "out of memory");
            r->raw_name = r->display_name = name;
            for (xmlNodePtr f = ix_xml_child(c, "affiliation"); f;
                 f = ix_xml_next(f, "affiliation")) {
                const char *aff = squash_node(a, f);
                if (aff)
                    r->affiliation =
                        r->affiliation ? pgr_arena_printf(a, "%s; %s", r->affiliation, aff) : aff;
            }
        } else if (ix_xml_is(c, "doi")) {
            const char *d = squash_node(a, c);
            w.doi = d ? ix_doi_canon_a(a, d) : NULL;
        } else if (ix_xml_is(c, "comment")) {
            w.comments = squash_node(a, c);
        } else if (ix_xml_is(c, "journal_ref")) {
            w.journal_ref = squash_node(a, c);
        } else if (ix_xml_is(c, "primary_category")) {
            primary = ix_xml_attr(a, c, "term");
        } else if (ix_xml_is(c, "category")) {
            const char *term = ix_xml_attr(a, c, "term");
            if (!term || !*term)
                continue;
            int dup = 0;
            for (size_t i = 0; i < topics.n; i++)
                dup |= !strcmp(((ix_topic_ref *)topics.items)[i].code, term);
            if (dup || topics.n >= 256)
                continue;
            ix_topic_ref *t = ix_vec_push(a, &topics, sizeof *t);
            if (!t)
                return pgr_errf(err, PGR_ENOMEM, "out of memory");
            t->scheme = "arxiv";
            t->code = term;
            t->score = NAN;
        }
    }
    /* Primary category first, as in the snapshot's category list. */
    if (primary) {
        ix_topic_ref *t = topics.items;
        size_t i = 0;
        while (i < topics.n && strcmp(t[i].code, primary))
            i++;
        if (i == topics.n) {
            if (!ix_vec_push(a, &topics, sizeof *t))
                return pgr_errf(err, PGR_ENOMEM, "out of memory");
            t = topics.items;
            t[i].scheme = "arxiv";
            t[i].code = primary;
            t[i].score = NAN;
        }
        ix_topic_ref keep = t[i];
        memmove(t + 1, t, i * sizeof *t);
        t[0] = keep;
    }
    if (!w.arxiv_id)
        return pgr_errf(err, PGR_EINVAL, "line %ld: entry without <id>", w.line);
    if (!w.title)
        return pgr_errf(err, PGR_EINVAL, "line %ld: entry %s without a title", w.line, w.arxiv_id);
    w.authors = au.items;
    w.n_authors = au.n;
    w.topics = topics.items;
    w.n_topics = topics.n;
    return sink->work ? sink->work(sink->ctx, &w, err) : 0;
}

static int parse_feed(const char *data, size_t len, int status, const ix_sink *sink, pgr_err *err)
{
    pgr_arena arena = {0};
    int rc = -1;
    xmlDocPtr doc = ix_xml_parse(data, len, err);
    if (!doc)
        goto cleanup;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (!ix_xml_is(root, "feed")) {
        pgr_errf(err, PGR_EINVAL, "line %ld: root element <%s> is not an Atom <feed>",
                 ix_xml_line(root), (const char *)root->name);
        goto cleanup;
    }
    for (xmlNodePtr e = ix_xml_child(root, "entry"); e; e = ix_xml_next(e, "entry"))
        if (entry_error(&arena, e, status, err))
            goto cleanup;
    if (status > 0 && status != 200) {
        pgr_errf(err, PGR_EINVAL, "offset 0: arXiv API answered HTTP %d", status);
        goto cleanup;
    }
    long position = 0;
    for (xmlNodePtr e = ix_xml_child(root, "entry"); e; e = ix_xml_next(e, "entry")) {
        if (parse_entry(&arena, e, ++position, sink, err))
            goto cleanup;
        pgr_arena_reset(&arena);
    }
    if (position == 0) {
        const char *total = squash_node(&arena, ix_xml_child(root, "totalResults"));
        ix_notice(err, "arXiv API feed with no entries (totalResults %s)", total ? total : "?");
    }
    rc = 0;
cleanup:
    if (doc)
        xmlFreeDoc(doc);
    pgr_arena_free(&arena);
    return rc;
}

int ix_arxiv_atom_parse(const ix_input *in, const ix_sink *sink, pgr_err *err)
{
    size_t at;
    if (ix_first_byte(in->data, in->len, &at) != '{')
        return parse_feed(in->data, in->len, 0, sink, err);

    /* {"url": ..., "status_code": N, "body": "<?xml ..."} */
    ix_jctx c = {err, 1, 0, 0};
    json_t *o = ix_json_parse(&c, in->data, in->len, 0);
    char *fixed = NULL;
    int rc = -1;
    if (!o)
        return -1;
    if (!json_is_object(o)) {
        ix_jfail(&c, "expected a {url, status_code, body} object");
        goto cleanup;
    }
    long status = ix_jint(&c, o, "status_code", 100, 599, -1);
    json_t *body = json_object_get(o, "body");
    const char *url = ix_jstr(&c, o, "url");
    if (c.failed)
        goto cleanup;
    if (status < 0) {
        ix_jfail(&c, "wrapper without \"status_code\"");
        goto cleanup;
    }
    if (!json_is_string(body)) {
        if (status != 200) {
            pgr_errf(err, PGR_EINVAL, "offset 0: arXiv API answered HTTP %ld for %s", status,
                     url ? url : "(no url)");
            goto cleanup;
        }
        ix_jfail(&c, "wrapper without a \"body\" string");
        goto cleanup;
    }
    const char *b = json_string_value(body);
    size_t bn = json_string_length(body);
    /* The recorder decoded arXiv's UTF-8 as Latin-1; undo that when the whole
     * body shows the pattern (never for text that is genuinely Latin-1). */
    size_t fn = 0;
    fixed = ix_fix_latin1_mojibake(b, bn, &fn);
    if (fixed) {
        b = fixed;
        bn = fn;
    }
    rc = parse_feed(b, bn, (int)status, sink, err);
    if (rc && err)
        pgr_err_prefix(err, "wrapped body");
cleanup:
    free(fixed);
    json_decref(o);
    return rc;
}
