#ifndef PEERGRAPH_CLI_H
#define PEERGRAPH_CLI_H
/* Subcommand entry points. Each takes argv with argv[0] = the subcommand name,
 * parses its own options (getopt_long), prints its own --help, and returns the
 * process exit code: 0 ok, 1 partial failure (e.g. some files rejected),
 * 2 usage error or unreachable database. */

#define PGR_DEFAULT_DB "sqlite:data/peergraph.db"
#define PGR_DEFAULT_MODEL "models/smollm2-135m-instruct-q4_1.gguf"
#define PGR_DEFAULT_HOST "127.0.0.1"
#define PGR_DEFAULT_PORT 8080

int cmd_serve(int argc, char **argv);    /* server/ */
int cmd_ingest(int argc, char **argv);   /* indexer/ */
int cmd_migrate(int argc, char **argv);  /* graph/ */
int cmd_adapt(int argc, char **argv);    /* inference/ */
int cmd_generate(int argc, char **argv); /* inference/ */
int cmd_quantize(int argc, char **argv); /* inference/quantize.c */
int cmd_bench(int argc, char **argv);    /* bench dispatcher */
/* --device NAME of generate, serve and bench infer: 0 if an engine can run
 * there, else prints "PROG: --device NAME: why" and returns -1 (exit 2). */
int pgr_device_check(const char *prog, const char *device); /* inference/cmd_generate.c */
#endif
