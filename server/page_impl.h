#ifndef PEERGRAPH_PAGE_IMPL_H
#define PEERGRAPH_PAGE_IMPL_H
/* Shared by the page modules (page_core.c, page_views.c); not public. */
#include <jansson.h>

#include "graph/graph.h"
#include "server/http.h"
#include "server/page.h"
#include "server/page_tmpl.h"

/* Renders template tmpl (a whole page: it includes the head/foot partials)
 * with data (stolen) and replies text/html. trust (may be NULL) is freed.
 * A render failure becomes the 5xx page. */
void page_render(srv_request *req, int status, const char *tmpl, json_t *data, tmpl_trust *trust);

/* The page cache: rendered pages kept in the entity response cache
 * (server/api_cache.c) under key, tagged with the graph's data version, so a
 * profile read again before the graph changes costs one version query and a
 * copy. page_cached answers from it (1) when it holds key at version;
 * page_render_keep renders like page_render and keeps the page. */
int page_cached(srv_request *req, const char *key, int64_t version);
void page_render_keep(srv_request *req, const char *tmpl, json_t *data, tmpl_trust *trust,
                      const char *key, int64_t version);

/* The error page in the site's look: 4xx/5xx with a title and a message. */
void page_error(srv_request *req, int status, const char *title, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Maps a store error: PGR_ENOTFOUND -> 404 page, PGR_EINVAL -> 400 page
 * (the message names the parameter), anything else -> 500 page (logged with
 * the request id, details not shown). */
void page_store_error(srv_request *req, const pgr_err *err, const char *what);

/* This thread's store, or NULL after answering the 503 page. */
pgr_store *page_store(srv_request *req);

/* A snippet from the store with highlight markers PAGE_HL_OPEN/CLOSE:
 * everything escaped, markers turned into balanced <mark> elements, the
 * result registered as safe in trust. */
#define PAGE_HL_OPEN "\xEE\x80\x80"  /* U+E000, private use */
#define PAGE_HL_CLOSE "\xEE\x80\x81" /* U+E001 */
json_t *page_snippet(tmpl_trust *trust, const char *marked);

/* JSON for a <script type="application/json"> element: '<', '>', '&' and
 * U+2028/9 written as \u escapes so no data can close the element; safe. */
json_t *page_json_script(tmpl_trust *trust, const json_t *value);

/* "A12" from "A12" or "http://host/authors/A12" (borrowed or into buf). */
const char *page_short_id(const char *id);

#endif
