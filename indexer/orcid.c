/* ORCID public API v3.0 (https://info.orcid.org/documentation/), XML and JSON:
 *   record               /v3.0/{iD}/record: orcid-identifier, person,
 *                        activities-summary
 *   person               /v3.0/{iD}/person: name (given-names, family-name,
 *                        credit-name), other-names, researcher-urls,
 *                        external-identifiers
 *   activities-summary   employments, educations (affiliation-group ->
 *                        employment-summary / education-summary), works
 *   works                /v3.0/{iD}/works: group* -> external-ids,
 *                        work-summary* (title, external-ids, type,
 *                        publication-date, journal-title)
 *   error                {response-code, developer-message, user-message,
 *                        error-code, more-info}: refused, naming the error
 * (element layouts from ORCID/orcid-model's record_3.0 XSDs and read samples).
 *
 * What is emitted: the person as an author record (ORCID iD as identity, the
 * credit name else "given family" as display name, other names as
 * alternatives, employments and educations as the record's affiliation claims
 * with their start and end years, the current employment as its institution, person
 * external identifiers and researcher URL as claims), then one work per works
 * group with the record owner as its author. The owner is found by the ORCID
 * iD; a /works document names nobody, so its works carry the owner only
 * when a work's source is the owner and names them (else a notice says so).
 * External ids of a work: doi, arxiv and pmid with relationship "self" or
 * "version-of" ("part-of" names the container, e.g. the journal's ISSN); a
 * value that is not such an id (ORCID itself flags them with
 * external-id-normalized-error) is skipped and counted. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "indexer/ids.h"
#include "indexer/ixjson.h"
#include "indexer/ixxml.h"
#include "indexer/mdutil.h"
#include "indexer/metadata.h"

#define ORCID_NS "http://www.orcid.org/ns/"
#define ORCID_MAX_YEARS 120 /* an affiliation spanning more years is a typo */

int ix_orcid_detect(const char *data, size_t len)
{
    size_t at;
    char c = ix_first_byte(data, len, &at);
    const char *d = data + at;
    size_t n = len - at;
    if (c == '<')
        return ix_find(d, n, 4096, ORCID_NS) && !ix_find(d, n, 4096, "<OAI-PMH") ? 93 : 0;
    if (c != '{')
        return 0;
    if (ix_find(d, n, 1 << 16, "\"orcid-identifier\"") ||
        ix_find(d, n, 1 << 16, "\"activities-summary\"") ||
        (ix_find(d, n, 1 << 16, "\"work-summary\"") && ix_find(d, n, 1 << 16, "\"put-code\"")))
        return 90;
    if (ix_find(d, n, 4096, "\"developer-message\"") && ix_find(d, n, 4096, "\"error-code\""))
        return 90; /* an ORCID error body */
    return 0;
}

/* What one document says, before it is emitted. */
typedef struct orc {
    pgr_arena *a;
    pgr_err *err;
    const char *where;         /* "line 12" / "record 0000-..." for messages */
    char orcid[IX_ORCID_LEN + 1];
    const char *given, *family, *credit;
    ix_vec others;             /* const char * */
    ix_vec ids;                /* ix_ext_id */
    ix_vec affs;               /* ix_inst_ref */
    const char *current, *current_ror;
    const char *homepage;
    const char *updated;
    int has_person;
    ix_vec works;              /* ix_work */
    const char *owner_name;    /* from a work's source when it is the owner */
    size_t bad_ids;
    int quiet_ids;             /* reading a group's ids: its summaries repeat them */
    char bad_example[96];
} orc;

static int oom(orc *o)
{
    return pgr_errf(o->err, PGR_ENOMEM, "%s: out of memory", o->where ? o->where : "ORCID");
}

/* Sets the record's iD from a path ("/0000-0002-7319-2192/works") or a bare
 * iD; a second, different iD in one document is an error. */
static int set_orcid(orc *o, const char *s, const char *field)
{
    if (!s)
        return 0;
    while (*s == '/')
        s++;
    char id[40];
    size_t k = strcspn(s, "/");
    if (k >= sizeof id)
        k = sizeof id - 1;
    memcpy(id, s, k);
    id[k] = '\0';
    char canon[IX_ORCID_LEN + 1];
    if (ix_orcid_canon(id, canon))
        return pgr_errf(o->err, PGR_EINVAL, "%s: %s: \"%.40s\" is not an ORCID iD", o->where, field,
                        id);
    if (o->orcid[0] && strcmp(o->orcid, canon))
        return pgr_errf(o->err, PGR_EINVAL, "%s: %s: ORCID iD %s differs from the record's %s",
                        o->where, field, canon, o->orcid);
    memcpy(o->orcid, canon, sizeof canon);
    return 0;
}

static int push_str(orc *o, ix_vec *v, const char *s)
{
    if (!s)
        return 0;
    const char **p = ix_vec_push(o->a, v, sizeof *p);
    if (!p)
        return oom(o);
    *p = s;
    return 0;
}

static int push_id(orc *o, const char *kind, const char *value)
{
    if (!kind || !value)
        return 0;
    ix_ext_id *x = ix_vec_push(o->a, &o->ids, sizeof *x);
    if (!x)
        return oom(o);
    char *k = pgr_arena_strdup(o->a, kind);
    if (!k)
        return oom(o);
    for (char *p = k; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    x->kind = k;
    x->value = value;
    return 0;
}

/* A date's parts as ORCID gives them (strings; NULL when absent). Year
 * 1000..2100, month 1..12, day 1..31; *year = 0 when no year. */
static int check_date(orc *o, const char *y, const char *m, const char *d, const char *field,
                      int *year, const char **date)
{
    *year = 0;
    if (date)
        *date = NULL;
    if (!y)
        return 0;
    char *end;
    long yy = strtol(y, &end, 10);
    long mm = m ? strtol(m, NULL, 10) : 0, dd = d ? strtol(d, NULL, 10) : 0;
    if (*end || end == y || yy < 1000 || yy > 2100)
        return pgr_errf(o->err, PGR_EINVAL, "%s: %s.year: \"%.20s\" is not a year in 1000..2100",
                        o->where, field, y);
    if ((m && (mm < 1 || mm > 12 || strspn(m, "0123456789") != strlen(m))) ||
        (d && (dd < 1 || dd > 31 || strspn(d, "0123456789") != strlen(d))))
        return pgr_errf(o->err, PGR_EINVAL, "%s: %s: bad month/day \"%.8s\"/\"%.8s\"", o->where,
                        field, m ? m : "", d ? d : "");
    *year = (int)yy;
    if (date && m && d) {
        *date = pgr_arena_printf(o->a, "%04ld-%02ld-%02ld", yy, mm, dd);
        if (!*date)
            return oom(o);
    }
    return 0;
}

/* One employment or education. */
static int add_affiliation(orc *o, int employment, const char *name, const char *dsrc,
                           const char *did, const char *sy, const char *ey, const char *field)
{
    if (!name)
        return 0; /* ORCID requires one; nothing to keep without it */
    int y0 = 0, y1 = 0;
    if (check_date(o, sy, NULL, NULL, field, &y0, NULL) ||
        check_date(o, ey, NULL, NULL, field, &y1, NULL))
        return -1;
    if (y0 && y1 && (y1 < y0 || y1 - y0 >= ORCID_MAX_YEARS))
        return pgr_errf(o->err, PGR_EINVAL, "%s: %s: ends (%d) before it starts (%d) or spans %d+ years",
                        o->where, field, y1, y0, ORCID_MAX_YEARS);
    ix_inst_ref *r = ix_vec_push(o->a, &o->affs, sizeof *r);
    if (!r)
        return oom(o);
    r->name = name;
    if (dsrc && did && !strcmp(dsrc, "ROR"))
        r->ror = strncmp(did, "http", 4) ? pgr_arena_printf(o->a, "https://ror.org/%s", did) : did;
    /* the years it is given for: its start and end year, as given */
    if (y0 || y1) {
        int *ys = pgr_arena_calloc(o->a, 2, sizeof *ys);
        if (!ys)
            return oom(o);
        r->n_years = 0;
        if (y0)
            ys[r->n_years++] = y0;
        if (y1 && y1 != y0)
            ys[r->n_years++] = y1;
        r->years = ys;
    }
    if (employment && !ey && !o->current) { /* no end date: a current employment */
        o->current = name;
        o->current_ror = r->ror;
    }
    return 0;
}

/* One external id of a work. */
static int work_id(orc *o, ix_work *w, const char *type, const char *value, const char *rel)
{
    if (!type || !value)
        return 0;
    if (rel && strcmp(rel, "self") && strcmp(rel, "version-of"))
        return 0; /* part-of, funded-by: another thing's id */
    const char *canon = NULL;
    int ver = 0;
    if (!strcmp(type, "doi")) {
        canon = ix_doi_canon_a(o->a, value);
        if (!w->doi)
            w->doi = canon;
    } else if (!strcmp(type, "arxiv")) {
        canon = ix_arxiv_canon_a(o->a, value, &ver);
        if (!w->arxiv_id) {
            w->arxiv_id = canon;
            w->arxiv_version = ver;
        }
    } else if (!strcmp(type, "pmid")) {
        size_t k = strlen(value);
        if (k && k < 12 && strspn(value, "0123456789") == k)
            canon = value;
        if (!w->pmid)
            w->pmid = canon;
    } else {
        return 0; /* isbn, issn, eid, wosuid, bibcode...: no place in the graph */
    }
    if (!canon && !o->quiet_ids) {
        if (!o->bad_ids++)
            snprintf(o->bad_example, sizeof o->bad_example, "%s \"%.60s\"", type, value);
    }
    return 0;
}

static int check_work(orc *o, ix_work *w, const char *put_code)
{
    if (!w->title)
        return pgr_errf(o->err, PGR_EINVAL, "%s: work put-code %s: no title", o->where,
                        put_code ? put_code : "?");
    return 0;
}

/* ---- XML ------------------------------------------------------------------ */

static const char *xtext(orc *o, const xmlNode *n)
{
    const char *t = ix_xml_text(o->a, n);
    return t ? ix_squash_ws(o->a, t, strlen(t)) : NULL;
}

static const char *xpath_text(orc *o, const xmlNode *n, const char *a, const char *b)
{
    xmlNodePtr c = ix_xml_child(n, a);
    if (c && b)
        c = ix_xml_child(c, b);
    return c ? xtext(o, c) : NULL;
}

static void xwhere(orc *o, const xmlNode *n)
{
    o->where = pgr_arena_printf(o->a, "line %ld", ix_xml_line(n));
}

static int xml_date(orc *o, const xmlNode *d, const char *field, int *year, const char **date)
{
    *year = 0;
    if (date)
        *date = NULL;
    if (!d)
        return 0;
    xwhere(o, d);
    return check_date(o, xpath_text(o, d, "year", NULL), xpath_text(o, d, "month", NULL),
                      xpath_text(o, d, "day", NULL), field, year, date);
}

static int xml_person(orc *o, const xmlNode *p)
{
    o->has_person = 1;
    const char *path = ix_xml_attr(o->a, p, "path");
    xwhere(o, p);
    if (set_orcid(o, path, "person path"))
        return -1;
    xmlNodePtr name = ix_xml_child(p, "name");
    if (name) {
        o->given = xpath_text(o, name, "given-names", NULL);
        o->family = xpath_text(o, name, "family-name", NULL);
        o->credit = xpath_text(o, name, "credit-name", NULL);
    }
    for (xmlNodePtr on = ix_xml_child(ix_xml_child(p, "other-names"), "other-name"); on;
         on = ix_xml_next(on, "other-name"))
        if (push_str(o, &o->others, xpath_text(o, on, "content", NULL)))
            return -1;
    for (xmlNodePtr u = ix_xml_child(ix_xml_child(p, "researcher-urls"), "researcher-url"); u;
         u = ix_xml_next(u, "researcher-url"))
        if (!o->homepage)
            o->homepage = xpath_text(o, u, "url", NULL);
    for (xmlNodePtr e = ix_xml_child(ix_xml_child(p, "external-identifiers"), "external-identifier");
         e; e = ix_xml_next(e, "external-identifier"))
        if (push_id(o, xpath_text(o, e, "external-id-type", NULL),
                    xpath_text(o, e, "external-id-value", NULL)))
            return -1;
    if (!o->updated)
        o->updated = xpath_text(o, p, "last-modified-date", NULL);
    return 0;
}

static int xml_affiliation(orc *o, const xmlNode *x, const char *summary, int employment)
{
    xmlNodePtr org = ix_xml_child(x, "organization");
    xmlNodePtr dis = ix_xml_child(org, "disambiguated-organization");
    int y0, y1;
    if (xml_date(o, ix_xml_child(x, "start-date"), "start-date", &y0, NULL) ||
        xml_date(o, ix_xml_child(x, "end-date"), "end-date", &y1, NULL))
        return -1;
    xwhere(o, x);
    char sy[16], ey[16];
    snprintf(sy, sizeof sy, "%d", y0);
    snprintf(ey, sizeof ey, "%d", y1);
    return add_affiliation(o, employment, xpath_text(o, org, "name", NULL),
                           xpath_text(o, dis, "disambiguation-source", NULL),
                           xpath_text(o, dis, "disambiguated-organization-identifier", NULL),
                           y0 ? sy : NULL, y1 ? ey : NULL, summary);
}

/* employments / educations: affiliation-group* -> X-summary (3.0), or the
 * summaries directly (2.x layout). */
static int xml_affiliations(orc *o, const xmlNode *list, const char *summary, int employment)
{
    for (xmlNodePtr g = list ? list->children : NULL; g; g = g->next) {
        if (ix_xml_is(g, summary)) {
            if (xml_affiliation(o, g, summary, employment))
                return -1;
            continue;
        }
        for (xmlNodePtr c = ix_xml_child(g, summary); c; c = ix_xml_next(c, summary))
            if (xml_affiliation(o, c, summary, employment))
                return -1;
    }
    return 0;
}

static int xml_ext_ids(orc *o, ix_work *w, const xmlNode *ids)
{
    for (xmlNodePtr e = ix_xml_child(ids, "external-id"); e; e = ix_xml_next(e, "external-id"))
        if (work_id(o, w, xpath_text(o, e, "external-id-type", NULL),
                    xpath_text(o, e, "external-id-value", NULL),
                    xpath_text(o, e, "external-id-relationship", NULL)))
            return -1;
    return 0;
}

/* The owner's name when a work's source is the owner (source-orcid = iD). */
static void xml_source_name(orc *o, const xmlNode *ws)
{
    xmlNodePtr src = ix_xml_child(ws, "source");
    const char *sp = xpath_text(o, src, "source-orcid", "path");
    const char *sn = xpath_text(o, src, "source-name", NULL);
    if (!o->owner_name && sp && sn && o->orcid[0] && !strcmp(sp, o->orcid))
        o->owner_name = sn;
}

static int xml_works(orc *o, const xmlNode *works)
{
    long position = 0;
    for (xmlNodePtr g = ix_xml_child(works, "group"); g; g = ix_xml_next(g, "group")) {
        xmlNodePtr ws = ix_xml_child(g, "work-summary");
        if (!ws)
            continue;
        ix_work *w = ix_vec_push(o->a, &o->works, sizeof *w);
        if (!w)
            return oom(o);
        ix_work_init(w, ix_xml_line(ws), ++position);
        xwhere(o, ws);
        /* the group's ids are the union of its summaries' */
        o->quiet_ids = 1;
        int r = xml_ext_ids(o, w, ix_xml_child(g, "external-ids"));
        o->quiet_ids = 0;
        if (r)
            return -1;
        for (xmlNodePtr s = ws; s; s = ix_xml_next(s, "work-summary"))
            if (xml_ext_ids(o, w, ix_xml_child(s, "external-ids")))
                return -1;
        w->title = xpath_text(o, ws, "title", "title");
        w->type = xpath_text(o, ws, "type", NULL);
        w->venue = xpath_text(o, ws, "journal-title", NULL);
        xml_source_name(o, ws);
        if (xml_date(o, ix_xml_child(ws, "publication-date"), "publication-date", &w->year,
                     &w->date))
            return -1;
        xwhere(o, ws);
        if (check_work(o, w, ix_xml_attr(o->a, ws, "put-code")))
            return -1;
    }
    return 0;
}

static int xml_activities(orc *o, const xmlNode *act)
{
    if (set_orcid(o, ix_xml_attr(o->a, act, "path"), "activities-summary path"))
        return -1;
    if (xml_affiliations(o, ix_xml_child(act, "employments"), "employment-summary", 1) ||
        xml_affiliations(o, ix_xml_child(act, "educations"), "education-summary", 0))
        return -1;
    xmlNodePtr works = ix_xml_child(act, "works");
    return works ? xml_works(o, works) : 0;
}

static int xml_error(orc *o, const xmlNode *root)
{
    const char *code = xpath_text(o, root, "error-code", NULL);
    const char *resp = xpath_text(o, root, "response-code", NULL);
    const char *dev = xpath_text(o, root, "developer-message", NULL);
    const char *user = xpath_text(o, root, "user-message", NULL);
    return pgr_errf(o->err, resp && !strcmp(resp, "404") ? PGR_ENOTFOUND : PGR_EINVAL,
                    "line %ld: ORCID error %s (HTTP %s): %.300s", ix_xml_line(root),
                    code ? code : "(no code)", resp ? resp : "?",
                    dev ? dev : user ? user : "(no message)");
}

static int parse_xml(orc *o, const ix_input *in)
{
    xmlDocPtr doc = ix_xml_parse(in->data, in->len, o->err);
    if (!doc)
        return -1;
    int rc = -1;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xwhere(o, root);
    if (!root->ns || !root->ns->href || strncmp((const char *)root->ns->href, ORCID_NS, 24)) {
        pgr_errf(o->err, PGR_EINVAL, "line %ld: root element <%s> is not in an ORCID namespace",
                 ix_xml_line(root), (const char *)root->name);
    } else if (ix_xml_is(root, "error")) {
        xml_error(o, root);
    } else if (ix_xml_is(root, "record")) {
        xmlNodePtr id = ix_xml_child(root, "orcid-identifier");
        xmlNodePtr p = ix_xml_child(root, "person"), act = ix_xml_child(root, "activities-summary");
        const char *idp = id ? xpath_text(o, id, "path", NULL) : ix_xml_attr(o->a, root, "path");
        if (!idp)
            pgr_errf(o->err, PGR_EINVAL, "line %ld: record without an ORCID iD", ix_xml_line(root));
        else if (!set_orcid(o, idp, "orcid-identifier.path") && !(p && xml_person(o, p)) &&
                 !(act && xml_activities(o, act)))
            rc = 0;
    } else if (ix_xml_is(root, "person")) {
        rc = xml_person(o, root);
    } else if (ix_xml_is(root, "activities-summary")) {
        rc = xml_activities(o, root);
    } else if (ix_xml_is(root, "works")) {
        rc = set_orcid(o, ix_xml_attr(o->a, root, "path"), "works path") ? -1 : xml_works(o, root);
    } else {
        pgr_errf(o->err, PGR_EUNSUPPORTED,
                 "line %ld: ORCID <%s> document: not read (record, person, activities-summary, "
                 "works and error are)",
                 ix_xml_line(root), (const char *)root->name);
    }
    xmlFreeDoc(doc);
    return rc;
}

/* ---- JSON ----------------------------------------------------------------- */

typedef struct jw {
    orc *o;
    ix_jctx *c;
} jw;

/* Member key of o as an object (is_array 0) or an array (1): NULL when
 * absent or null; another type fails naming the path. */
static json_t *jmember(jw *j, json_t *o, const char *key, const char *path, int is_array)
{
    json_t *v = o ? json_object_get(o, key) : NULL;
    if (!v || json_is_null(v))
        return NULL;
    if (is_array ? !json_is_array(v) : !json_is_object(v)) {
        pgr_errf(j->o->err, PGR_EINVAL, "%s: %s.%s: expected an %s", j->o->where, path, key,
                 is_array ? "array" : "object");
        return NULL;
    }
    return v;
}

static json_t *jobj(jw *j, json_t *o, const char *key, const char *path)
{
    return jmember(j, o, key, path, 0);
}

static json_t *jarr(jw *j, json_t *o, const char *key, const char *path)
{
    return jmember(j, o, key, path, 1);
}

/* A string member, or the "value" of an object member ({"value": "..."}),
 * squashed; NULL when absent, null or blank. *bad set on another type. */
static const char *jval(jw *j, json_t *o, const char *key, const char *path, int *bad)
{
    json_t *v = o ? json_object_get(o, key) : NULL;
    if (v && json_is_object(v))
        v = json_object_get(v, "value");
    if (!v || json_is_null(v))
        return NULL;
    if (json_is_integer(v))
        return pgr_arena_printf(j->o->a, "%lld", (long long)json_integer_value(v));
    if (!json_is_string(v)) {
        *bad = 1;
        pgr_errf(j->o->err, PGR_EINVAL, "%s: %s.%s: expected a string", j->o->where, path, key);
        return NULL;
    }
    return ix_squash_ws(j->o->a, json_string_value(v), json_string_length(v));
}

static int json_date(jw *j, json_t *o, const char *key, const char *path, int *year,
                     const char **date)
{
    int bad = 0;
    *year = 0;
    if (date)
        *date = NULL;
    json_t *d = jobj(j, o, key, path);
    if (!d)
        return j->o->err->code ? -1 : 0;
    const char *y = jval(j, d, "year", path, &bad), *m = jval(j, d, "month", path, &bad),
               *dd = jval(j, d, "day", path, &bad);
    if (bad)
        return -1;
    const char *field = pgr_arena_printf(j->o->a, "%s.%s", path, key);
    return check_date(j->o, y, m, dd, field ? field : key, year, date);
}

static const char *millis_date(pgr_arena *a, json_t *v)
{
    v = v && json_is_object(v) ? json_object_get(v, "value") : NULL;
    if (!json_is_integer(v))
        return NULL;
    long long ms = json_integer_value(v);
    if (ms < 0 || ms > 4102444800000LL) /* 2100-01-01 */
        return NULL;
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return NULL;
    char buf[32];
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return pgr_arena_strdup(a, buf);
}

static int json_person(jw *j, json_t *p)
{
    orc *o = j->o;
    int bad = 0;
    o->has_person = 1;
    if (set_orcid(o, jval(j, p, "path", "person", &bad), "person.path") || bad)
        return -1;
    json_t *name = jobj(j, p, "name", "person");
    if (name) {
        o->given = jval(j, name, "given-names", "person.name", &bad);
        o->family = jval(j, name, "family-name", "person.name", &bad);
        o->credit = jval(j, name, "credit-name", "person.name", &bad);
    }
    json_t *on = jarr(j, jobj(j, p, "other-names", "person"), "other-name", "person.other-names");
    size_t i;
    json_t *x;
    json_array_foreach(on, i, x) {
        if (json_is_object(x) && push_str(o, &o->others, jval(j, x, "content", "other-name", &bad)))
            return -1;
    }
    json_t *urls = jarr(j, jobj(j, p, "researcher-urls", "person"), "researcher-url",
                        "person.researcher-urls");
    json_array_foreach(urls, i, x) {
        if (json_is_object(x) && !o->homepage)
            o->homepage = jval(j, x, "url", "researcher-url", &bad);
    }
    json_t *eids = jarr(j, jobj(j, p, "external-identifiers", "person"), "external-identifier",
                        "person.external-identifiers");
    json_array_foreach(eids, i, x) {
        if (json_is_object(x) &&
            push_id(o, jval(j, x, "external-id-type", "external-identifier", &bad),
                    jval(j, x, "external-id-value", "external-identifier", &bad)))
            return -1;
    }
    if (!o->updated)
        o->updated = millis_date(o->a, json_object_get(p, "last-modified-date"));
    return bad || o->err->code ? -1 : 0;
}

static int json_affiliations(jw *j, json_t *list, const char *summary, int employment)
{
    orc *o = j->o;
    int bad = 0;
    json_t *groups = jarr(j, list, "affiliation-group", summary);
    size_t i, k;
    json_t *g, *s;
    json_array_foreach(groups, i, g) {
        json_t *sums = json_is_object(g) ? jarr(j, g, "summaries", summary) : NULL;
        json_array_foreach(sums, k, s) {
            json_t *x = json_is_object(s) ? jobj(j, s, summary, summary) : NULL;
            if (!x)
                continue;
            const char *path = pgr_arena_printf(o->a, "%s[%zu]", summary, i);
            int y0, y1;
            if (json_date(j, x, "start-date", path, &y0, NULL) ||
                json_date(j, x, "end-date", path, &y1, NULL))
                return -1;
            json_t *org = jobj(j, x, "organization", path);
            json_t *dis = jobj(j, org, "disambiguated-organization", path);
            char sy[16], ey[16];
            snprintf(sy, sizeof sy, "%d", y0);
            snprintf(ey, sizeof ey, "%d", y1);
            if (add_affiliation(o, employment, jval(j, org, "name", path, &bad),
                                jval(j, dis, "disambiguation-source", path, &bad),
                                jval(j, dis, "disambiguated-organization-identifier", path, &bad),
                                y0 ? sy : NULL, y1 ? ey : NULL, path) ||
                bad)
                return -1;
        }
    }
    return o->err->code ? -1 : 0;
}

static int json_ext_ids(jw *j, ix_work *w, json_t *ids, const char *path)
{
    int bad = 0;
    json_t *list = jarr(j, ids, "external-id", path);
    size_t i;
    json_t *x;
    json_array_foreach(list, i, x) {
        if (!json_is_object(x))
            continue;
        if (work_id(j->o, w, jval(j, x, "external-id-type", path, &bad),
                    jval(j, x, "external-id-value", path, &bad),
                    jval(j, x, "external-id-relationship", path, &bad)) ||
            bad)
            return -1;
    }
    return j->o->err->code ? -1 : 0;
}

static int json_works(jw *j, json_t *works)
{
    orc *o = j->o;
    int bad = 0;
    json_t *groups = jarr(j, works, "group", "works");
    size_t i;
    json_t *g;
    long position = 0;
    json_array_foreach(groups, i, g) {
        if (!json_is_object(g))
            continue;
        json_t *sums = jarr(j, g, "work-summary", "works.group");
        json_t *ws = json_array_get(sums, 0);
        if (!json_is_object(ws))
            continue;
        const char *path = pgr_arena_printf(o->a, "works.group[%zu].work-summary[0]", i);
        ix_work *w = ix_vec_push(o->a, &o->works, sizeof *w);
        if (!w || !path)
            return oom(o);
        ix_work_init(w, 0, ++position);
        o->quiet_ids = 1;
        int r = json_ext_ids(j, w, jobj(j, g, "external-ids", path), path);
        o->quiet_ids = 0;
        if (r)
            return -1;
        size_t k;
        json_t *s;
        json_array_foreach(sums, k, s) {
            if (json_is_object(s) && json_ext_ids(j, w, jobj(j, s, "external-ids", path), path))
                return -1;
        }
        w->title = jval(j, jobj(j, ws, "title", path), "title", path, &bad);
        w->type = jval(j, ws, "type", path, &bad);
        w->venue = jval(j, ws, "journal-title", path, &bad);
        json_t *src = jobj(j, ws, "source", path);
        const char *sp = jval(j, jobj(j, src, "source-orcid", path), "path", path, &bad);
        const char *ap = jval(j, jobj(j, src, "assertion-origin-orcid", path), "path", path, &bad);
        const char *sn = jval(j, src, "source-name", path, &bad);
        const char *an = jval(j, src, "assertion-origin-name", path, &bad);
        if (bad || o->err->code)
            return -1;
        if (!o->owner_name && o->orcid[0]) {
            if (sp && sn && !strcmp(sp, o->orcid))
                o->owner_name = sn;
            else if (ap && an && !strcmp(ap, o->orcid))
                o->owner_name = an;
        }
        if (json_date(j, ws, "publication-date", path, &w->year, &w->date))
            return -1;
        const char *pc = jval(j, ws, "put-code", path, &bad);
        if (check_work(o, w, pc))
            return -1;
    }
    return o->err->code ? -1 : 0;
}

static int json_activities(jw *j, json_t *act)
{
    orc *o = j->o;
    if (json_affiliations(j, jobj(j, act, "employments", "activities-summary"),
                          "employment-summary", 1) ||
        json_affiliations(j, jobj(j, act, "educations", "activities-summary"),
                          "education-summary", 0))
        return -1;
    json_t *works = jobj(j, act, "works", "activities-summary");
    if (works)
        return json_works(j, works);
    return o->err->code ? -1 : 0;
}

static int parse_json(orc *o, const ix_input *in)
{
    ix_jctx c = {o->err, 1, 0, 0};
    json_t *doc = ix_json_parse(&c, in->data, in->len, 0);
    if (!doc)
        return -1;
    jw j = {o, &c};
    int rc = -1, bad = 0;
    o->where = "ORCID document";
    if (!json_is_object(doc)) {
        pgr_errf(o->err, PGR_EINVAL, "offset 0: an ORCID document is a JSON object");
    } else if (json_object_get(doc, "developer-message") || json_object_get(doc, "error-code")) {
        json_t *rcode = json_object_get(doc, "response-code");
        const char *code = jval(&j, doc, "error-code", "error", &bad);
        const char *dev = jval(&j, doc, "developer-message", "error", &bad);
        const char *user = jval(&j, doc, "user-message", "error", &bad);
        long http = json_is_integer(rcode) ? (long)json_integer_value(rcode) : 0;
        pgr_errf(o->err, http == 404 ? PGR_ENOTFOUND : PGR_EINVAL,
                 "offset 0: ORCID error %s (HTTP %ld): %.300s", code ? code : "(no code)", http,
                 dev ? dev : user ? user : "(no message)");
    } else if (json_object_get(doc, "orcid-identifier")) {
        json_t *id = jobj(&j, doc, "orcid-identifier", "record");
        const char *path = jval(&j, id, "path", "orcid-identifier", &bad);
        if (!path && !bad && !o->err->code)
            pgr_errf(o->err, PGR_EINVAL, "offset 0: record without an ORCID iD");
        else if (!bad && !o->err->code) {
            o->where = pgr_arena_printf(o->a, "record %s", path);
            json_t *p = jobj(&j, doc, "person", "record");
            json_t *act = jobj(&j, doc, "activities-summary", "record");
            if (!o->err->code && !set_orcid(o, path, "orcid-identifier.path") &&
                !(p && json_person(&j, p)) && !(act && json_activities(&j, act)))
                rc = 0;
        }
    } else if (json_object_get(doc, "group")) { /* /works */
        if (!set_orcid(o, jval(&j, doc, "path", "works", &bad), "works.path") && !bad)
            rc = json_works(&j, doc);
    } else if (json_object_get(doc, "works") || json_object_get(doc, "employments")) {
        if (!set_orcid(o, jval(&j, doc, "path", "activities-summary", &bad),
                       "activities-summary.path") &&
            !bad)
            rc = json_activities(&j, doc);
    } else if (json_object_get(doc, "name") || json_object_get(doc, "other-names")) {
        rc = json_person(&j, doc);
    } else {
        pgr_errf(o->err, PGR_EUNSUPPORTED,
                 "offset 0: ORCID JSON document of an unknown kind (record, person, "
                 "activities-summary, works and error are read)");
    }
    if (rc == 0 && !o->orcid[0]) {
        pgr_errf(o->err, PGR_EINVAL, "%s: no ORCID iD (path) in the document", o->where);
        rc = -1;
    }
    json_decref(doc);
    return rc;
}

/* ---- emit ----------------------------------------------------------------- */

int ix_orcid_parse(const ix_input *in, const ix_sink *sink, pgr_err *err)
{
    pgr_arena arena = {0};
    orc o;
    memset(&o, 0, sizeof o);
    o.a = &arena;
    o.err = err;
    o.where = "ORCID document";
    pgr_err_clear(err);
    size_t at;
    char first = ix_first_byte(in->data, in->len, &at);
    int rc = first == '<' ? parse_xml(&o, in) : parse_json(&o, in);
    if (rc)
        goto cleanup;
    rc = -1;
    if (!o.orcid[0]) {
        pgr_errf(err, PGR_EINVAL, "offset 0: no ORCID iD in the document");
        goto cleanup;
    }
    const char *owner = o.credit;
    if (!owner && (o.given || o.family))
        owner = o.given && o.family ? pgr_arena_printf(&arena, "%s %s", o.given, o.family)
                : o.given           ? o.given
                                    : o.family;
    if (o.has_person && owner) {
        ix_author x;
        memset(&x, 0, sizeof x);
        x.display_name = owner;
        x.orcid = o.orcid;
        x.works_count = x.cited_by_count = x.h_index = x.i10_index = -1;
        x.mean_citedness_2yr = NAN;
        /* "given family" is another name when the credit name differs */
        if (o.credit && o.given && o.family) {
            const char *gf = pgr_arena_printf(&arena, "%s %s", o.given, o.family);
            if (gf && strcmp(gf, o.credit) && push_str(&o, &o.others, gf))
                goto cleanup;
        }
        x.alternatives = o.others.items;
        x.n_alternatives = o.others.n;
        x.affiliation = o.current;
        x.institution_ror = o.current_ror;
        x.affiliations = o.affs.items;
        x.n_affiliations = o.affs.n;
        /* the iD first, then the person's other identifiers */
        ix_ext_id *ids = pgr_arena_calloc(&arena, o.ids.n + 1, sizeof *ids);
        if (!ids) {
            oom(&o);
            goto cleanup;
        }
        ids[0].kind = "orcid";
        ids[0].value = o.orcid;
        if (o.ids.n)
            memcpy(ids + 1, o.ids.items, o.ids.n * sizeof *ids);
        x.ids = ids;
        x.n_ids = o.ids.n + 1;
        x.homepage = o.homepage;
        if (o.updated && strlen(o.updated) >= 10) {
            char day[11];
            if (ix_parse_date(o.updated, day) > 0 && day[0]) {
                x.updated_date = o.updated;
                x.updated_day = pgr_arena_strdup(&arena, day);
            }
        }
        if (sink->author && sink->author(sink->ctx, &x, err))
            goto cleanup;
    }
    if (!owner)
        owner = o.owner_name;
    ix_author_ref me = {.raw_name = owner, .display_name = owner, .orcid = o.orcid};
    ix_work *ws = o.works.items;
    for (size_t i = 0; i < o.works.n; i++) {
        if (owner) {
            ws[i].authors = &me;
            ws[i].n_authors = 1;
        }
        if (sink->work && sink->work(sink->ctx, &ws[i], err))
            goto cleanup;
    }
    pgr_err_clear(err);
    if (o.works.n && !owner && o.bad_ids)
        ix_notice(err,
                  "%zu work(s) of ORCID %s not linked to their owner (the document names no "
                  "one; ingest the record); %zu external id(s) that are not ids skipped (%s)",
                  o.works.n, o.orcid, o.bad_ids, o.bad_example);
    else if (o.works.n && !owner)
        ix_notice(err,
                  "%zu work(s) of ORCID %s not linked to their owner (the document names no "
                  "one; ingest the record)",
                  o.works.n, o.orcid);
    else if (o.bad_ids)
        ix_notice(err, "%zu external id(s) that are not ids skipped (%s)", o.bad_ids,
                  o.bad_example);
    else if (o.has_person && !owner)
        ix_notice(err, "ORCID %s: no public name: no author record", o.orcid);
    rc = 0;
cleanup:
    if (rc && err->code == PGR_OK)
        pgr_errf(err, PGR_EINVAL, "offset 0: ORCID input rejected");
    pgr_arena_free(&arena);
    return rc;
}
