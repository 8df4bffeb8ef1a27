/* peergraph serve: options, route tables, signals. The HTTP core is http.c. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "graph/graph.h"
#include "server/api.h"
#include "server/api_infer.h"
#include "server/api_recs.h"
#include "server/builtin.h"
#include "server/http.h"
#include "server/page.h"

/* Every module that serves HTTP adds its {NULL}-terminated table here. When
 * two tables register the same method+pattern, serve refuses to start and
 * names both, so a module replacing a placeholder removes the placeholder's
 * line in the same commit. */
static const srv_route *const route_tables[] = {
    srv_builtin_routes,
    api_routes,
    infer_routes, /* answers 503 inference_unavailable until --model loads */
    recs_routes,  /* graph-only until --model loads (and the author has an adapter) */
    page_routes,
};

/* The per-thread store of the HTTP core (srv_store). */
static struct pgr_store *serve_store_open(const char *url, pgr_err *err)
{
    pgr_store *s = NULL;
    return pgr_store_open(url, &s, err) == 0 ? s : NULL;
}

static void usage(FILE *out, const srv_config *d)
{
    fprintf(out,
            "usage: peergraph serve [OPTIONS]\n"
            "\n"
            "Serves the JSON API (/api/v1/...), web pages, /healthz and /metrics over HTTP.\n"
            "Prints \"listening on http://HOST:PORT/\" when ready. SIGTERM or SIGINT: stop\n"
            "accepting, finish requests in flight (up to --shutdown-grace; a second signal\n"
            "ends the wait), exit 0.\n"
            "\n"
            "options:\n"
            "  --db URL              graph database: sqlite:PATH or postgres://... (default %s)\n"
            "  --host HOST           address to listen on (default %s; \"::1\" for IPv6)\n"
            "  --port N              port; 0 picks a free one and prints it (default %d)\n"
            "  --threads N           worker (pool) threads, each with its own database\n"
            "                        connection (default %u)\n"
            "  --model PATH          GGUF model for summaries and recommendations; inference\n"
            "                        starts only when given (recorded default %s)\n"
            "  --infer-threads N     inference engine threads (default 2)\n"
            "  --infer-active N      sequences batched at once (default 32)\n"
            "  --infer-queue N       waiting inference requests before 503 (default 64)\n"
            "  --infer-deadline S    seconds an inference request may take (default 120)\n"
            "  --adapter-budget MB   authors' adapters kept loaded, least recently used\n"
            "                        evicted first (default 256)\n"
            "  --device cpu|cuda     where the inference engine runs (default cpu)\n"
            "  --public-url URL      base of entity id URLs in responses\n"
            "                        (default http://HOST:PORT)\n"
            "  --access-log FILE     one JSON line per request (default: stderr; \"-\" = stderr;\n"
            "                        \"off\" = none)\n"
            "  --trust-proxy         behind a load balancer: the client IP (rate limit, log)\n"
            "                        is the last address in X-Forwarded-For\n"
            "  --web-root DIR        templates/ and static/ of the web pages (default: ./web,\n"
            "                        else the web/ folder of the checkout the binary is in)\n"
            "\n"
            "limits (a client over a limit gets the status in brackets):\n"
            "  --rate-limit R        requests per second per client IP; 0 = off (default %g) [429]\n"
            "  --rate-burst B        requests a client may send at once (default %g)\n"
            "  --max-conns N         open connections in total (default %u)\n"
            "  --max-conns-per-ip N  open connections per client IP (default %u)\n"
            "  --timeout SEC         idle/slow connection timeout (default %u)\n"
            "  --conn-memory BYTES   memory per connection; request line and headers must\n"
            "                        fit (default %zu)\n"
            "  --max-uri BYTES       request target length (default %zu) [414]\n"
            "  --max-header BYTES    request headers in total (default %zu) [431]\n"
            "  --max-body BYTES      request body (default %zu) [413; bodies on GET: 400]\n"
            "  --gzip-min BYTES      gzip bodies at least this long when the client accepts\n"
            "                        gzip (default %zu)\n"
            "  --shutdown-grace SEC  how long shutdown waits for requests in flight (default %u)\n"
            "  -h, --help            this help\n",
            PGR_DEFAULT_DB, d->host, d->port, d->threads, PGR_DEFAULT_MODEL, d->rate, d->burst,
            d->max_conns, d->max_conns_per_ip, d->timeout_s, d->conn_memory, d->max_uri,
            d->max_header_bytes, d->max_body, d->gzip_min, d->shutdown_grace_s);
}

/* During the grace period a second SIGINT/SIGTERM means "stop now". */
typedef struct hurry_ctx {
    srv_server *srv;
    sigset_t sigs;
} hurry_ctx;

static void *second_signal(void *p)
{
    hurry_ctx *h = p;
    int sig = 0;
    if (sigwait(&h->sigs, &sig) == 0) {
        fprintf(stderr, "peergraph serve: second signal: not waiting for requests in flight\n");
        srv_hurry(h->srv);
    }
    return NULL;
}

/* Parses an unsigned decimal in [lo, hi]; names the option on failure. */
static int parse_num(const char *opt, const char *s, unsigned long long lo, unsigned long long hi,
                     unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi) {
        fprintf(stderr, "peergraph serve: %s: '%s' is not a number in %llu..%llu\n", opt, s, lo,
                hi);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_rate(const char *opt, const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= 0) || v > 1e9) {
        fprintf(stderr, "peergraph serve: %s: '%s' is not a number >= 0\n", opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

enum {
    O_DB = 1000, O_HOST, O_PORT, O_THREADS, O_MODEL, O_PUBLIC_URL, O_ACCESS_LOG, O_RATE,
    O_BURST, O_MAX_CONNS, O_MAX_CONNS_IP, O_TIMEOUT, O_CONN_MEM, O_MAX_URI, O_MAX_HEADER,
    O_MAX_BODY, O_GZIP_MIN, O_GRACE, O_TRUST_PROXY, O_WEB_ROOT,
    O_INF_THREADS, O_INF_ACTIVE, O_INF_QUEUE, O_INF_DEADLINE, O_AD_BUDGET, O_DEVICE
};

int cmd_serve(int argc, char **argv)
{
    srv_config cfg;
    srv_config_defaults(&cfg);
    cfg.host = PGR_DEFAULT_HOST;
    cfg.port = PGR_DEFAULT_PORT;
    cfg.db_url = PGR_DEFAULT_DB;
    cfg.model_path = PGR_DEFAULT_MODEL;
    int model_given = 0; /* inference starts only with an explicit --model */
    infer_config icfg = {2, 32, 64, 120, 0, NULL, NULL};
    static const struct option opts[] = {
        {"db", required_argument, NULL, O_DB},
        {"host", required_argument, NULL, O_HOST},
        {"port", required_argument, NULL, O_PORT},
        {"threads", required_argument, NULL, O_THREADS},
        {"model", required_argument, NULL, O_MODEL},
        {"public-url", required_argument, NULL, O_PUBLIC_URL},
        {"access-log", required_argument, NULL, O_ACCESS_LOG},
        {"rate-limit", required_argument, NULL, O_RATE},
        {"rate-burst", required_argument, NULL, O_BURST},
        {"max-conns", required_argument, NULL, O_MAX_CONNS},
        {"max-conns-per-ip", required_argument, NULL, O_MAX_CONNS_IP},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"conn-memory", required_argument, NULL, O_CONN_MEM},
        {"max-uri", required_argument, NULL, O_MAX_URI},
        {"max-header", required_argument, NULL, O_MAX_HEADER},
        {"max-body", required_argument, NULL, O_MAX_BODY},
        {"gzip-min", required_argument, NULL, O_GZIP_MIN},
        {"shutdown-grace", required_argument, NULL, O_GRACE},
        {"trust-proxy", no_argument, NULL, O_TRUST_PROXY},
        {"web-root", required_argument, NULL, O_WEB_ROOT},
        {"infer-threads", required_argument, NULL, O_INF_THREADS},
        {"infer-active", required_argument, NULL, O_INF_ACTIVE},
        {"infer-queue", required_argument, NULL, O_INF_QUEUE},
        {"infer-deadline", required_argument, NULL, O_INF_DEADLINE},
        {"adapter-budget", required_argument, NULL, O_AD_BUDGET},
        {"device", required_argument, NULL, O_DEVICE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    srv_config defaults = cfg;
    const char *web_root = NULL;
    unsigned long long v;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        const char *name = NULL;
        for (const struct option *o = opts; o->name; o++)
            if (o->val == c)
                name = o->name;
        char optname[40];
        snprintf(optname, sizeof optname, "--%s", name ? name : "?");
        switch (c) {
        case 'h':
            usage(stdout, &defaults);
            return 0;
        case O_DB: cfg.db_url = optarg; break;
        case O_HOST: cfg.host = optarg; break;
        case O_MODEL: cfg.model_path = optarg, model_given = 1; break;
        case O_PUBLIC_URL: cfg.public_url = optarg; break;
        case O_ACCESS_LOG: cfg.access_log = optarg; break;
        case O_TRUST_PROXY: cfg.trust_proxy = 1; break;
        case O_WEB_ROOT: web_root = optarg; break;
        case O_DEVICE:
            if (pgr_device_check("peergraph serve", optarg))
                return 2;
            icfg.device = optarg;
            break;
        case O_INF_THREADS:
        case O_INF_ACTIVE:
        case O_INF_QUEUE:
        case O_INF_DEADLINE:
            if (parse_num(optname, optarg, c == O_INF_QUEUE ? 0 : 1, c == O_INF_DEADLINE ? 86400 : 4096,
                          &v))
                return 2;
            if (c == O_INF_THREADS)
                icfg.threads = (int)v;
            else if (c == O_INF_ACTIVE)
                icfg.max_active = (int)v;
            else if (c == O_INF_QUEUE)
                icfg.max_queue = (int)v;
            else
                icfg.deadline_s = (unsigned)v;
            break;
        case O_AD_BUDGET:
            if (parse_num(optname, optarg, 1, 1 << 20, &v))
                return 2;
            icfg.adapter_budget = (size_t)v << 20;
            break;
        case O_RATE:
            if (parse_rate(optname, optarg, &cfg.rate))
                return 2;
            break;
        case O_BURST:
            if (parse_rate(optname, optarg, &cfg.burst))
                return 2;
            break;
        case O_PORT:
            if (parse_num(optname, optarg, 0, 65535, &v))
                return 2;
            cfg.port = (int)v;
            break;
        case O_THREADS:
            if (parse_num(optname, optarg, 1, 256, &v))
                return 2;
            cfg.threads = (unsigned)v;
            break;
        case O_MAX_CONNS:
            if (parse_num(optname, optarg, 1, 1000000, &v))
                return 2;
            cfg.max_conns = (unsigned)v;
            break;
        case O_MAX_CONNS_IP:
            if (parse_num(optname, optarg, 1, 1000000, &v))
                return 2;
            cfg.max_conns_per_ip = (unsigned)v;
            break;
        case O_TIMEOUT:
            if (parse_num(optname, optarg, 1, 86400, &v))
                return 2;
            cfg.timeout_s = (unsigned)v;
            break;
        case O_CONN_MEM:
            if (parse_num(optname, optarg, 4096, 64ull << 20, &v))
                return 2;
            cfg.conn_memory = (size_t)v;
            break;
        case O_MAX_URI:
            if (parse_num(optname, optarg, 16, 1ull << 20, &v))
                return 2;
            cfg.max_uri = (size_t)v;
            break;
        case O_MAX_HEADER:
            if (parse_num(optname, optarg, 256, 1ull << 20, &v))
                return 2;
            cfg.max_header_bytes = (size_t)v;
            break;
        case O_MAX_BODY:
            if (parse_num(optname, optarg, 0, 1ull << 30, &v))
                return 2;
            cfg.max_body = (size_t)v;
            break;
        case O_GZIP_MIN:
            if (parse_num(optname, optarg, 0, 1ull << 30, &v))
                return 2;
            cfg.gzip_min = (size_t)v;
            break;
        case O_GRACE:
            if (parse_num(optname, optarg, 0, 3600, &v))
                return 2;
            cfg.shutdown_grace_s = (unsigned)v;
            break;
        default:
            fprintf(stderr, "peergraph serve: see peergraph serve --help\n");
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "peergraph serve: unexpected argument '%s' (see --help)\n", argv[optind]);
        return 2;
    }
    /* the per-connection pool must hold the request line and the headers we allow */
    if (cfg.conn_memory < cfg.max_uri + cfg.max_header_bytes + 1024)
        fprintf(stderr,
                "peergraph serve: note: --conn-memory %zu is below --max-uri + --max-header; "
                "libmicrohttpd answers the largest requests itself\n",
                cfg.conn_memory);
    cfg.db_ping = srv_db_ping_direct; /* a fresh connection: checks the database itself */

    /* Bring the schema up to date once, before any worker opens the store.
     * A database newer than this binary is refused; one that cannot be
     * reached is not fatal: the server starts and /healthz answers 503
     * until it can be reached. */
    {
        int from = 0, to = 0;
        pgr_err merr = {0};
        if (pgr_migrate(cfg.db_url, &from, &to, &merr) != 0) {
            if (merr.code == PGR_EVERSION || merr.code == PGR_EINVAL) {
                fprintf(stderr, "peergraph serve: %s\n", merr.msg);
                return 2;
            }
            fprintf(stderr, "peergraph serve: warning: database not ready (%s); /healthz "
                            "answers 503 until it is\n", merr.msg);
        } else if (from != to) {
            fprintf(stderr, "peergraph serve: migrated the database from version %d to %d\n",
                    from, to);
        }
    }
    cfg.store_open = serve_store_open; /* per pool thread, for the pages */
    cfg.store_close = pgr_store_close;

    int rc = 2;
    pgr_err err = {0};
    srv_server *srv = NULL;
    /* Only this thread takes SIGINT/SIGTERM (sigwait below); the pool threads
     * inherit the blocked mask. SIGPIPE from a closed client socket is ignored. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (page_init(web_root, &err) != 0)
        goto fail;
    srv = srv_new(&cfg, &err);
    if (!srv)
        goto fail;
    srv_set_not_found(srv, page_not_found);
    for (size_t i = 0; i < sizeof route_tables / sizeof route_tables[0]; i++)
        if (srv_add_routes(srv, route_tables[i], &err) != 0)
            goto fail;
    /* The model loads before the first request; a missing file only leaves
     * inference unavailable (503), the graph is still served. */
    if (model_given) {
        pgr_err ierr = {0};
        icfg.db_url = cfg.db_url;
        if (infer_start(cfg.model_path, &icfg, &ierr) != 0)
            fprintf(stderr, "peergraph serve: inference unavailable: %s\n", ierr.msg);
    }
    if (srv_start(srv, &err) != 0)
        goto fail;
    if (strchr(cfg.host, ':'))
        printf("listening on http://[%s]:%d/\n", cfg.host, srv_port(srv));
    else
        printf("listening on http://%s:%d/\n", cfg.host, srv_port(srv));
    fflush(stdout);

    int sig = 0;
    sigwait(&sigs, &sig);
    fprintf(stderr, "peergraph serve: %s: finishing requests in flight\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM");
    hurry_ctx hurry = {srv, sigs};
    pthread_t th;
    int have_th = pthread_create(&th, NULL, second_signal, &hurry) == 0;
    srv_stop(srv);
    if (have_th) { /* sigwait is a cancellation point: it is gone before srv is */
        pthread_cancel(th);
        pthread_join(th, NULL);
    }
    infer_stop(); /* answers what is still running before the requests go */
    srv_free(srv);
    page_shutdown();
    fprintf(stderr, "peergraph serve: stopped\n");
    return 0;
fail:
    fprintf(stderr, "peergraph serve: %s\n", err.msg);
    if (srv)
        srv_stop(srv);
    infer_stop();
    srv_free(srv);
    page_shutdown();
    return rc;
}
