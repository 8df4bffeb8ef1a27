/* peergraph: one binary, subcommands dispatched from a table.
 * Each subcommand lives in its module (server/, indexer/, inference/, graph/)
 * and is declared in cli.h; an entry with a NULL function is not built yet. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
    const char *summary;
};

static const struct command commands[] = {
    {"serve", cmd_serve, "serve web pages, the JSON API and inference over HTTP"},
    {"ingest", cmd_ingest, "read profile pages and paper metadata into the graph"},
    {"migrate", cmd_migrate, "create or upgrade the graph database schema"},
    {"adapt", cmd_adapt, "train or create per-researcher PreFT adapters"},
    {"generate", cmd_generate, "generate text with the embedded model"},
    {"quantize", cmd_quantize, "rewrite a GGUF model in Q4_K_M/Q6_K/Q8_0 as llama.cpp does"},
    {"bench", cmd_bench, "run the benchmarks of docs/benchmarks.md"},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
    fprintf(out,
            "usage: peergraph COMMAND [OPTIONS]\n"
            "\n"
            "Researcher-profile and paper-graph service with an embedded PreFT inference engine.\n"
            "\n"
            "commands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-10s %s%s\n", commands[i].name, commands[i].summary,
                commands[i].run ? "" : " (not built yet)");
    fprintf(out,
            "\n"
            "common options:\n"
            "  --db URL       graph database: sqlite:PATH or postgres://... (default %s)\n"
            "  --model PATH   GGUF model file (default %s)\n"
            "  -h, --help     help for peergraph or for one command: peergraph COMMAND --help\n",
            PGR_DEFAULT_DB, PGR_DEFAULT_MODEL);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        if (!commands[i].run) {
            fprintf(stderr, "peergraph %s: not built yet\n", commands[i].name);
            return 2;
        }
        return commands[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "peergraph: unknown command '%s' (see peergraph --help)\n", argv[1]);
    return 2;
}
