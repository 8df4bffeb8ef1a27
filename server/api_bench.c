/* `peergraph bench http`: H1 and H2 of BENCHMARKS.md.
 *
 *   H1  GET one author (JSON), peergraph vs nginx serving the same bytes as a
 *       static file: requests/s, p99, ratio (target >= 0.5x, p99 <= 5 ms)
 *   H2  search works by text, 20 results: requests/s, p99 (target p99 <= 20 ms)
 *   H3  the profile page (HTML) of the author whose works count is nearest
 *       500 from below, vs nginx serving the same bytes (target >= 0.3x, p99
 *       <= 10 ms)
 *
 * Generates the graph (1M works / 300k authors by default) into a SQLite file
 * unless --db names a populated one, starts `peergraph serve` and nginx on
 * loopback, and drives both with wrk (64 connections, 30 s), alternating
 * peergraph and nginx, --reps times; reports medians. Prints one JSON line
 * per benchmark and a table. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "server/api_gen.h"

typedef struct bench_opts {
    const char *db;
    long works, authors;
    int duration, connections, reps, threads;
    int keep;
} bench_opts;

typedef struct wrk_result {
    double rps, p99_ms;
} wrk_result;

/* A free loopback port: bind 0, read it back, close. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t n = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &n) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* Starts `peergraph serve` (this binary); returns its pid and port. */
static pid_t start_server(const char *db, int threads, const char *log, int *port)
{
    int pfd[2];
    if (pipe(pfd) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pfd[1], 1);
        FILE *lf = fopen(log, "w"); /* the server's own messages, kept out of the table */
        if (lf)
            dup2(fileno(lf), 2);
        close(pfd[0]);
        close(pfd[1]);
        char th[16];
        snprintf(th, sizeof th, "%d", threads);
        char *argv[] = {"peergraph",
                        "serve",
                        "--db",
                        (char *)db,
                        "--host",
                        "127.0.0.1",
                        "--port",
                        "0",
                        "--rate-limit",
                        "0",
                        "--access-log", /* as nginx's "access_log off" */
                        "off",
                        /* wrk's 64 connections all come from 127.0.0.1, and a
                         * reconnect may briefly overlap the closing socket: the
                         * per-IP limit must not be what is measured */
                        "--max-conns-per-ip",
                        "1024",
                        "--max-conns",
                        "2048",
                        threads > 0 ? "--threads" : NULL,
                        th,
                        NULL};
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    close(pfd[1]);
    if (pid < 0) {
        close(pfd[0]);
        return -1;
    }
    FILE *f = fdopen(pfd[0], "r");
    char line[512];
    *port = -1;
    while (f && fgets(line, sizeof line, f)) {
        char *p = strstr(line, "listening on http://127.0.0.1:");
        if (p) {
            *port = atoi(p + strlen("listening on http://127.0.0.1:"));
            break;
        }
    }
    if (f)
        fclose(f); /* the server's later stdout lines go nowhere: it prints none */
    if (*port <= 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    return pid;
}

static void stop_child(pid_t pid, int sig)
{
    if (pid > 0) {
        kill(pid, sig);
        waitpid(pid, NULL, 0);
    }
}

/* Runs a shell command, returning its whole stdout (malloc'd) or NULL. */
static char *run_capture(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return NULL;
    pgr_sb sb = {0};
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0)
        pgr_sb_append(&sb, buf, n);
    int rc = pclose(p);
    if (rc != 0 || !pgr_sb_ok(&sb)) {
        pgr_sb_free(&sb);
        return NULL;
    }
    return pgr_sb_steal(&sb);
}

static double to_ms(double v, const char *unit)
{
    if (!strncmp(unit, "us", 2))
        return v / 1000.0;
    if (!strncmp(unit, "ms", 2))
        return v;
    if (!strncmp(unit, "s", 1))
        return v * 1000.0;
    return v;
}

/* wrk --latency output: "Requests/sec:  12345.67" and " 99%    1.23ms". */
static int run_wrk(const bench_opts *o, const char *url, const char *script, wrk_result *r)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "wrk -t2 -c%d -d%ds --timeout 10s --latency %s%s '%s' 2>&1",
             o->connections, o->duration, script ? "-s " : "", script ? script : "", url);
    char *out = run_capture(cmd);
    if (!out)
        return -1;
    char *rps = strstr(out, "Requests/sec:");
    char *p99 = strstr(out, " 99%");
    char *non2xx = strstr(out, "Non-2xx");
    int rc = -1;
    if (rps && p99 && !non2xx) {
        double v;
        char unit[8] = "";
        r->rps = strtod(rps + strlen("Requests/sec:"), NULL);
        if (sscanf(p99 + 4, " %lf%7s", &v, unit) == 2) {
            r->p99_ms = to_ms(v, unit);
            rc = 0;
        }
    }
    if (rc < 0)
        fprintf(stderr, "bench http: wrk on %s failed:\n%s\n", url, out);
    free(out);
    return rc;
}

/* After a wrk run the server may still be working through requests whose
 * clients wrk has closed (slow searches): wait until only the probe itself is
 * in flight, so the next measurement starts on an idle server. */
static void wait_idle(int port)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd,
             "curl -s --max-time 5 http://127.0.0.1:%d/metrics | "
             "awk '/^peergraph_http_in_flight /{print $2}'",
             port);
    for (int i = 0; i < 600; i++) {
        char *out = run_capture(cmd);
        double n = out ? strtod(out, NULL) : 0;
        free(out);
        if (n <= 1)
            return;
        usleep(200000);
    }
    fprintf(stderr, "bench http: the server stayed busy for 2 minutes after a run\n");
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    int ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static pid_t start_nginx(const char *dir, int port)
{
    char conf[4096], path[1024];
    snprintf(conf, sizeof conf,
             "worker_processes 2;\n"
             "daemon off;\n"
             "pid %s/nginx.pid;\n"
             "error_log %s/nginx-error.log;\n"
             "%s"
             "events { worker_connections 1024; }\n"
             "http {\n"
             "  access_log off;\n"
             "  default_type application/json;\n"
             "  types { text/html html; application/json json; }\n"
             "  client_body_temp_path %s/tmp; proxy_temp_path %s/tmp; fastcgi_temp_path %s/tmp;\n"
             "  uwsgi_temp_path %s/tmp; scgi_temp_path %s/tmp;\n"
             "  server { listen 127.0.0.1:%d; root %s/www; location / { } }\n"
             "}\n",
             dir, dir, getuid() == 0 ? "user root;\n" : "", dir, dir, dir, dir, dir, port, dir);
    snprintf(path, sizeof path, "%s/nginx.conf", dir);
    if (write_file(path, conf) < 0)
        return -1;
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s/tmp", dir);
    mkdir(tmp, 0755);
    pid_t pid = fork();
    if (pid == 0) {
        char *argv[] = {"nginx", "-e", NULL, "-p", (char *)dir, "-c", path, NULL};
        char elog[1024];
        snprintf(elog, sizeof elog, "%s/nginx-error.log", dir);
        argv[2] = elog;
        execvp("nginx", argv);
        execv("/usr/sbin/nginx", argv);
        _exit(127);
    }
    /* wait until it answers */
    for (int i = 0; i < 100 && pid > 0; i++) {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "curl -sf -o /dev/null http://127.0.0.1:%d/author.json", port);
        if (system(cmd) == 0)
            return pid;
        usleep(100000);
    }
    stop_child(pid, SIGKILL);
    return -1;
}

static const char *h2_script =
    "local qs = {'graph', 'neural%20network', 'language%20model', 'retrieval', 'attention',\n"
    "  'sparse%20attention', 'adapter', 'citation%20graph', 'efficient%20serving', 'robust',\n"
    "  'diffusion%20model', 'knowledge%20graph', 'protein', 'quantized', 'federated%20privacy',\n"
    "  'policy%20reward', 'token*', 'transformer%20OR%20attention', 'scal*', 'gpu%20kernel'}\n"
    "local i = 0\n"
    "request = function()\n"
    "  i = i + 1\n"
    "  return wrk.format('GET', '/api/v1/works?per-page=20&search=' .. qs[(i % #qs) + 1])\n"
    "end\n";

static int bench_http_run(const bench_opts *o)
{
    char dir[] = "/tmp/peergraph-bench-http.XXXXXX";
    char path[1024], url[512], db[1200];
    pid_t srv = -1, ngx = -1;
    int rc = 1, port = -1, nport = -1;
    long h3_works = 0;
    if (!mkdtemp(dir)) {
        fprintf(stderr, "bench http: mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    chmod(dir, 0755); /* nginx workers read www/ */
    if (o->db) {
        snprintf(db, sizeof db, "%s", o->db);
    } else {
        snprintf(db, sizeof db, "sqlite:%s/graph.db", dir);
        pgr_store *s = NULL;
        pgr_err err = {0};
        api_gen_opts g = {.works = o->works, .authors = o->authors, .seed = 1, .progress = 1};
        uint64_t t0 = pgr_now_us();
        if (pgr_store_open(db, &s, &err) < 0 || api_gen_graph(s, &g, &err) < 0) {
            fprintf(stderr, "bench http: generating the graph: %s\n", err.msg);
            pgr_store_close(s);
            goto cleanup;
        }
        pgr_store_close(s);
        fprintf(stderr, "bench http: generated %ld works, %ld authors in %.0f s\n", o->works,
                o->authors, (double)(pgr_now_us() - t0) / 1e6);
    }
    char slog[1100];
    snprintf(slog, sizeof slog, "%s/serve.log", dir);
    srv = start_server(db, o->threads, slog, &port);
    if (srv < 0) {
        fprintf(stderr, "bench http: peergraph serve did not start (%s)\n", slog);
        goto cleanup;
    }
    /* the bytes nginx serves: exactly the server's answer for the author */
    snprintf(path, sizeof path, "%s/www", dir);
    mkdir(path, 0755);
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "curl -sf -o %s/www/author.json http://127.0.0.1:%d/api/v1/authors/A1", dir, port);
    if (system(cmd) != 0) {
        fprintf(stderr, "bench http: GET /api/v1/authors/A1 failed\n");
        goto cleanup;
    }
    /* H3's author: the most works at or under 500 (BENCHMARKS.md: "an author
     * with 500 works"), found through the API itself */
    char h3_author[64] = "";
    {
        snprintf(cmd, sizeof cmd,
                 "curl -sf 'http://127.0.0.1:%d/api/v1/authors?filter=works_count:%%3C501"
                 "&sort=works_count:desc&per-page=1&select=id,works_count'",
                 port);
        char *out = run_capture(cmd);
        json_t *j = out ? json_loads(out, 0, NULL) : NULL;
        json_t *a = json_array_get(json_object_get(j, "results"), 0);
        const char *id = json_string_value(json_object_get(a, "id"));
        const char *slash = id ? strrchr(id, '/') : NULL;
        if (slash)
            snprintf(h3_author, sizeof h3_author, "%s", slash + 1);
        h3_works = (long)json_integer_value(json_object_get(a, "works_count"));
        json_decref(j);
        free(out);
        if (!h3_author[0]) {
            fprintf(stderr, "bench http: no author for H3 (GET /api/v1/authors failed)\n");
            goto cleanup;
        }
        snprintf(cmd, sizeof cmd,
                 "curl -sf -o %s/www/author.html http://127.0.0.1:%d/authors/%s", dir, port,
                 h3_author);
        if (system(cmd) != 0) {
            fprintf(stderr, "bench http: GET /authors/%s failed\n", h3_author);
            goto cleanup;
        }
    }
    nport = free_port();
    ngx = start_nginx(dir, nport);
    if (ngx < 0) {
        fprintf(stderr, "bench http: nginx did not start (see %s/nginx-error.log)\n", dir);
        goto cleanup;
    }
    snprintf(path, sizeof path, "%s/h2.lua", dir);
    if (write_file(path, h2_script) < 0)
        goto cleanup;

    double h1_pg[32], h1_pg99[32], h1_ng[32], h1_ng99[32], h2[32], h2_99[32];
    double h3_pg[32], h3_pg99[32], h3_ng[32], h3_ng99[32];
    int reps = o->reps;
    for (int r = 0; r < reps; r++) {
        wrk_result a, b, c, d, e;
        snprintf(url, sizeof url, "http://127.0.0.1:%d/api/v1/authors/A1", port);
        wait_idle(port);
        if (run_wrk(o, url, NULL, &a) < 0)
            goto cleanup;
        snprintf(url, sizeof url, "http://127.0.0.1:%d/author.json", nport);
        if (run_wrk(o, url, NULL, &b) < 0)
            goto cleanup;
        snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
        wait_idle(port);
        if (run_wrk(o, url, path, &c) < 0)
            goto cleanup;
        snprintf(url, sizeof url, "http://127.0.0.1:%d/authors/%s", port, h3_author);
        wait_idle(port);
        if (run_wrk(o, url, NULL, &d) < 0)
            goto cleanup;
        snprintf(url, sizeof url, "http://127.0.0.1:%d/author.html", nport);
        if (run_wrk(o, url, NULL, &e) < 0)
            goto cleanup;
        h1_pg[r] = a.rps, h1_pg99[r] = a.p99_ms, h1_ng[r] = b.rps, h1_ng99[r] = b.p99_ms;
        h2[r] = c.rps, h2_99[r] = c.p99_ms;
        h3_pg[r] = d.rps, h3_pg99[r] = d.p99_ms, h3_ng[r] = e.rps, h3_ng99[r] = e.p99_ms;
        fprintf(stderr,
                "bench http: rep %d/%d: H1 peergraph %.0f req/s p99 %.2f ms, nginx %.0f req/s "
                "p99 %.2f ms; H2 %.0f req/s p99 %.2f ms; H3 peergraph %.0f req/s p99 %.2f ms, "
                "nginx %.0f req/s p99 %.2f ms\n",
                r + 1, reps, a.rps, a.p99_ms, b.rps, b.p99_ms, c.rps, c.p99_ms, d.rps, d.p99_ms,
                e.rps, e.p99_ms);
    }
    double q = median(h3_pg, reps), q99 = median(h3_pg99, reps), m = median(h3_ng, reps),
           m99 = median(h3_ng99, reps);
    double p = median(h1_pg, reps), p99 = median(h1_pg99, reps), n = median(h1_ng, reps),
           n99 = median(h1_ng99, reps), s = median(h2, reps), s99 = median(h2_99, reps);
    printf(
        "{\"bench\":\"H1\",\"what\":\"GET one author (JSON)\",\"rps\":%.0f,\"p99_ms\":%.2f,"
        "\"nginx_rps\":%.0f,\"nginx_p99_ms\":%.2f,\"ratio\":%.3f,\"target\":\">= 0.5x, p99 <= "
        "5 ms\",\"works\":%ld,\"authors\":%ld,\"connections\":%d,\"duration_s\":%d,\"reps\":%d}\n",
        p, p99, n, n99, n > 0 ? p / n : 0, o->works, o->authors, o->connections, o->duration, reps);
    printf("{\"bench\":\"H2\",\"what\":\"search works by text, 20 results\",\"rps\":%.0f,"
           "\"p99_ms\":%.2f,\"target\":\"p99 <= 20 ms\",\"works\":%ld,\"authors\":%ld,"
           "\"connections\":%d,\"duration_s\":%d,\"reps\":%d}\n",
           s, s99, o->works, o->authors, o->connections, o->duration, reps);
    printf("{\"bench\":\"H3\",\"what\":\"author profile page (HTML)\",\"author\":\"%s\","
           "\"author_works\":%ld,\"rps\":%.0f,\"p99_ms\":%.2f,\"nginx_rps\":%.0f,"
           "\"nginx_p99_ms\":%.2f,\"ratio\":%.3f,\"target\":\">= 0.3x, p99 <= 10 ms\","
           "\"works\":%ld,\"authors\":%ld,\"connections\":%d,\"duration_s\":%d,\"reps\":%d}\n",
           h3_author, h3_works, q, q99, m, m99, m > 0 ? q / m : 0, o->works, o->authors,
           o->connections, o->duration, reps);
    printf("\n%-4s %-36s %12s %10s %12s %10s %7s\n", "id", "what", "req/s", "p99 ms", "nginx req/s",
           "nginx p99", "ratio");
    printf("%-4s %-36s %12.0f %10.2f %12.0f %10.2f %6.2fx\n", "H1", "GET one author (JSON)", p, p99,
           n, n99, n > 0 ? p / n : 0);
    printf("%-4s %-36s %12.0f %10.2f %12s %10s %7s\n", "H2", "search works, 20 results", s, s99,
           "-", "-", "-");
    printf("%-4s %-36s %12.0f %10.2f %12.0f %10.2f %6.2fx\n", "H3", "author page (HTML)", q, q99, m,
           m99, m > 0 ? q / m : 0);
    rc = 0;
cleanup:
    stop_child(srv, SIGTERM);
    stop_child(ngx, SIGQUIT);
    if (!o->keep) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "bench http: could not remove %s\n", dir);
    } else {
        fprintf(stderr, "bench http: kept %s\n", dir);
    }
    return rc;
}

int api_bench_http_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},
        {"works", required_argument, NULL, 'w'},
        {"authors", required_argument, NULL, 'a'},
        {"duration", required_argument, NULL, 't'},
        {"connections", required_argument, NULL, 'c'},
        {"reps", required_argument, NULL, 'r'},
        {"threads", required_argument, NULL, 'T'},
        {"keep", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bench_opts o = {
        .works = 1000000, .authors = 300000, .duration = 30, .connections = 64, .reps = 5};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        long v = optarg ? strtol(optarg, NULL, 10) : 0;
        switch (c) {
        case 'd':
            o.db = optarg;
            break;
        case 'w':
            o.works = v;
            break;
        case 'a':
            o.authors = v;
            break;
        case 't':
            o.duration = (int)v;
            break;
        case 'c':
            o.connections = (int)v;
            break;
        case 'r':
            o.reps = (int)v;
            break;
        case 'T':
            o.threads = (int)v;
            break;
        case 'k':
            o.keep = 1;
            break;
        case 'h':
            printf(
                "usage: peergraph bench http [--works N] [--authors M] [--db URL] [--duration S]\n"
                "       [--connections C] [--reps R] [--threads T] [--keep]\n"
                "H1 (GET one author vs nginx serving the same bytes), H2 (search, 20\n"
                "results) and H3 (the profile page of an author with about 500 works vs\n"
                "nginx) with wrk on loopback. Defaults: 1000000 works, 300000 authors\n"
                "generated into a temporary SQLite file (--db: use that populated graph),\n"
                "64 connections, 30 s, 5 repetitions (medians reported).\n");
            return 0;
        default:
            return 2;
        }
    }
    if (o.works <= 0 || o.authors <= 0 || o.duration <= 0 || o.connections <= 0 || o.reps <= 0 ||
        o.reps > 32 || o.threads < 0) {
        fprintf(stderr, "peergraph bench http: bad option value (see --help)\n");
        return 2;
    }
    return bench_http_run(&o);
}
