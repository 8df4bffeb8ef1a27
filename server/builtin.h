#ifndef PEERGRAPH_SERVER_BUILTIN_H
#define PEERGRAPH_SERVER_BUILTIN_H
/* Route tables of server/ itself (see cmd_serve.c's route_tables[]). */
#include "server/http.h"

/* /healthz (database check via srv_config.db_ping) and /metrics. */
extern const srv_route srv_builtin_routes[];

/* Database check used by /healthz until the graph store provides one: opens
 * db_url directly (sqlite: read-only, never creating the file; postgres: a
 * libpq connection) and runs a trivial query. */
int srv_db_ping_direct(srv_request *req, const char *db_url, pgr_err *err);
#endif
