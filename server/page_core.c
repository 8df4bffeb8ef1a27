/* Web pages: loading templates and static files, serving static files and
 * the Debian-installed browser libraries, rendering, error pages. */
#include <dirent.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/api.h"
#include "server/page_impl.h"

typedef struct asset {
    char *path; /* URL path under /static/ ("style.css", "vendor/d3/d3.min.js") */
    const char *ctype;
    char *data;
    size_t len;
} asset;

static tmpl_set *g_tmpl;
static asset *g_assets;
static size_t g_n_assets;

/* Debian's packages: where libjs-d3 and libjs-chart.js install the files
 * the pages use, and the URL they are served under. d3 is version 3 there. */
static const struct {
    const char *url, *file;
} vendor[] = {
    {"vendor/d3/d3.min.js", "/usr/share/javascript/d3/d3.min.js"},
    {"vendor/chart.js/chart.min.js", "/usr/share/javascript/chart.js/chart.min.js"},
};

static const char *content_type(const char *name)
{
    const char *dot = strrchr(name, '.');
    static const struct {
        const char *ext, *type;
    } types[] = {
        /* charset matters: d3 3.x has non-ASCII identifiers */
        {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".svg", "image/svg+xml; charset=utf-8"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"},
    };
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return NULL;
}

static int add_asset(const char *url, const char *file, pgr_err *err)
{
    const char *ct = content_type(url);
    if (!ct)
        return 0; /* not a kind of file we serve */
    char *data = NULL;
    size_t len = 0;
    if (pgr_read_file(file, &data, &len, err) != 0)
        return -1;
    asset *nv = realloc(g_assets, (g_n_assets + 1) * sizeof *nv);
    char *p = strdup(url);
    if (!nv || !p) {
        free(data);
        free(p);
        if (nv)
            g_assets = nv;
        return pgr_errf(err, PGR_ENOMEM, "static %s: out of memory", file);
    }
    g_assets = nv;
    g_assets[g_n_assets++] = (asset){p, ct, data, len};
    return 0;
}

static int load_static(const char *dir, pgr_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0; /* no static folder: pages still render */
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[PATH_MAX];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= sizeof path)
            continue;
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        rc = add_asset(de->d_name, path, err);
    }
    closedir(d);
    return rc;
}

static int has_templates(const char *root)
{
    char p[PATH_MAX];
    struct stat st;
    return (size_t)snprintf(p, sizeof p, "%s/templates/head.html", root) < sizeof p &&
           stat(p, &st) == 0;
}

const char *page_find_root(const char *web_root, char *buf, size_t size)
{
    if (web_root)
        return has_templates(web_root) ? web_root : NULL;
    if (has_templates("web"))
        return "web";
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return NULL;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return NULL;
    *slash = '\0';
    static const char *const rel[] = {"/../../web", "/../share/peergraph/web", "/web"};
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++)
        if ((size_t)snprintf(buf, size, "%s%s", exe, rel[i]) < size && has_templates(buf))
            return buf;
    return NULL;
}

int page_init(const char *web_root, pgr_err *err)
{
    char buf[PATH_MAX], dir[PATH_MAX];
    const char *root = page_find_root(web_root, buf, sizeof buf);
    if (!root)
        return pgr_errf(err, PGR_EIO,
                        "web pages: %s%s has no templates/head.html (give --web-root DIR, the "
                        "web/ folder of the source tree)",
                        web_root ? "--web-root "
                                 : "no web root found; tried ./web and next to "
                                   "the binary",
                        web_root ? web_root : "");
    page_shutdown();
    g_tmpl = tmpl_set_new();
    if (!g_tmpl)
        return pgr_errf(err, PGR_ENOMEM, "web pages: out of memory");
    snprintf(dir, sizeof dir, "%s/templates", root);
    if (tmpl_set_load_dir(g_tmpl, dir, err) != 0)
        goto fail;
    static const char *const needed[] = {"head",   "foot", "home",  "search",
                                         "author", "work", "topic", "error"};
    for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++)
        if (!tmpl_set_has(g_tmpl, needed[i])) {
            pgr_errf(err, PGR_EINVAL, "web pages: %s/%s.html is missing", dir, needed[i]);
            goto fail;
        }
    snprintf(dir, sizeof dir, "%s/static", root);
    if (load_static(dir, err) != 0)
        goto fail;
    for (size_t i = 0; i < sizeof vendor / sizeof vendor[0]; i++) {
        pgr_err verr = {0};
        if (add_asset(vendor[i].url, vendor[i].file, &verr) != 0)
            fprintf(stderr,
                    "peergraph serve: note: %s (install libjs-d3 and libjs-chart.js: make deps); "
                    "pages work without it\n",
                    verr.msg);
    }
    return 0;
fail:
    page_shutdown();
    return -1;
}

void page_shutdown(void)
{
    tmpl_set_free(g_tmpl);
    g_tmpl = NULL;
    for (size_t i = 0; i < g_n_assets; i++) {
        free(g_assets[i].path);
        free(g_assets[i].data);
    }
    free(g_assets);
    g_assets = NULL;
    g_n_assets = 0;
}

/* ---- rendering and errors ------------------------------------------------- */

static void reply_plain_error(srv_request *req, int status, const char *msg)
{
    /* last resort when even the error template cannot render */
    pgr_sb sb = {0};
    pgr_sb_printf(&sb,
                  "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>%d</title>"
                  "<h1>%d</h1><p>",
                  status, status);
    tmpl_escape_html(&sb, msg, strlen(msg));
    pgr_sb_puts(&sb, "</p></html>");
    if (!pgr_sb_ok(&sb)) {
        srv_reply_text(req, status, msg);
        pgr_sb_free(&sb);
        return;
    }
    size_t len = sb.len;
    srv_reply_owned(req, status, "text/html; charset=utf-8", pgr_sb_steal(&sb), len, 0);
}

static void render_error_page(srv_request *req, int status, const char *title, const char *msg)
{
    json_t *d = json_pack("{s:s, s:i, s:s, s:s, s:b}", "page_title", title, "status", status,
                          "title", title, "message", msg, "server_fault", status >= 500);
    pgr_sb sb = {0};
    pgr_err err = {0};
    if (d && srv_request_id(req))
        json_object_set_new(d, "request_id", json_string(srv_request_id(req)));
    if (!d || !g_tmpl || tmpl_render(g_tmpl, "error", d, NULL, &sb, &err) != 0) {
        json_decref(d);
        pgr_sb_free(&sb);
        reply_plain_error(req, status, msg);
        return;
    }
    json_decref(d);
    size_t len = sb.len;
    srv_add_header(req, "Cache-Control", "no-store");
    srv_reply_owned(req, status, "text/html; charset=utf-8", pgr_sb_steal(&sb), len, 0);
}

void page_error(srv_request *req, int status, const char *title, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (status >= 500 && status != 503) {
        /* our fault: log the details, show the request id only */
        fprintf(stderr, "request %s: %d: %s\n", srv_request_id(req), status, msg);
        snprintf(msg, sizeof msg,
                 "Something went wrong on our side. If it keeps happening, quote request id %s.",
                 srv_request_id(req));
    }
    render_error_page(req, status, title, msg);
}

void page_store_error(srv_request *req, const pgr_err *err, const char *what)
{
    if (err->code == PGR_ENOTFOUND)
        page_error(req, 404, "Not found", "%s", err->msg);
    else if (err->code == PGR_EINVAL)
        page_error(req, 400, "Bad request", "%s", err->msg);
    else
        page_error(req, 500, "Server error", "%s: %s", what, err->msg);
}

pgr_store *page_store(srv_request *req)
{
    pgr_err err = {0};
    pgr_store *st = srv_store(req, &err);
    if (!st) {
        srv_add_header(req, "Retry-After", "5");
        page_error(req, 503, "Database unavailable",
                   "The graph database cannot be reached right now (%s). Please try again "
                   "shortly.",
                   err.msg);
    }
    return st;
}

static const char *const html_type = "text/html; charset=utf-8";

int page_cached(srv_request *req, const char *key, int64_t version)
{
    size_t len = 0;
    char etag[65];
    char *body = key ? api_cache_get(key, version, &len, etag) : NULL;
    srv_note_cache("page", body != NULL);
    if (!body)
        return 0;
    srv_reply_etag(req, etag);
    srv_reply_owned(req, 200, html_type, body, len, SRV_ETAG);
    return 1;
}

/* Renders tmpl with data (stolen; trust freed) into *body; on failure the
 * 5xx page has been answered and -1 returned. */
static int render_body(srv_request *req, const char *tmpl, json_t *data, tmpl_trust *trust,
                       char **body, size_t *len)
{
    pgr_sb sb = {0};
    pgr_err err = {0};
    if (!data) {
        tmpl_trust_free(trust);
        page_error(req, 500, "Server error", "%s: out of memory building the page", tmpl);
        return -1;
    }
    int rc = tmpl_render(g_tmpl, tmpl, data, trust, &sb, &err);
    json_decref(data);
    tmpl_trust_free(trust);
    if (rc != 0) {
        pgr_sb_free(&sb);
        page_error(req, 500, "Server error", "rendering %s: %s", tmpl, err.msg);
        return -1;
    }
    *len = sb.len;
    *body = pgr_sb_steal(&sb);
    return 0;
}

void page_render_keep(srv_request *req, const char *tmpl, json_t *data, tmpl_trust *trust,
                      const char *key, int64_t version)
{
    char *body;
    size_t len;
    if (render_body(req, tmpl, data, trust, &body, &len) != 0)
        return;
    if (key) {
        /* hashed once: the cache keeps the tag and the reply sends it */
        char etag[65];
        pgr_sha256_hex(body, len, etag);
        api_cache_put_tagged(key, version, body, len, etag);
        srv_reply_etag(req, etag);
    }
    srv_reply_owned(req, 200, html_type, body, len, SRV_ETAG);
}

void page_render(srv_request *req, int status, const char *tmpl, json_t *data, tmpl_trust *trust)
{
    char *body;
    size_t len;
    if (render_body(req, tmpl, data, trust, &body, &len) == 0)
        srv_reply_owned(req, status, html_type, body, len, SRV_ETAG);
}

void page_not_found(srv_request *req)
{
    page_error(req, 404, "Not found", "There is no page at %s.", srv_path(req));
}

/* ---- safe fragments ---------------------------------------------------------- */

json_t *page_snippet(tmpl_trust *trust, const char *marked)
{
    pgr_sb sb = {0};
    const char *p = marked;
    int open = 0;
    size_t ol = strlen(PAGE_HL_OPEN), cl = strlen(PAGE_HL_CLOSE);
    while (*p) {
        const char *o = strstr(p, PAGE_HL_OPEN), *c = strstr(p, PAGE_HL_CLOSE);
        const char *next = o && (!c || o < c) ? o : c;
        if (!next) {
            tmpl_escape_html(&sb, p, strlen(p));
            break;
        }
        tmpl_escape_html(&sb, p, (size_t)(next - p));
        if (next == o) {
            if (!open)
                pgr_sb_puts(&sb, "<mark>");
            open = 1;
            p = next + ol;
        } else {
            if (open)
                pgr_sb_puts(&sb, "</mark>");
            open = 0;
            p = next + cl;
        }
    }
    if (open)
        pgr_sb_puts(&sb, "</mark>");
    json_t *j = pgr_sb_ok(&sb) ? tmpl_safe(trust, sb.len ? sb.data : "") : NULL;
    pgr_sb_free(&sb);
    return j;
}

json_t *page_json_script(tmpl_trust *trust, const json_t *value)
{
    char *text = json_dumps(value, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (!text)
        return NULL;
    /* ENSURE_ASCII already turns U+2028/9 into \u escapes; '<' '>' '&' only
     * occur inside strings, where \u003c etc. mean the same */
    pgr_sb sb = {0};
    /* runs without those three characters are copied whole: a profile's
     * graph JSON is thousands of characters, and a call per character was
     * a quarter of this function */
    for (const char *p = text; *p;) {
        size_t run = strcspn(p, "<>&");
        pgr_sb_append(&sb, p, run);
        p += run;
        if (!*p)
            break;
        pgr_sb_puts(&sb, *p == '<' ? "\\u003c" : *p == '>' ? "\\u003e" : "\\u0026");
        p++;
    }
    free(text);
    json_t *j = pgr_sb_ok(&sb) ? tmpl_safe(trust, sb.data ? sb.data : "") : NULL;
    pgr_sb_free(&sb);
    return j;
}

const char *page_short_id(const char *id)
{
    const char *slash = strrchr(id, '/');
    return slash ? slash + 1 : id;
}

/* ---- static files ---------------------------------------------------------------- */

static void static_file(srv_request *req)
{
    const char *path = srv_param(req, "path");
    for (size_t i = 0; path && i < g_n_assets; i++)
        if (strcmp(g_assets[i].path, path) == 0) {
            srv_add_header(req, "Cache-Control", "public, max-age=3600");
            srv_reply_bytes(req, 200, g_assets[i].ctype, g_assets[i].data, g_assets[i].len,
                            SRV_ETAG);
            return;
        }
    page_not_found(req);
}

/* page_views.c */
void page_home(srv_request *req);
void page_search(srv_request *req);
void page_author(srv_request *req);
void page_work(srv_request *req);
void page_topic(srv_request *req);

const srv_route page_routes[] = {
    {"GET", "/", page_home, "page.home", 0, NULL},
    {"GET", "/search", page_search, "page.search", 0, NULL},
    {"GET", "/authors/{id}", page_author, "page.author", 0, NULL},
    {"GET", "/works/{id...}", page_work, "page.work", 0, NULL},
    {"GET", "/topics/{id}", page_topic, "page.topic", 0, NULL},
    {"GET", "/static/{path...}", static_file, "page.static", 0, NULL},
    {NULL, NULL, NULL, NULL, 0, NULL},
};
