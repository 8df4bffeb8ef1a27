/* peergraph ingest: files and directories -> the graph, for a nightly cron.
 * Exit codes: 0 all good, 1 some files rejected (the rest ingested),
 * 2 usage error or database unreachable. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "graph/graph.h"
#include "indexer/builder.h"
#include "indexer/ingest.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: peergraph ingest [OPTIONS] FILE|DIR...\n"
            "\n"
            "Reads profile pages and paper metadata (arXiv, OpenAlex, Semantic Scholar,\n"
            "ORCID, DBLP XML, BibTeX; gzip or plain) into the graph. Directories are\n"
            "walked recursively in sorted order. Each file is one transaction: it lands\n"
            "whole or not at all. A file whose bytes are unchanged since it was last\n"
            "ingested (same sha256 for the same path) is skipped; a changed file\n"
            "replaces the facts it asserted.\n"
            "\n"
            "options:\n"
            "  --db URL          graph database: sqlite:PATH or postgres://... (default %s)\n"
            "  --format NAME     parse every file as NAME instead of detecting the format\n"
            "  --owner NAME      the owner of the profile pages given (overrides the header\n"
            "                    or the inference)\n"
            "  --as-of DATE      capture date YYYY-MM-DD of the files (default: each file's\n"
            "                    modification date, UTC); dates without a year on a page are\n"
            "                    the latest such date not after it\n"
            "  --wait            wait for another ingest run on the same database to finish\n"
            "                    (default: exit 2 at once with a message)\n"
            "  --unmerge ID      undo the author merge ID (see the merge's evidence in the\n"
            "                    author_merges table / the API) and exit\n"
            "  --no-keywords     do not recompute the keyword topics at the end of the run\n"
            "                    (docs/keywords.md; for bulk loads done in several runs)\n"
            "  --bulk MODE       auto (default): a file of 4 MiB or more that could hold as\n"
            "                    many works as the graph has is loaded with the graph's\n"
            "                    sort/filter indexes dropped and rebuilt before its commit;\n"
            "                    always: every file so; never: none. The graph is the same.\n"
            "  --search-index MODE\n"
            "                    the top-k search index after the files (SQLite):\n"
            "                    auto (default): build it when there is none, refresh the\n"
            "                    works changed since it was built, rebuild when they are a\n"
            "                    quarter of the graph or more; refresh; rebuild; skip (a\n"
            "                    search ranks every match once 1024 works are changed)\n"
            "  --list-formats    print the formats this binary reads and exit\n"
            "  -q, --quiet       no progress bar even on a terminal\n"
            "  -h, --help        this help\n"
            "\n"
            "output: one line per rejected file on stderr (\"peergraph ingest: PATH: reason\",\n"
            "with line or byte offset), then one summary line on stdout:\n"
            "  ingest: files N (ingested N, unchanged N, rejected N), records N, works added N,\n"
            "  updated N, authors added N, merges N, errors N, search index ACTION, S.SS s\n"
            "(ACTION: current, refreshed (N works, S.SS s), built/rebuilt (N works, S.SS s),\n"
            "skipped (N changed works); absent on PostgreSQL)\n"
            "A progress bar is drawn on stderr only when it is a terminal.\n"
            "\n"
            "exit status: 0 all files ingested or unchanged; 1 some files rejected (the\n"
            "others are ingested); 2 usage error, database unreachable or locked.\n",
            PGR_DEFAULT_DB);
}

/* ---- file list ----------------------------------------------------------- */

typedef struct path_list {
    char **v;
    size_t n, cap;
} path_list;

static int pl_push(path_list *pl, const char *p)
{
    if (pl->n == pl->cap) {
        size_t cap = pl->cap ? pl->cap * 2 : 64;
        char **nv = realloc(pl->v, cap * sizeof *nv);
        if (!nv)
            return -1;
        pl->v = nv;
        pl->cap = cap;
    }
    pl->v[pl->n] = strdup(p);
    if (!pl->v[pl->n])
        return -1;
    pl->n++;
    return 0;
}

static int cmp_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name); /* bytewise: the same order everywhere */
}

/* Appends the regular files under path (itself if a file), sorted, skipping
 * dot files. depth bounds symlink loops. */
static int walk(const char *path, path_list *pl, int depth, pgr_err *err)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return pgr_errf(err, PGR_EIO, "%s: %s", path, strerror(errno));
    if (S_ISREG(st.st_mode))
        return pl_push(pl, path) < 0 ? pgr_errf(err, PGR_ENOMEM, "out of memory") : 0;
    if (!S_ISDIR(st.st_mode))
        return pgr_errf(err, PGR_EINVAL, "%s: not a file or directory", path);
    if (depth > 32)
        return pgr_errf(err, PGR_EINVAL, "%s: directories nested too deep", path);
    struct dirent **ents = NULL;
    int n = scandir(path, &ents, NULL, cmp_name);
    if (n < 0)
        return pgr_errf(err, PGR_EIO, "%s: %s", path, strerror(errno));
    int rc = 0;
    for (int i = 0; i < n; i++) {
        if (rc == 0 && ents[i]->d_name[0] != '.') {
            size_t len = strlen(path);
            char *child = malloc(len + strlen(ents[i]->d_name) + 2);
            if (!child) {
                rc = pgr_errf(err, PGR_ENOMEM, "out of memory");
            } else {
                sprintf(child, "%s%s%s", path, len && path[len - 1] == '/' ? "" : "/",
                        ents[i]->d_name);
                rc = walk(child, pl, depth + 1, err);
                free(child);
            }
        }
        free(ents[i]);
    }
    free(ents);
    return rc;
}

static int valid_ymd(const char *d)
{
    int y, m, day;
    char tail;
    if (!d || strlen(d) != 10 || sscanf(d, "%4d-%2d-%2d%c", &y, &m, &day, &tail) != 3)
        return 0;
    if (d[4] != '-' || d[7] != '-' || y < 1900 || y > 9999 || m < 1 || m > 12 || day < 1)
        return 0;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (day > mdays[m - 1])
        return 0;
    if (m == 2 && day == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 0;
    return 1;
}

/* Progress bar on a terminal: [#####.....] done/total name */
static void progress(size_t done, size_t total, const char *name)
{
    int width = 30, fill = total ? (int)(done * (size_t)width / total) : width;
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    fprintf(stderr, "\r[%.*s%*s] %zu/%zu %-40.40s", fill, "##############################",
            width - fill, "", done, total, base);
    fflush(stderr);
}

int ix_ingest_paths(const ix_ingest_opts *o, char *const *paths, size_t n_paths,
                    ix_stats *stats_out, double *seconds)
{
    pgr_err err = {0};
    pgr_store *s = NULL;
    ix_builder *b = NULL;
    path_list pl = {0};
    int rc = 2, errors = 0;
    pgr_id run_id = 0;
    pgr_search_update su = {.action = PGR_SEARCH_NA};
    uint64_t t0 = pgr_now_us();
    int tty = !o->quiet && isatty(2);

    for (size_t i = 0; i < n_paths; i++)
        if (walk(paths[i], &pl, 0, &err) < 0) {
            /* a missing argument is a usage error: cron should shout */
            fprintf(stderr, "peergraph ingest: %s\n", err.msg);
            goto cleanup;
        }
    if (pgr_store_open(o->db, &s, &err) < 0) {
        fprintf(stderr, "peergraph ingest: %s: %s\n", o->db, err.msg);
        goto cleanup;
    }
    if (pgr_run_lock(s, o->wait, &err) < 0) {
        if (err.code == PGR_EBUSY)
            fprintf(stderr,
                    "peergraph ingest: another ingest run holds the lock on %s; not starting "
                    "(use --wait to wait for it)\n",
                    o->db);
        else
            fprintf(stderr, "peergraph ingest: %s: %s\n", o->db, err.msg);
        goto cleanup;
    }
    if (pgr_run_start(s, o->args, &run_id, &err) < 0 ||
        ix_builder_new(s, run_id, &b, &err) < 0) {
        fprintf(stderr, "peergraph ingest: %s: %s\n", o->db, err.msg);
        goto cleanup;
    }
    ix_builder_set_keywords(b, !o->no_keywords);
    rc = 0;
    for (size_t i = 0; i < pl.n; i++) {
        const char *path = pl.v[i];
        if (tty)
            progress(i, pl.n, path);
        char *data = NULL;
        size_t len = 0;
        char date[11];
        struct stat st;
        pgr_err_clear(&err);
        if (pgr_read_file(path, &data, &len, &err) < 0 || stat(path, &st) < 0) {
            if (tty)
                fputc('\n', stderr);
            fprintf(stderr, "peergraph ingest: %s: %s\n", path,
                    err.msg[0] ? err.msg : strerror(errno));
            free(data);
            errors++;
            continue;
        }
        if (o->as_of) {
            memcpy(date, o->as_of, 11);
        } else {
            struct tm tm;
            gmtime_r(&st.st_mtime, &tm);
            strftime(date, sizeof date, "%Y-%m-%d", &tm);
        }
        /* the uri: the absolute path, so the same file is the same source
         * whatever the working directory of the run */
        char *abs = realpath(path, NULL);
        ix_file_opts fo = {.format = o->format, .capture_date = date,
                           .owner_override = o->owner, .bulk = o->bulk};
        if (ix_builder_ingest(b, abs ? abs : path, data, len, &fo, NULL, &err) < 0) {
            if (tty)
                fputc('\n', stderr);
            fprintf(stderr, "peergraph ingest: %s: %s\n", path, err.msg);
            errors++;
        }
        free(abs);
        free(data);
    }
    if (tty) {
        progress(pl.n, pl.n, "done");
        fputc('\n', stderr);
    }
    if (ix_builder_finish(b, &err) < 0) {
        fprintf(stderr, "peergraph ingest: finishing the run: %s\n", err.msg);
        errors++;
    }
    /* after the last file's commit, in a transaction of its own: a failure
     * leaves the index as it was (with its changed works listed: searches
     * stay exact, slower) and the ingested files in */
    pgr_err_clear(&err);
    if (pgr_search_index_update(s, o->search_index, &su, &err) < 0) {
        fprintf(stderr, "peergraph ingest: search index: %s\n", err.msg);
        su.action = -1;
        errors++;
    }
    if (errors)
        rc = 1;
cleanup:;
    double secs = (double)(pgr_now_us() - t0) / 1e6;
    if (b) {
        const ix_stats *st = ix_builder_stats(b);
        /* rejected = every file that failed: unreadable, or rolled back */
        char summary[640], sidx[160] = "";
        const char *act = su.action < 0 ? "failed" : pgr_search_action_name(su.action);
        if (su.action == PGR_SEARCH_REFRESHED || su.action == PGR_SEARCH_BUILT ||
            su.action == PGR_SEARCH_REBUILT)
            snprintf(sidx, sizeof sidx, ", search index %s (%ld works, %.2f s)", act,
                     su.action == PGR_SEARCH_REFRESHED ? su.changed : su.works, su.seconds);
        else if (su.action == PGR_SEARCH_SKIPPED)
            snprintf(sidx, sizeof sidx, ", search index skipped (%ld changed works)", su.changed);
        else if (su.action != PGR_SEARCH_NA)
            snprintf(sidx, sizeof sidx, ", search index %s", act);
        snprintf(summary, sizeof summary,
                 "{\"files\":%zu,\"ingested\":%ld,\"unchanged\":%ld,\"rejected\":%d,"
                 "\"records\":%ld,\"works_added\":%ld,\"works_updated\":%ld,"
                 "\"authors_added\":%ld,\"merges\":%ld,\"errors\":%d,"
                 "\"search_index\":\"%s\",\"search_changed\":%ld,\"search_seconds\":%.3f,"
                 "\"seconds\":%.3f}",
                 pl.n, st->files_ingested, st->files_unchanged, errors, st->records,
                 st->works_added, st->works_updated, st->authors_added, st->merges, errors,
                 act, su.changed, su.seconds, secs);
        pgr_err e2 = {0};
        if (pgr_run_finish(s, run_id, errors ? "partial" : "ok", summary, &e2) < 0)
            fprintf(stderr, "peergraph ingest: recording the run: %s\n", e2.msg);
        if (!o->no_summary)
            printf("ingest: files %zu (ingested %ld, unchanged %ld, rejected %d), records %ld, "
                   "works added %ld, updated %ld, authors added %ld, merges %ld, errors %d%s, "
                   "%.2f s\n",
                   pl.n, st->files_ingested, st->files_unchanged, errors, st->records,
                   st->works_added, st->works_updated, st->authors_added, st->merges, errors,
                   sidx, secs);
        if (stats_out)
            *stats_out = *st;
        if (o->search_out)
            *o->search_out = su;
    }
    if (seconds)
        *seconds = secs;
    ix_builder_free(b);
    if (s) {
        pgr_run_unlock(s);
        pgr_store_close(s);
    }
    for (size_t i = 0; i < pl.n; i++)
        free(pl.v[i]);
    free(pl.v);
    fflush(stdout);
    return rc;
}

static int unmerge(const char *db, const char *id_text)
{
    char *end;
    errno = 0;
    long long id = strtoll(id_text, &end, 10);
    if (errno || *end || id <= 0) {
        fprintf(stderr, "peergraph ingest: --unmerge: \"%s\" is not a merge id\n", id_text);
        return 2;
    }
    pgr_err err = {0};
    pgr_store *s = NULL;
    if (pgr_store_open(db, &s, &err) < 0) {
        fprintf(stderr, "peergraph ingest: %s: %s\n", db, err.msg);
        return 2;
    }
    int rc = 0;
    if (pgr_author_unmerge(s, (pgr_id)id, &err) < 0) {
        fprintf(stderr, "peergraph ingest: --unmerge %lld: %s\n", id, err.msg);
        rc = err.code == PGR_EDB ? 2 : 1;
    } else {
        printf("ingest: merge %lld undone\n", id);
    }
    pgr_store_close(s);
    return rc;
}

/* An option that takes one of n names: *out = vals[i] for names[i]; else
 * the usage error (the names listed) and -1. */
static int pick_option(const char *opt, const char *arg, const char *const *names,
                       const int *vals, int n, int *out)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(arg, names[i])) {
            *out = vals[i];
            return 0;
        }
    fprintf(stderr, "peergraph ingest: %s ", opt);
    for (int i = 0; i < n; i++)
        fprintf(stderr, "%s%s", i ? "|" : "", names[i]);
    fprintf(stderr, ", not '%s'\n", arg);
    return -1;
}

int cmd_ingest(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},      {"format", required_argument, NULL, 'f'},
        {"owner", required_argument, NULL, 'o'},   {"as-of", required_argument, NULL, 'a'},
        {"wait", no_argument, NULL, 'w'},          {"unmerge", required_argument, NULL, 'u'},
        {"list-formats", no_argument, NULL, 'L'},  {"quiet", no_argument, NULL, 'q'},
        {"no-keywords", no_argument, NULL, 'K'},   {"bulk", required_argument, NULL, 'B'},
        {"search-index", required_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    ix_ingest_opts o = {.db = PGR_DEFAULT_DB};
    const char *unmerge_id = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
        switch (c) {
        case 'd': o.db = optarg; break;
        case 'f': o.format = optarg; break;
        case 'o': o.owner = optarg; break;
        case 'a': o.as_of = optarg; break;
        case 'w': o.wait = 1; break;
        case 'u': unmerge_id = optarg; break;
        case 'q': o.quiet = 1; break;
        case 'K': o.no_keywords = 1; break;
        case 'B': {
            static const char *const names[] = {"auto", "always", "never"};
            static const int vals[] = {IX_BULK_AUTO, IX_BULK_ALWAYS, IX_BULK_NEVER};
            if (pick_option("--bulk", optarg, names, vals, 3, &o.bulk) != 0)
                return 2;
            break;
        }
        case 'S': {
            static const char *const names[] = {"auto", "refresh", "rebuild", "skip"};
            static const int vals[] = {PGR_SEARCH_AUTO, PGR_SEARCH_REFRESH, PGR_SEARCH_REBUILD,
                                       PGR_SEARCH_SKIP};
            if (pick_option("--search-index", optarg, names, vals, 4, &o.search_index) != 0)
                return 2;
            break;
        }
        case 'L':
            for (const ix_format *f = ix_formats; f->name; f++)
                printf("%-20s %s\n", f->name, f->description ? f->description : "");
            return 0;
        case 'h': usage(stdout); return 0;
        default:
            fprintf(stderr, "peergraph ingest: unknown or incomplete option '%s' (see --help)\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (unmerge_id) {
        if (optind != argc) {
            fprintf(stderr, "peergraph ingest: --unmerge takes no files\n");
            return 2;
        }
        return unmerge(o.db, unmerge_id);
    }
    if (optind == argc) {
        fprintf(stderr, "peergraph ingest: no FILE or DIR given (see --help)\n");
        return 2;
    }
    if (o.as_of && !valid_ymd(o.as_of)) {
        fprintf(stderr, "peergraph ingest: --as-of \"%s\" is not a date YYYY-MM-DD\n", o.as_of);
        return 2;
    }
    if (o.format && !ix_format_by_name(o.format)) {
        fprintf(stderr, "peergraph ingest: --format \"%s\" is not a known format "
                        "(see --list-formats)\n", o.format);
        return 2;
    }
    if (o.owner && !*o.owner) {
        fprintf(stderr, "peergraph ingest: --owner needs a name\n");
        return 2;
    }
    /* the run's arguments, recorded with it */
    pgr_sb args = {0};
    for (int i = 1; i < argc; i++) {
        if (i > 1)
            pgr_sb_putc(&args, ' ');
        pgr_sb_puts(&args, argv[i]);
    }
    o.args = args.data;
    int rc = ix_ingest_paths(&o, argv + optind, (size_t)(argc - optind), NULL, NULL);
    pgr_sb_free(&args);
    return rc;
}
