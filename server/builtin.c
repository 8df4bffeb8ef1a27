/* Routes the core itself serves: /healthz and /metrics. */
#include <string.h>

#include "server/builtin.h"
#include "server/http_impl.h"

/* Not behind the rate limit: load balancers and Prometheus poll these. */
static void healthz(srv_request *req)
{
    srv_server *srv = req->srv;
    pgr_err err = {0};
    uint64_t t0 = pgr_now_us();
    int rc = srv->cfg.db_ping ? srv->cfg.db_ping(req, srv->cfg.db_url, &err)
                              : pgr_errf(&err, PGR_EUNSUPPORTED, "no database check configured");
    uint64_t us = pgr_now_us() - t0;
    srv_note_db_time(req, us);
    if (rc != 0) {
        /* the message names the database, never credentials (db_ping's duty) */
        srv_add_header(req, "Retry-After", "5");
        srv_add_header(req, "Cache-Control", "no-store");
        srv_reply_error(req, 503, "database_unavailable", "%s", err.msg);
        return;
    }
    json_t *j = json_pack("{s:s, s:s, s:I}", "status", "ok", "database", "ok", "db_us",
                          (json_int_t)us);
    srv_add_header(req, "Cache-Control", "no-store");
    srv_reply_json(req, 200, j, SRV_NO_GZIP);
}

static void metrics(srv_request *req)
{
    char *text = srv_metrics_text(req->srv);
    if (!text) {
        srv_reply_internal(req, "out of memory rendering /metrics");
        return;
    }
    srv_reply_owned(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, strlen(text), 0);
}

/* GET /api/v1: the API's index, built from the route table, so clients and
 * people can see what this build serves. An entity response: ETag + 304. */
static void api_index(srv_request *req)
{
    json_t *eps = json_array();
    const srvp_router *r = &req->srv->router;
    for (size_t i = 0; i < r->n; i++) {
        const srv_route *rt = r->routes[i].route;
        if (strncmp(rt->pattern, "/api/", 5) != 0)
            continue;
        json_array_append_new(eps, json_pack("{s:s, s:s}", "method", rt->method, "path",
                                             rt->pattern));
    }
    json_t *j = json_pack("{s:s, s:s, s:s, s:o}", "name", "peergraph", "api", "v1", "base_url",
                          srv_public_url(req), "endpoints", eps);
    srv_reply_json(req, 200, j, SRV_ETAG);
}

const srv_route srv_builtin_routes[] = {
    {"GET", "/api/v1", api_index, "api.index", 0, NULL},
    {"GET", "/healthz", healthz, "healthz", SRV_ROUTE_NO_RATELIMIT, NULL},
    {"GET", "/metrics", metrics, "metrics", SRV_ROUTE_NO_RATELIMIT, NULL},
    {NULL, NULL, NULL, NULL, 0, NULL},
};

