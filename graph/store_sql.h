#ifndef PEERGRAPH_STORE_SQL_H
#define PEERGRAPH_STORE_SQL_H
/* Every SQL statement of the store, named. One table: the statements both
 * backends share are written here once (PostgreSQL's $N placeholders and
 * ::type casts; the SQLite backend rewrites those to ?N and drops the casts);
 * the entries with NULL are dialect statements that each backend supplies in
 * its own table (store_sqlite.c, store_pg.c). Every error names the statement.
 * Built SQL lives in two places only: the list queries of store_query.c
 * (request values always bound) and the multi-row provenance insert of
 * store_write.c (the store's own integers).
 *
 * ORDER BY on text only uses columns declared COLLATE "C" in the PostgreSQL
 * schema, so both backends order alike. */

#define PGR_STATEMENTS(X)                                                                      \
    /* ---- meta, runs, sources ---- */                                                       \
    X(ST_DATA_VERSION, "data_version", "SELECT value FROM store_meta WHERE key = 'data_version'") \
    X(ST_DATA_VERSION_BUMP, "data_version_bump",                                              \
      "UPDATE store_meta SET value = value + 1 WHERE key = 'data_version'")                   \
    X(ST_RUN_START, "run_start",                                                              \
      "INSERT INTO ingest_runs (started_at, args) VALUES ($1, $2) RETURNING id")              \
    X(ST_RUN_FINISH, "run_finish",                                                            \
      "UPDATE ingest_runs SET finished_at = $2, status = $3, summary = $4 WHERE id = $1")     \
    X(ST_SOURCE_FIND, "source_find", "SELECT id, sha256 FROM source_docs WHERE uri = $1")     \
    X(ST_SOURCE_UPSERT, "source_upsert",                                                      \
      "INSERT INTO source_docs (uri, format, sha256, capture_date, run_id, ingested_at) "     \
      "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (uri) DO UPDATE SET "                      \
      "format = excluded.format, sha256 = excluded.sha256, capture_date = "                  \
      "excluded.capture_date, run_id = excluded.run_id, ingested_at = excluded.ingested_at "  \
      "RETURNING id")                                                                         \
    /* ---- deleting one source's facts, children first ---- */                               \
    X(ST_SRC_WORKS, "source_works",                                                           \
      "SELECT fact_id FROM provenance WHERE source_id = $1 AND kind = 1 UNION "               \
      "SELECT s.work_id FROM provenance p JOIN authorships s ON s.id = p.fact_id "            \
      "WHERE p.source_id = $1 AND p.kind = 3")                                                \
    X(ST_SRC_AUTHORS, "source_authors",                                                       \
      "SELECT fact_id FROM provenance WHERE source_id = $1 AND kind = 2 UNION "               \
      "SELECT s.author_id FROM provenance p JOIN authorships s ON s.id = p.fact_id "          \
      "WHERE p.source_id = $1 AND p.kind = 3 UNION "                                          \
      "SELECT author_id FROM claims WHERE source_id = $1 AND author_id IS NOT NULL UNION "    \
      "SELECT author_id FROM author_topic_claims WHERE source_id = $1 AND author_id IS NOT "  \
      "NULL UNION "                                                                           \
      "SELECT author_id FROM author_claims WHERE source_id = $1 AND author_id IS NOT NULL "   \
      "UNION "                                                                                \
      "SELECT author_id FROM ownership WHERE source_id = $1")                                 \
    PGR_DEL_FACT(X, ST_DEL_AUTHOR_COUNTS, "delete_author_counts", "author_counts", "9")       \
    PGR_DEL_FACT(X, ST_DEL_WORK_COUNTS, "delete_work_counts", "work_counts", "8")             \
    PGR_DEL_FACT(X, ST_DEL_AUTHOR_INSTS, "delete_author_institutions", "author_institutions", \
                 "7")                                                                         \
    PGR_DEL_FACT(X, ST_DEL_AUTHOR_NAMES, "delete_author_names", "author_names", "6")          \
    PGR_DEL_FACT(X, ST_DEL_CITATIONS, "delete_citations", "citations", "5")                   \
    PGR_DEL_FACT(X, ST_DEL_WORK_TOPICS, "delete_work_topics", "work_topics", "4")             \
    PGR_DEL_FACT(X, ST_DEL_AUTHORSHIPS, "delete_authorships", "authorships", "3")             \
    PGR_DEL_FACT(X, ST_DEL_WORKS, "delete_works", "works", "1")                               \
    X(ST_DEL_AUTHORS, "delete_authors",                                                       \
      "DELETE FROM authors WHERE id IN (SELECT p.fact_id FROM provenance p WHERE "            \
      "p.source_id = $1 AND p.kind = 2 AND NOT EXISTS (SELECT 1 FROM provenance q WHERE "     \
      "q.kind = 2 AND q.fact_id = p.fact_id AND q.source_id <> $1)) AND NOT EXISTS "          \
      "(SELECT 1 FROM authorships s WHERE s.author_id = authors.id) AND NOT EXISTS "          \
      "(SELECT 1 FROM authors m WHERE m.merged_into = authors.id)")                           \
    X(ST_DEL_PROV, "delete_provenance", "DELETE FROM provenance WHERE source_id = $1")        \
    X(ST_DEL_CLAIMS, "delete_claims", "DELETE FROM claims WHERE source_id = $1")              \
    X(ST_DEL_OWNERSHIP, "delete_ownership", "DELETE FROM ownership WHERE source_id = $1")     \
    X(ST_DEL_TOPIC_CLAIMS, "delete_topic_claims",                                             \
      "DELETE FROM author_topic_claims WHERE source_id = $1")                                 \
    X(ST_DEL_AUTHOR_CLAIMS, "delete_author_claims",                                           \
      "DELETE FROM author_claims WHERE source_id = $1")                                       \
    /* ---- works ---- */                                                                     \
    X(ST_WORK_BY_ARXIV, "work_by_arxiv", "SELECT id FROM works WHERE arxiv_id = $1")          \
    X(ST_WORK_BY_DOI, "work_by_doi", "SELECT id FROM works WHERE doi = $1")                   \
    X(ST_WORK_BY_OPENALEX, "work_by_openalex", "SELECT id FROM works WHERE openalex_id = $1") \
    X(ST_WORK_BY_S2, "work_by_s2", "SELECT id FROM works WHERE s2_id = $1")                   \
    X(ST_WORK_BY_TITLE_YEAR, "work_by_title_year",                                            \
      "SELECT id FROM works WHERE norm_title = $1 AND year = $2 ORDER BY id LIMIT 1")         \
    X(ST_WORK_BY_TITLE_COMPAT, "work_by_title_compat",                                        \
      "SELECT id FROM works WHERE norm_title = $1 AND ($2 = 0 OR year = $2) AND "             \
      "(CAST($3 AS TEXT) IS NULL OR arxiv_id IS NULL OR arxiv_id = $3) AND "                  \
      "(CAST($4 AS TEXT) IS NULL OR doi IS NULL OR doi = $4) ORDER BY id LIMIT 1")            \
    X(ST_WORK_BY_TITLE, "work_by_title",                                                      \
      "SELECT id FROM works WHERE norm_title = $1 ORDER BY id LIMIT 1")                       \
    X(ST_WORK_EXISTS, "work_exists", "SELECT id FROM works WHERE id = $1")                    \
    X(ST_WORK_IDS, "work_ids", "SELECT doi, arxiv_id, openalex_id, s2_id FROM works WHERE id = $1")                    \
    X(ST_WORK_INSERT, "work_insert",                                                          \
      "INSERT INTO works (arxiv_id, doi, openalex_id, s2_id, title, norm_title, year, date, " \
      "sort_date, type, venue_id, abstract, authors_truncated, src_cited_by_count, "          \
      "cited_by_count, has_code, score, arxiv_version, language, tldr, tldr_model) VALUES ($1, " \
      "$2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, COALESCE($14::bigint, 0), "   \
      "$15, $16, $17, $18, $19, $20) RETURNING id")                                                               \
    /* the same with the id the client handed out ($21; PostgreSQL, queued) */                 \
    X(ST_WORK_INSERT_ID, "work_insert_id",                                                    \
      "INSERT INTO works (arxiv_id, doi, openalex_id, s2_id, title, norm_title, year, date, " \
      "sort_date, type, venue_id, abstract, authors_truncated, src_cited_by_count, "          \
      "cited_by_count, has_code, score, arxiv_version, language, tldr, tldr_model, id) "      \
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, "                 \
      "COALESCE($14::bigint, 0), $15, $16, $17, $18, $19, $20, $21)")                         \
    X(ST_WORK_UPDATE, "work_update",                                                          \
      "UPDATE works SET arxiv_id = COALESCE($2::text, arxiv_id), doi = COALESCE($3::text, "   \
      "doi), openalex_id = COALESCE($4::text, openalex_id), s2_id = COALESCE($5::text, "      \
      "s2_id), title = COALESCE($6::text, title), norm_title = COALESCE($7::text, "           \
      "norm_title), year = COALESCE($8::bigint, year), date = COALESCE($9::text, date), "     \
      "sort_date = CASE WHEN $9::text IS NOT NULL OR (date IS NULL AND $8::bigint IS NOT "    \
      "NULL) THEN $10 ELSE sort_date END, type = COALESCE($11::text, type), venue_id = "      \
      "COALESCE($12::bigint, venue_id), abstract = COALESCE($13::text, abstract), "          \
      "authors_truncated = COALESCE($14::text, authors_truncated), src_cited_by_count = "    \
      "CASE WHEN $15::bigint IS NULL THEN src_cited_by_count WHEN src_cited_by_count IS "     \
      "NULL OR $15::bigint > src_cited_by_count THEN $15::bigint ELSE src_cited_by_count "    \
      "END, cited_by_count = CASE WHEN $15::bigint IS NOT NULL AND $15::bigint > "            \
      "cited_by_count THEN $15::bigint ELSE cited_by_count END, has_code = "                 \
      "COALESCE($16::bigint, has_code), score = COALESCE($17::float8, score), "              \
      "arxiv_version = CASE WHEN $18::bigint IS NOT NULL AND (arxiv_version IS NULL OR "      \
      "$18::bigint > arxiv_version) THEN $18::bigint ELSE arxiv_version END, language = "    \
      "COALESCE($19::text, language), tldr = COALESCE($20::text, tldr), tldr_model = CASE "  \
      "WHEN $20::text IS NOT NULL THEN $21::text ELSE tldr_model END WHERE id = $1")                                          \
    X(ST_WORK_REFS_RESOLVE, "work_refs_resolve",                                              \
      "UPDATE citations SET cited_id = $1 WHERE cited_id IS NULL AND ref IN ($2, $3, $4, "   \
      "$5)")                                                                                  \
    /* a page of works' text for corpus-wide passes (works_text.c; PAGE there) */            \
    X(ST_WORKS_TEXT_PAGE, "works_text_page",                                                  \
      "SELECT id, title, abstract FROM works WHERE id > $1 ORDER BY id LIMIT 2000")           \
    X(ST_VENUE_FIND, "venue_find", "SELECT id FROM venues WHERE norm_name = $1")              \
    X(ST_VENUE_INSERT, "venue_insert",                                                        \
      "INSERT INTO venues (display_name, norm_name) VALUES ($1, $2) RETURNING id")            \
    /* ---- authors ---- */                                                                   \
    X(ST_AUTHOR_BY_ORCID, "author_by_orcid", "SELECT id FROM authors WHERE orcid = $1")       \
    X(ST_AUTHOR_BY_OPENALEX, "author_by_openalex",                                            \
      "SELECT id FROM authors WHERE openalex_id = $1")                                        \
    X(ST_AUTHOR_BY_S2, "author_by_s2", "SELECT id FROM authors WHERE s2_id = $1")             \
    X(ST_AUTHOR_MERGED_INTO, "author_merged_into",                                            \
      "SELECT id, merged_into FROM authors WHERE id = $1")                                    \
    X(ST_AUTHOR_INSERT, "author_insert",                                                      \
      "INSERT INTO authors (display_name, norm_name, orcid, openalex_id, s2_id) VALUES ($1, " \
      "$2, $3, $4, $5) RETURNING id")                                                         \
    X(ST_AUTHOR_INSERT_ID, "author_insert_id",                                                \
      "INSERT INTO authors (display_name, norm_name, orcid, openalex_id, s2_id, id) VALUES "  \
      "($1, $2, $3, $4, $5, $6)")                                                             \
    X(ST_AUTHOR_UPDATE, "author_update",                                                      \
      "UPDATE authors SET display_name = COALESCE($2::text, display_name), norm_name = "      \
      "COALESCE($3::text, norm_name), orcid = COALESCE(orcid, $4::text), openalex_id = "      \
      "COALESCE(openalex_id, $5::text), s2_id = COALESCE(s2_id, $6::text) WHERE id = $1")     \
    X(ST_AUTHOR_CANDIDATES, "author_candidates",                                              \
      "SELECT id FROM authors WHERE norm_name = $1 AND merged_into IS NULL UNION SELECT a.id " \
      "FROM author_names n JOIN authors a ON a.id = n.author_id WHERE n.norm_name = $1 AND "  \
      "a.merged_into IS NULL ORDER BY 1")                                                     \
    X(ST_AUTHOR_WORK_IDS, "author_work_ids",                                                  \
      "SELECT work_id FROM authorships WHERE author_id = $1 ORDER BY work_id")                \
    X(ST_AUTHOR_COAUTHOR_IDS, "author_coauthor_ids",                                          \
      "SELECT DISTINCT b.author_id FROM authorships a JOIN authorships b ON b.work_id = "      \
      "a.work_id WHERE a.author_id = $1 AND b.author_id <> $1 ORDER BY 1")                    \
    X(ST_AUTHOR_NAME_ADD, "author_name_add",                                                  \
      "INSERT INTO author_names (author_id, name, norm_name) VALUES ($1, $2, $3) ON "         \
      "CONFLICT (author_id, name) DO UPDATE SET norm_name = excluded.norm_name RETURNING id")  \
    X(ST_AUTHOR_NAME_FIND, "author_name_find",                                                \
      "SELECT id FROM author_names WHERE author_id = $1 AND name = $2")                       \
    X(ST_AUTHORSHIP_PUT, "authorship_put",                                                    \
      "INSERT INTO authorships (work_id, author_id, position, raw_name, affiliation, "        \
      "institution_id) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (work_id, author_id) DO "  \
      "UPDATE SET position = excluded.position, raw_name = COALESCE(excluded.raw_name, "      \
      "authorships.raw_name), affiliation = COALESCE(excluded.affiliation, "                  \
      "authorships.affiliation), institution_id = COALESCE(excluded.institution_id, "         \
      "authorships.institution_id) RETURNING id")                                             \
    X(ST_TOPIC_FIND, "topic_find",                                                            \
      "SELECT id, display_name FROM topics WHERE scheme = $1 AND code = $2")                  \
    X(ST_TOPIC_INSERT, "topic_insert",                                                        \
      "INSERT INTO topics (scheme, code, display_name, norm_name) VALUES ($1, $2, $3, $4) "   \
      "RETURNING id")                                                                         \
    X(ST_TOPIC_DESCRIBE, "topic_describe",                                                    \
      "UPDATE topics SET description = COALESCE($2::text, description), subfield = "          \
      "COALESCE($3::text, subfield), field = COALESCE($4::text, field), domain = "            \
      "COALESCE($5::text, domain) WHERE id = $1")                                             \
    X(ST_TOPIC_RENAME, "topic_rename",                                                        \
      "UPDATE topics SET display_name = $2, norm_name = $3 WHERE id = $1")                    \
    X(ST_WORK_TOPIC_PUT, "work_topic_put",                                                    \
      "INSERT INTO work_topics (work_id, topic_id, weight) VALUES ($1, $2, $3) ON CONFLICT "  \
      "(work_id, topic_id) DO UPDATE SET weight = COALESCE(excluded.weight, "                 \
      "work_topics.weight) RETURNING id")                                                     \
    X(ST_CITATION_PUT, "citation_put",                                                        \
      "INSERT INTO citations (citing_id, ref, cited_id) VALUES ($1, $2, $3) ON CONFLICT "     \
      "(citing_id, ref) DO UPDATE SET cited_id = COALESCE(excluded.cited_id, "                \
      "citations.cited_id) RETURNING id")                                                     \
    PGR_RESOLVE_REFS(X, ST_REFS_RESOLVE_DOI, "refs_resolve_doi", "doi:", "doi")               \
    PGR_RESOLVE_REFS(X, ST_REFS_RESOLVE_ARXIV, "refs_resolve_arxiv", "arxiv:", "arxiv_id")    \
    PGR_RESOLVE_REFS(X, ST_REFS_RESOLVE_OPENALEX, "refs_resolve_openalex", "openalex:",       \
                     "openalex_id")                                                           \
    PGR_RESOLVE_REFS(X, ST_REFS_RESOLVE_S2, "refs_resolve_s2", "s2:", "s2_id")                \
    X(ST_INST_BY_ROR, "institution_by_ror", "SELECT id FROM institutions WHERE ror = $1")     \
    X(ST_INST_BY_NAME, "institution_by_name",                                                 \
      "SELECT id FROM institutions WHERE norm_name = $1 ORDER BY id LIMIT 1")                 \
    X(ST_INST_INSERT, "institution_insert",                                                   \
      "INSERT INTO institutions (display_name, norm_name, ror, country_code) VALUES ($1, $2, " \
      "$3, $4) RETURNING id")                                                                 \
    X(ST_INST_UPDATE, "institution_update",                                                   \
      "UPDATE institutions SET ror = COALESCE(ror, $2::text), country_code = "                \
      "COALESCE($3::text, country_code) WHERE id = $1")                                       \
    X(ST_AUTHOR_INST_PUT, "author_institution_put",                                           \
      "INSERT INTO author_institutions (author_id, institution_id, year) VALUES ($1, $2, $3) " \
      "ON CONFLICT (author_id, institution_id, year) DO UPDATE SET year = excluded.year "     \
      "RETURNING id")                                                                         \
    X(ST_WORK_COUNTS_PUT, "work_counts_put",                                                  \
      "INSERT INTO work_counts (work_id, year, cited_by_count) VALUES ($1, $2, $3) ON "       \
      "CONFLICT (work_id, year) DO UPDATE SET cited_by_count = "                              \
      "COALESCE(excluded.cited_by_count, work_counts.cited_by_count) RETURNING id")           \
    X(ST_AUTHOR_COUNTS_PUT, "author_counts_put",                                              \
      "INSERT INTO author_counts (author_id, year, works_count, cited_by_count) VALUES ($1, " \
      "$2, $3, $4) ON CONFLICT (author_id, year) DO UPDATE SET works_count = "                \
      "COALESCE(excluded.works_count, author_counts.works_count), cited_by_count = "          \
      "COALESCE(excluded.cited_by_count, author_counts.cited_by_count) RETURNING id")         \
    X(ST_CLAIM_PUT, "claim_put",                                                              \
      "INSERT INTO claims (source_id, author_id, name, text, value, capture_date) VALUES "    \
      "($1, $2, $3, $4, $5, $6) ON CONFLICT (source_id, name) DO UPDATE SET author_id = "     \
      "excluded.author_id, text = excluded.text, value = excluded.value, capture_date = "     \
      "excluded.capture_date")                                                                \
    X(ST_TOPIC_CLAIM_PUT, "topic_claim_put",                                                  \
      "INSERT INTO author_topic_claims (source_id, record, author_id, list, topic_id, rank, "  \
      "count, score, capture_date) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT "  \
      "(source_id, record, list, topic_id) DO UPDATE SET author_id = excluded.author_id, "   \
      "rank = excluded.rank, count = excluded.count, score = excluded.score, capture_date = " \
      "excluded.capture_date")                                                                \
    X(ST_AUTHOR_CLAIM_PUT, "author_claim_put",                                                \
      "INSERT INTO author_claims (source_id, record, author_id, name, year, rank, text, "     \
      "value, ref, capture_date) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON "        \
      "CONFLICT (source_id, record, name, year, rank) DO UPDATE SET author_id = "             \
      "excluded.author_id, text = excluded.text, value = excluded.value, ref = excluded.ref, " \
      "capture_date = excluded.capture_date")                                                 \
    X(ST_OWNERSHIP_PUT, "ownership_put",                                                      \
      "INSERT INTO ownership (source_id, author_id, method, confidence, runner_up, "          \
      "runner_up_confidence, evidence) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT "      \
      "(source_id) DO UPDATE SET author_id = excluded.author_id, method = excluded.method, "  \
      "confidence = excluded.confidence, runner_up = excluded.runner_up, "                   \
      "runner_up_confidence = excluded.runner_up_confidence, evidence = excluded.evidence")   \
    X(ST_ADAPTER_ADD, "adapter_add",                                                          \
      "INSERT INTO adapters (author_id, method, mode, rank, path, base_model_sha256, "       \
      "metrics, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id")            \
    X(ST_ADAPTER_LIST, "adapter_list",                                                        \
      "SELECT id, method, mode, rank, path, base_model_sha256, metrics, created_at FROM "    \
      "adapters WHERE author_id = $1 ORDER BY id DESC")                                       \
    X(ST_ADAPTER_CANDIDATES, "adapter_candidates",                                            \
      "SELECT author_id FROM ownership WHERE author_id > $1 UNION SELECT author_id FROM "    \
      "adapters WHERE author_id > $1 ORDER BY 1")                                             \
    X(ST_ADAPTER_FIND_PATH, "adapter_find_path",                                              \
      "SELECT id FROM adapters WHERE author_id = $1 AND path = $2 ORDER BY id DESC LIMIT 1")  \
    /* ---- the summary cache (003_summaries.sql) ---- */                                     \
    X(ST_SUMMARY_GET, "summary_get",                                                          \
      "SELECT text, n_tokens FROM summaries WHERE author_id = $1 AND data_sha256 = $2 AND "   \
      "adapter = $3 AND model_sha256 = $4")                                                   \
    X(ST_SUMMARY_PRUNE, "summary_prune",                                                      \
      "DELETE FROM summaries WHERE author_id = $1 AND adapter = $2 AND model_sha256 = $3 "    \
      "AND data_sha256 <> $4")                                                                \
    X(ST_SUMMARY_PUT, "summary_put",                                                          \
      "INSERT INTO summaries (author_id, data_sha256, adapter, model_sha256, text, n_tokens, " \
      "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (author_id, data_sha256, " \
      "adapter, model_sha256) DO UPDATE SET text = excluded.text, n_tokens = "                \
      "excluded.n_tokens, created_at = excluded.created_at")                                  \
    /* ---- merges ---- */                                                                    \
    X(ST_MERGE_INSERT, "merge_insert",                                                        \
      "INSERT INTO author_merges (keep_id, gone_id, evidence, run_id, merged_at) VALUES ($1, " \
      "$2, $3, $4, $5) RETURNING id")                                                         \
    X(ST_MERGE_GET, "merge_get",                                                              \
      "SELECT keep_id, gone_id, undone_at FROM author_merges WHERE id = $1")                  \
    X(ST_MERGE_UNDONE, "merge_undone", "UPDATE author_merges SET undone_at = $2 WHERE id = $1") \
    X(ST_MERGE_MOVE_ADD, "merge_move_add",                                                    \
      "INSERT INTO merge_moves (merge_id, kind, row_id, data) VALUES ($1, $2, $3, $4)")       \
    X(ST_MERGE_MOVES, "merge_moves",                                                          \
      "SELECT kind, row_id, data FROM merge_moves WHERE merge_id = $1 ORDER BY kind, row_id") \
    X(ST_AUTHOR_SET_MERGED, "author_set_merged",                                              \
      "UPDATE authors SET merged_into = $2 WHERE id = $1")                                    \
    X(ST_AUTHOR_DISPLAY, "author_display",                                                    \
      "SELECT display_name, norm_name FROM authors WHERE id = $1")                            \
    /* rows of gone that collide with keep's (moved aside, kept in merge_moves.data) */       \
    X(ST_MERGE_AS_CONFLICTS, "merge_authorship_conflicts",                                    \
      "SELECT g.id, g.work_id, g.position, g.raw_name, g.affiliation, g.institution_id FROM " \
      "authorships g WHERE g.author_id = $1 AND EXISTS (SELECT 1 FROM authorships k WHERE "   \
      "k.work_id = g.work_id AND k.author_id = $2)")                                          \
    X(ST_MERGE_NAME_CONFLICTS, "merge_name_conflicts",                                        \
      "SELECT g.id, g.name, g.norm_name FROM author_names g WHERE g.author_id = $1 AND "       \
      "EXISTS (SELECT 1 FROM author_names k WHERE k.name = g.name AND k.author_id = $2)")     \
    X(ST_MERGE_AI_CONFLICTS, "merge_institution_conflicts",                                   \
      "SELECT g.id, g.institution_id, g.year FROM author_institutions g WHERE g.author_id = " \
      "$1 AND EXISTS (SELECT 1 FROM author_institutions k WHERE k.institution_id = "          \
      "g.institution_id AND k.year = g.year AND k.author_id = $2)")                           \
    X(ST_MERGE_AC_CONFLICTS, "merge_counts_conflicts",                                        \
      "SELECT g.id, g.year, g.works_count, g.cited_by_count FROM author_counts g WHERE "      \
      "g.author_id = $1 AND EXISTS (SELECT 1 FROM author_counts k WHERE k.year = g.year AND " \
      "k.author_id = $2)")                                                                    \
    X(ST_DEL_AUTHORSHIP_ID, "delete_authorship_id", "DELETE FROM authorships WHERE id = $1")  \
    X(ST_DEL_AUTHOR_NAME_ID, "delete_author_name_id", "DELETE FROM author_names WHERE id = $1") \
    X(ST_DEL_AUTHOR_INST_ID, "delete_author_institution_id",                                  \
      "DELETE FROM author_institutions WHERE id = $1")                                        \
    X(ST_DEL_AUTHOR_COUNTS_ID, "delete_author_counts_id",                                     \
      "DELETE FROM author_counts WHERE id = $1")                                              \
    X(ST_RESTORE_AUTHORSHIP, "restore_authorship",                                            \
      "INSERT INTO authorships (id, author_id, work_id, position, raw_name, affiliation, "    \
      "institution_id) VALUES ($1, $2, $3, $4, $5, $6, $7)")                                  \
    X(ST_RESTORE_AUTHOR_NAME, "restore_author_name",                                          \
      "INSERT INTO author_names (id, author_id, name, norm_name) VALUES ($1, $2, $3, $4)")    \
    X(ST_RESTORE_AUTHOR_INST, "restore_author_institution",                                   \
      "INSERT INTO author_institutions (id, author_id, institution_id, year) VALUES ($1, $2, " \
      "$3, $4)")                                                                              \
    X(ST_RESTORE_AUTHOR_COUNTS, "restore_author_counts",                                      \
      "INSERT INTO author_counts (id, author_id, year, works_count, cited_by_count) VALUES "  \
      "($1, $2, $3, $4, $5)")                                                                 \
    PGR_MOVE(X, AUTHORSHIPS, "authorships", "3")                                              \
    PGR_MOVE(X, AUTHOR_NAMES, "author_names", "6")                                            \
    PGR_MOVE(X, AUTHOR_INSTS, "author_institutions", "7")                                     \
    PGR_MOVE(X, AUTHOR_COUNTS, "author_counts", "9")                                          \
    PGR_MOVE(X, CLAIMS, "claims", "10")                                                       \
    PGR_MOVE(X, OWNERSHIP_ROWS, "ownership", "11")                                            \
    PGR_MOVE(X, ADAPTERS, "adapters", "13")                                                   \
    PGR_MOVE(X, TOPIC_CLAIMS, "author_topic_claims", "14")                                    \
    PGR_MOVE(X, AUTHOR_CLAIMS, "author_claims", "15")                                         \
    /* ---- metrics ---- */                                                                   \
    X(ST_ALL_AUTHORS, "all_authors",                                                          \
      "SELECT id FROM authors WHERE merged_into IS NULL ORDER BY id")                         \
    /* set-based over the ids in the temporary table pgr_tmp_ids (store.c) */                \
    X(ST_TMP_IDS_CLEAR, "tmp_ids_clear", "DELETE FROM pgr_tmp_ids")                           \
    X(ST_TMP_IDS_ALL_AUTHORS, "tmp_ids_all_authors",                                          \
      "INSERT INTO pgr_tmp_ids (id) SELECT id FROM authors WHERE merged_into IS NULL")        \
    X(ST_MX_CITED_SYNC, "metrics_cited_sync",                                                 \
      "UPDATE works SET cited_by_count = (SELECT CASE WHEN COUNT(*) > "                       \
      "COALESCE(works.src_cited_by_count, 0) THEN COUNT(*) ELSE "                             \
      "COALESCE(works.src_cited_by_count, 0) END FROM citations c WHERE c.cited_id = "        \
      "works.id) WHERE id IN (SELECT s.work_id FROM authorships s JOIN pgr_tmp_ids t ON "     \
      "t.id = s.author_id)")                                                                  \
    X(ST_MX_CITES, "metrics_cites",                                                           \
      "SELECT a.author_id, w.cited_by_count FROM pgr_tmp_ids t JOIN authorships a ON "        \
      "a.author_id = t.id JOIN works w ON w.id = a.work_id ORDER BY a.author_id")             \
    X(ST_MX_COAUTHORS, "metrics_coauthors",                                                   \
      "SELECT a.author_id, COUNT(DISTINCT b.author_id) FROM pgr_tmp_ids t JOIN authorships a " \
      "ON a.author_id = t.id JOIN authorships b ON b.work_id = a.work_id AND b.author_id <> " \
      "a.author_id GROUP BY a.author_id ORDER BY a.author_id")                                \
    X(ST_MX_CURRENT, "metrics_current",                                                       \
      "SELECT a.id, a.works_count, a.cited_by_count, a.h_index, a.i10_index, "                \
      "a.coauthor_count FROM pgr_tmp_ids t JOIN authors a ON a.id = t.id ORDER BY a.id")      \
    X(ST_METRIC_SET, "metric_set",                                                            \
      "UPDATE authors SET works_count = $2, cited_by_count = $3, h_index = $4, i10_index = "  \
      "$5, coauthor_count = $6 WHERE id = $1")                                                \
    X(ST_MX_TOPIC_IDS, "metrics_topic_ids",                                                   \
      "SELECT DISTINCT x.topic_id FROM pgr_tmp_ids t JOIN author_topics x ON x.author_id = "  \
      "t.id")                                                                                 \
    X(ST_MX_TOPICS_CLEAR, "metrics_topics_clear",                                             \
      "DELETE FROM author_topics WHERE author_id IN (SELECT id FROM pgr_tmp_ids)")            \
    X(ST_MX_TOPICS_FILL, "metrics_topics_fill",                                               \
      "INSERT INTO author_topics (author_id, topic_id, count, share) SELECT a.author_id, "    \
      "wt.topic_id, COUNT(*), COUNT(*) * 1.0 / au.works_count::float8 FROM pgr_tmp_ids t "    \
      "JOIN authorships a ON a.author_id = t.id JOIN authors au ON au.id = a.author_id JOIN " \
      "work_topics wt ON wt.work_id = a.work_id WHERE au.works_count > 0 GROUP BY "           \
      "a.author_id, wt.topic_id, au.works_count")                                             \
    X(ST_MX_VENUE_IDS, "metrics_venue_ids",                                                   \
      "SELECT DISTINCT w.venue_id FROM pgr_tmp_ids t JOIN authorships a ON a.author_id = "    \
      "t.id JOIN works w ON w.id = a.work_id WHERE w.venue_id IS NOT NULL")                   \
    X(ST_MX_INST_IDS, "metrics_institution_ids",                                              \
      "SELECT ai.institution_id FROM pgr_tmp_ids t JOIN author_institutions ai ON "           \
      "ai.author_id = t.id UNION SELECT s.institution_id FROM pgr_tmp_ids t JOIN "            \
      "authorships s ON s.author_id = t.id WHERE s.institution_id IS NOT NULL")               \
    X(ST_TOPIC_COUNTS, "topic_counts",                                                        \
      "UPDATE topics SET works_count = (SELECT COUNT(*) FROM work_topics wt WHERE "          \
      "wt.topic_id = topics.id), cited_by_count = (SELECT COALESCE(SUM(w.cited_by_count), "   \
      "0) FROM work_topics wt JOIN works w ON w.id = wt.work_id WHERE wt.topic_id = "         \
      "topics.id) WHERE id = $1")                                                             \
    X(ST_TOPIC_COUNTS_SCHEME, "topic_counts_scheme",                                          \
      "UPDATE topics SET works_count = (SELECT COUNT(*) FROM work_topics wt WHERE "          \
      "wt.topic_id = topics.id), cited_by_count = (SELECT COALESCE(SUM(w.cited_by_count), "   \
      "0) FROM work_topics wt JOIN works w ON w.id = wt.work_id WHERE wt.topic_id = "         \
      "topics.id) WHERE scheme = $1")                                                         \
    X(ST_VENUE_COUNTS, "venue_counts",                                                        \
      "UPDATE venues SET works_count = (SELECT COUNT(*) FROM works w WHERE w.venue_id = "     \
      "venues.id), cited_by_count = (SELECT COALESCE(SUM(w.cited_by_count), 0) FROM works w " \
      "WHERE w.venue_id = venues.id) WHERE id = $1")                                          \
    X(ST_INST_COUNTS, "institution_counts",                                                   \
      "UPDATE institutions SET works_count = (SELECT COUNT(DISTINCT s.work_id) FROM "         \
      "authorships s WHERE s.institution_id = institutions.id OR s.author_id IN (SELECT "     \
      "ai.author_id FROM author_institutions ai WHERE ai.institution_id = institutions.id)) " \
      "WHERE id = $1")                                                                        \
    /* ---- full text: dialect ---- */                                                        \
    X(ST_FTS_WORK_DEL, "fts_work_delete", NULL)                                               \
    X(ST_FTS_WORK_PUT, "fts_work_put", NULL)                                                  \
    X(ST_FTS_AUTHOR_DEL, "fts_author_delete", NULL)                                           \
    X(ST_FTS_AUTHOR_PUT, "fts_author_put", NULL)                                              \
    /* ---- reads ---- */                                                                     \
    X(ST_GET_WORK, "get_work",                                                                \
      "SELECT w.id, w.arxiv_id, w.doi, w.openalex_id, w.s2_id, w.title, w.year, w.date, "     \
      "w.type, w.venue_id, v.display_name, w.abstract, w.authors_truncated, "                 \
      "w.cited_by_count, w.has_code, w.score, w.src_cited_by_count, w.arxiv_version, "        \
      "w.language, w.tldr, w.tldr_model FROM works w LEFT JOIN venues v ON v.id = w.venue_id " \
      "WHERE w.id = $1")      \
    X(ST_GET_WORK_AUTHORSHIPS, "get_work_authorships",                                        \
      "SELECT s.position, s.author_id, a.display_name, s.raw_name, s.affiliation, "          \
      "s.institution_id, i.display_name FROM authorships s JOIN authors a ON a.id = "         \
      "s.author_id LEFT JOIN institutions i ON i.id = s.institution_id WHERE s.work_id = $1 " \
      "ORDER BY s.position, s.author_id")                                                     \
    X(ST_GET_WORK_TOPICS, "get_work_topics",                                                  \
      "SELECT t.id, t.display_name, t.scheme, t.code, wt.weight FROM work_topics wt JOIN "   \
      "topics t ON t.id = wt.topic_id WHERE wt.work_id = $1 ORDER BY wt.weight DESC NULLS "   \
      "LAST, t.id")                                                                           \
    X(ST_GET_WORK_REFS, "get_work_refs",                                                      \
      "SELECT ref, cited_id FROM citations WHERE citing_id = $1 ORDER BY id")                 \
    X(ST_GET_WORK_COUNTS, "get_work_counts",                                                  \
      "SELECT year, cited_by_count FROM work_counts WHERE work_id = $1 ORDER BY year DESC")   \
    X(ST_GET_WORK_PROV, "get_work_provenance",                                                \
      "SELECT d.id, d.uri, d.format, d.sha256, d.capture_date FROM provenance p JOIN "        \
      "source_docs d ON d.id = p.source_id WHERE p.kind = 1 AND p.fact_id = $1 ORDER BY d.id") \
    X(ST_GET_AUTHOR, "get_author",                                                            \
      "SELECT id, display_name, orcid, openalex_id, s2_id, works_count, cited_by_count, "     \
      "h_index, i10_index, coauthor_count, merged_into FROM authors WHERE id = $1")           \
    X(ST_GET_AUTHOR_NAMES, "get_author_names",                                                \
      "SELECT name FROM author_names WHERE author_id = $1 ORDER BY id")                       \
    X(ST_GET_AUTHOR_TOPICS, "get_author_topics",                                              \
      "SELECT t.id, t.display_name, x.count, x.share, t.scheme, t.code FROM author_topics x " \
      "JOIN topics t ON t.id = x.topic_id WHERE x.author_id = $1 ORDER BY x.count DESC, t.id") \
    X(ST_GET_AUTHOR_YEARS, "get_author_years",                                                \
      "SELECT w.year, COUNT(*), SUM(w.cited_by_count) FROM authorships a JOIN works w ON "   \
      "w.id = a.work_id WHERE a.author_id = $1 AND w.year IS NOT NULL GROUP BY w.year ORDER " \
      "BY w.year DESC")                                                                       \
    X(ST_GET_AUTHOR_CITE_YEARS, "get_author_cite_years",                                      \
      "SELECT wc.year, SUM(wc.cited_by_count) FROM authorships a JOIN work_counts wc ON "     \
      "wc.work_id = a.work_id WHERE a.author_id = $1 AND wc.cited_by_count IS NOT NULL "      \
      "GROUP BY wc.year ORDER BY wc.year DESC")                                               \
    X(ST_GET_AUTHOR_REPORTED_YEARS, "get_author_reported_years",                              \
      "SELECT year, works_count, cited_by_count FROM author_counts WHERE author_id = $1 "     \
      "ORDER BY year DESC")                                                                   \
    X(ST_GET_AUTHOR_INSTS, "get_author_institutions",                                         \
      "SELECT i.id, i.display_name, i.ror, i.country_code, ai.year FROM author_institutions " \
      "ai JOIN institutions i ON i.id = ai.institution_id WHERE ai.author_id = $1 ORDER BY "  \
      "ai.year DESC, i.id")                                                                   \
    X(ST_GET_AUTHOR_CLAIMS, "get_author_claims",                                              \
      "SELECT d.id, d.uri, d.format, d.capture_date, c.name, c.text, c.value, "              \
      "c.capture_date FROM claims c JOIN source_docs d ON d.id = c.source_id WHERE "          \
      "c.author_id = $1 ORDER BY d.id, c.name")                                               \
    X(ST_GET_AUTHOR_TOPIC_CLAIMS, "get_author_topic_claims",                                  \
      "SELECT d.id, d.uri, d.format, d.capture_date, c.record, c.list, c.rank, c.count, "    \
      "c.score, c.capture_date, t.id, t.display_name, t.scheme, t.code FROM "               \
      "author_topic_claims c JOIN source_docs d ON d.id = c.source_id JOIN topics t ON t.id " \
      "= c.topic_id WHERE c.author_id = $1 ORDER BY d.id, c.record, c.list, c.rank, t.id")   \
    X(ST_GET_AUTHOR_RECORD_CLAIMS, "get_author_record_claims",                                \
      "SELECT d.id, d.uri, d.format, d.capture_date, c.record, c.name, c.year, c.rank, "      \
      "c.text, c.value, c.ref, c.capture_date FROM author_claims c JOIN source_docs d ON "    \
      "d.id = c.source_id WHERE c.author_id = $1 ORDER BY d.id, c.record, c.name, c.rank, "   \
      "c.year")                                                                               \
    X(ST_GET_AUTHOR_OWNED, "get_author_owned",                                                \
      "SELECT d.id, d.uri, d.format, d.capture_date, o.method, o.confidence, o.runner_up, "   \
      "o.runner_up_confidence, o.evidence FROM ownership o JOIN source_docs d ON d.id = "     \
      "o.source_id WHERE o.author_id = $1 ORDER BY d.id")                                     \
    X(ST_GET_AUTHOR_MERGED_FROM, "get_author_merged_from",                                    \
      "SELECT id FROM authors WHERE merged_into = $1 ORDER BY id")                            \
    X(ST_GET_TOPIC, "get_topic",                                                              \
      "SELECT id, display_name, scheme, code, works_count, cited_by_count, description, "    \
      "subfield, field, domain FROM topics WHERE id = $1")                                                                              \
    X(ST_GET_VENUE, "get_venue",                                                              \
      "SELECT id, display_name, works_count, cited_by_count FROM venues WHERE id = $1")       \
    X(ST_GET_INST, "get_institution",                                                         \
      "SELECT id, display_name, ror, country_code, works_count, cited_by_count FROM "         \
      "institutions WHERE id = $1")                                                           \
    X(ST_ID_TOPIC_CODE, "id_topic_code",                                                      \
      "SELECT id FROM topics WHERE scheme = $1 AND code = $2")                                \
    X(ST_ID_INST_ROR, "id_institution_ror", "SELECT id FROM institutions WHERE ror = $1")     \
    X(ST_ID_EXISTS_AUTHOR, "id_author", "SELECT id FROM authors WHERE id = $1")               \
    X(ST_ID_EXISTS_TOPIC, "id_topic", "SELECT id FROM topics WHERE id = $1")                  \
    X(ST_ID_EXISTS_VENUE, "id_venue", "SELECT id FROM venues WHERE id = $1")                  \
    X(ST_ID_EXISTS_INST, "id_institution", "SELECT id FROM institutions WHERE id = $1")       \
    /* one row per (shared work, co-author): counted in store_author.c */                 \
    X(ST_COAUTHOR_IDS, "coauthor_ids",                                                        \
      "SELECT b.author_id FROM authorships a JOIN authorships b ON b.work_id = a.work_id AND " \
      "b.author_id <> a.author_id WHERE a.author_id = $1")                                    \
    X(ST_AUTHOR_WORKS_COUNT, "author_works_count",                                            \
      "SELECT COUNT(*) FROM authorships WHERE author_id = $1")                                \
    X(ST_AUTHOR_WORKS_TEXT, "author_works_text",                                              \
      "SELECT w.id, w.title, w.abstract, w.year, w.cited_by_count FROM authorships a JOIN "   \
      "works w ON w.id = a.work_id WHERE a.author_id = $1 ORDER BY w.cited_by_count DESC, "   \
      "w.id LIMIT $2")                                                                        \
    /* the graph view's works (store_graph.c): the author's most cited, and a   \
     * co-author's newest straight from the authorships index */                \
    X(ST_GRAPH_WORKS, "graph_works",                                                          \
      "SELECT w.id, w.title FROM authorships a JOIN works w ON w.id = a.work_id WHERE "       \
      "a.author_id = $1 ORDER BY w.cited_by_count DESC, w.id LIMIT $2")                       \
    X(ST_GRAPH_RECENT_WORKS, "graph_recent_works",                                            \
      "SELECT work_id FROM authorships WHERE author_id = $1 ORDER BY work_id DESC LIMIT $2")  \
    X(ST_STATS, "stats",                                                                      \
      "SELECT (SELECT COUNT(*) FROM works), (SELECT COUNT(*) FROM authors WHERE merged_into " \
      "IS NULL), (SELECT COUNT(*) FROM topics), (SELECT COUNT(*) FROM venues), (SELECT "      \
      "COUNT(*) FROM institutions), (SELECT COUNT(*) FROM citations), (SELECT COUNT(*) FROM " \
      "source_docs), (SELECT MAX(version) FROM schema_version)")                              \
    /* ---- schema ---- */                                                                    \
    X(ST_SCHEMA_VERSION, "schema_version", "SELECT COALESCE(MAX(version), 0) FROM schema_version") \
    X(ST_SCHEMA_RECORD, "schema_record",                                                      \
      "INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, $3)")           \
    X(ST_SEARCH_SNIPPET_UNUSED, "unused", "SELECT 1")

/* Deleting the facts of kind K in table T that only source $1 asserts. */
#define PGR_DEL_FACT(X, id, name, table, kind)                                                \
    X(id, name,                                                                               \
      "DELETE FROM " table " WHERE id IN (SELECT p.fact_id FROM provenance p WHERE "          \
      "p.source_id = $1 AND p.kind = " kind " AND NOT EXISTS (SELECT 1 FROM provenance q "    \
      "WHERE q.kind = " kind " AND q.fact_id = p.fact_id AND q.source_id <> $1))")

/* Resolving unresolved citation refs "prefix:value" against works.column. */
#define PGR_RESOLVE_REFS(X, id, name, prefix, column)                                         \
    X(id, name,                                                                               \
      "UPDATE citations SET cited_id = (SELECT w.id FROM works w WHERE w." column             \
      " = substr(citations.ref, length('" prefix "') + 1)) WHERE cited_id IS NULL AND "       \
      "substr(ref, 1, length('" prefix "')) = '" prefix "' AND EXISTS (SELECT 1 FROM works "  \
      "w WHERE w." column " = substr(citations.ref, length('" prefix "') + 1)) RETURNING "   \
      "cited_id")

/* A merge re-points table T's rows of author $2 to author $3, recording each
 * moved row under merge $1 (kind K) so the merge can be undone. */
#define PGR_MOVE(X, T, table, kind)                                                           \
    X(ST_MOVE_REC_##T, "merge_record_" table,                                                 \
      "INSERT INTO merge_moves (merge_id, kind, row_id) SELECT $1, " kind ", id"   \
      " FROM " table " WHERE author_id = $2")                                                 \
    X(ST_MOVE_DO_##T, "merge_move_" table, "UPDATE " table " SET author_id = $2 WHERE author_id = $1") \
    X(ST_MOVE_UNDO_##T, "merge_undo_" table,                                                  \
      "UPDATE " table " SET author_id = $2 WHERE id IN (SELECT row_id FROM "   \
      "merge_moves WHERE merge_id = $1 AND kind = " kind " AND data IS NULL)")


enum {
#define PGR_ST_ENUM(id, name, sql) id,
    PGR_STATEMENTS(PGR_ST_ENUM)
#undef PGR_ST_ENUM
        ST_COUNT
};

/* The shared statement texts and names, indexed by ST_* (store.c). */
extern const char *const pgr_sql_shared[ST_COUNT];
extern const char *const pgr_sql_names[ST_COUNT];

#endif
