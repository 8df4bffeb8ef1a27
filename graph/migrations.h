#ifndef PEERGRAPH_MIGRATIONS_H
#define PEERGRAPH_MIGRATIONS_H
/* Migrations embedded from schema/<backend>/NNN_name.sql by schema/embed.sh.
 * The table ends with an entry whose backend is NULL. */
struct pgr_migration {
    const char *backend; /* "sqlite" or "postgres" */
    int version;         /* NNN of the file name */
    const char *name;    /* file name without .sql */
    const char *sql;     /* the whole file */
};
extern const struct pgr_migration pgr_migrations[];
#endif
