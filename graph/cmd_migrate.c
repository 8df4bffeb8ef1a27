/* `peergraph migrate`: create or upgrade the graph database schema. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "graph/graph.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: peergraph migrate [--db URL]\n"
            "\n"
            "Creates the graph schema in an empty database or applies the migrations this\n"
            "binary carries that the database lacks (running it again changes nothing).\n"
            "A database whose schema is newer than this binary is refused.\n"
            "\n"
            "options:\n"
            "  --db URL     sqlite:PATH or postgres://USER@HOST:PORT/DB (default %s)\n"
            "  -h, --help   this help\n"
            "\n"
            "exit status: 0 migrated or already current, 2 usage error, unreachable or newer\n"
            "database\n",
            PGR_DEFAULT_DB);
}

int cmd_migrate(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'}, {"help", no_argument, NULL, 'h'}, {0, 0, 0, 0}};
    const char *db = PGR_DEFAULT_DB;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "peergraph migrate: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    pgr_err err = {0};
    int from = 0, to = 0;
    if (pgr_migrate(db, &from, &to, &err) != 0) {
        fprintf(stderr, "peergraph migrate: %s\n", err.msg);
        return 2;
    }
    if (from == to)
        printf("peergraph migrate: %s is at schema version %d (current)\n", db, to);
    else
        printf("peergraph migrate: %s migrated from schema version %d to %d\n", db, from, to);
    return 0;
}
