#ifndef PEERGRAPH_PAGE_H
#define PEERGRAPH_PAGE_H
/* The web pages: server-rendered HTML (web/templates) plus static files
 * (web/static) and the browser libraries Debian installs (libjs-d3,
 * libjs-chart.js), served from their installed paths.
 *
 * page_init loads everything once, before the server starts; afterwards
 * the state is read-only and shared by all pool threads. */
#include "graph/util.h"
#include "server/http.h"

extern const srv_route page_routes[];

/* Loads templates and static files from web_root (NULL: found next to the
 * binary or in the working directory, see page_find_root) and the vendor
 * libraries. Fails when the templates cannot be loaded; a missing vendor
 * library is only a note on stderr (pages work without JavaScript). */
int page_init(const char *web_root, pgr_err *err);
void page_shutdown(void);
/* Where the web root was found: web_root if given, else ./web, else
 * <binary dir>/../../web (build/release/peergraph in a checkout), else
 * <binary dir>/../share/peergraph/web (installed). NULL when none has templates. */
const char *page_find_root(const char *web_root, char *buf, size_t size);

/* The site's 404 page, for srv_set_not_found. */
void page_not_found(srv_request *req);

#endif
