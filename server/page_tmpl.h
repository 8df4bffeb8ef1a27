#ifndef PEERGRAPH_PAGE_TMPL_H
#define PEERGRAPH_PAGE_TMPL_H
/* A small logic-less template engine for the web pages (a Mustache subset),
 * rendering from Jansson values.
 *
 *   {{name}} {{a.b.c}} {{.}}   the value, HTML-escaped (text and attribute
 *                              contexts alike: & < > " ' ` = are escaped);
 *                              strings with invalid UTF-8 or NULs get U+FFFD;
 *                              integers in decimal, reals as %g, true/false,
 *                              null and objects/arrays render nothing
 *   {{%name}}                  the value percent-encoded for a URL component
 *                              (RFC 3986 unreserved bytes kept), for query strings
 *   {{&name}}                  raw HTML, ONLY when the json_t is one that our own
 *                              code marked safe with tmpl_safe() for this render;
 *                              any other value is escaped like {{name}}
 *   {{#name}}..{{/name}}       section: an array repeats it per element (the
 *                              element becomes the innermost context); an object
 *                              becomes the innermost context; any other truthy
 *                              value renders it once. Falsy: missing, null, false,
 *                              "", [], {}. Numbers (0 included) are truthy.
 *   {{^name}}..{{/name}}       inverted section: renders when name is falsy
 *   {{>name}}                  another template of the same set (partials)
 *   {{! comment }}             nothing
 *
 * Names resolve from the innermost context outwards (the first context that
 * has the first path segment wins), as in Mustache. There is deliberately no
 * way for data to reach the page unescaped: a safe fragment is a json_t
 * pointer registered in a tmpl_trust that the page code fills, never a
 * property of the data.
 *
 * Templates are parsed once (tmpl_set_add / tmpl_set_load_dir) and rendered
 * by many threads at once: a tmpl_set is read-only after loading. */
#include <jansson.h>
#include <stddef.h>

#include "graph/util.h"

typedef struct tmpl_set tmpl_set;

/* Registry of safe HTML fragments for one render. Holds a reference to
 * each fragment so its pointer cannot be reused by another value. */
typedef struct tmpl_trust {
    json_t **v;
    size_t n, cap;
} tmpl_trust;

tmpl_set *tmpl_set_new(void); /* NULL when out of memory */
void tmpl_set_free(tmpl_set *set);
/* Parses text (copied) as template `name` (replacing one of the same name).
 * Syntax errors name the template, line and tag. */
int tmpl_set_add(tmpl_set *set, const char *name, const char *text, size_t len, pgr_err *err);
/* Loads every DIR/NAME.html as template NAME. */
int tmpl_set_load_dir(tmpl_set *set, const char *dir, pgr_err *err);
int tmpl_set_has(const tmpl_set *set, const char *name);

/* Renders template name with data as the outermost context, appending to
 * out. trust may be NULL. Fails on an unknown template or partial, or when
 * partials nest deeper than 16 (a template including itself). */
int tmpl_render(const tmpl_set *set, const char *name, json_t *data, const tmpl_trust *trust,
                pgr_sb *out, pgr_err *err);

/* Marks html (built by our own code from escaped parts) as safe: returns a
 * NEW json string reference (the caller usually json_object_set_new's it);
 * trust keeps its own reference. NULL when out of memory. */
json_t *tmpl_safe(tmpl_trust *trust, const char *html);
void tmpl_trust_free(tmpl_trust *trust);

/* The escapers the engine uses, for page code that builds safe fragments. */
void tmpl_escape_html(pgr_sb *out, const char *s, size_t len);
void tmpl_escape_url(pgr_sb *out, const char *s, size_t len);

#endif
