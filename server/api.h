#ifndef PEERGRAPH_API_H
#define PEERGRAPH_API_H
/* The JSON API (/api/v1/...): OpenAlex's dialect over the graph store.
 * See ../shared/design/API.md and docs/openapi.yaml.
 *
 * Handlers parse and validate every parameter themselves (unknown parameters,
 * bad numbers, bad filters and search syntax are 400s naming the parameter)
 * before the store sees anything, translate OpenAlex's forms (full id URLs,
 * doi:/arxiv: ids, "per-page", "group-by", aliases of filter keys) into the
 * store's pgr_query, and turn the store's short keys ("W12") into id URLs
 * under the public base URL, as OpenAlex does. */
#include "graph/graph.h"
#include "server/http.h"

/* The route table, {NULL}-terminated; registered by cmd_serve. */
extern const srv_route api_routes[];

/* ---- entity response cache (api_cache.c) ----
 * Serialized entity bodies keyed by request (entity, id as sent, select) and
 * tagged with pgr_data_version: an entry is served only while the graph has
 * not changed since it was built. Thread-safe, bounded (4096 entries, 64 MiB,
 * bodies up to 256 KiB). get returns a malloc'd copy (NUL-terminated; *len
 * excludes the NUL) or NULL, and the body's SHA-256 in hex (for its ETag:
 * srv_reply_etag); put copies. */
char *api_cache_get(const char *key, int64_t version, size_t *len, char etag[65]);
void api_cache_put(const char *key, int64_t version, const char *body, size_t len);
/* put with the body's SHA-256 hex already computed (a caller that also
 * answers with it as the ETag hashes the body once) */
void api_cache_put_tagged(const char *key, int64_t version, const char *body, size_t len,
                          const char etag[65]);
/* both caches */
void api_cache_clear(void);
/* Search results (list requests with a search), the same way in a table of
 * their own (1024 entries, 32 MiB, bodies up to 256 KiB; no ETag: lists
 * are answered without one). Keyed by the normalised request
 * (api_search_key in api.c). */
char *api_search_cache_get(const char *key, int64_t version, size_t *len);
void api_search_cache_put(const char *key, int64_t version, const char *body, size_t len);

/* Answers 400 invalid_parameter and returns -1 when the query has a
 * parameter not in allowed ({NULL}-terminated; mailto and api_key are always
 * allowed) or one given twice; else 0. For the other modules' endpoints
 * under /api/v1 (recommendations). */
int api_only_params(srv_request *req, const char *const *allowed);

/* ---- pieces exposed for unit tests and the fuzz target ---- */

/* Normalises an id as a client may send it (short key, lower-case short key,
 * id URL under public_url or any host, https://doi.org/..., doi:..., bare
 * 10.x DOI, https://arxiv.org/abs/..., https://orcid.org/..., https://ror.org/...,
 * https://openalex.org/W...) to a form pgr_resolve_id knows. The result is
 * allocated in a. Returns NULL when raw is empty. */
const char *api_norm_id(pgr_arena *a, const char *public_url, const char *raw);

/* Rewrites, in place, every entity short key found where the API puts ids
 * ("id", "source"/"target" of graph edges, referenced_works, related_works,
 * merged_from; and group_by keys when keys_are_ids) into public_url + "/" + key.
 * Returns 0, -1 on out of memory. */
int api_rewrite_ids(json_t *j, const char *public_url, int keys_are_ids);

/* Parses the query parameters of a list endpoint for entity e into q (all
 * strings and arrays allocated in a). On bad input returns -1 with err
 * (PGR_EINVAL) naming the parameter. */
int api_parse_list(pgr_arena *a, const char *public_url, pgr_entity e, const srv_kv *kv, size_t n,
                   pgr_query *q, pgr_err *err);

#endif
