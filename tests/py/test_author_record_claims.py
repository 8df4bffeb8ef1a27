"""What an author record reports about the author -- an OpenAlex author
object's works_count, cited_by_count, summary_stats, counts_by_year,
last_known_institutions, affiliations, ids and updated_date; a Semantic
Scholar author's paperCount, citationCount, hIndex, affiliations,
externalIds and homepage -- is that source's claim: stored per source with
its provenance and date (table author_claims, migration 005) on SQLite and
PostgreSQL, never mixed with the computed figures, replaced when the file
changes, refused when hostile; shown by the API under source_claims and on
the profile page (in Chromium). External ids are identity evidence: an ORCID
shared by two records merges their authors, recorded and undoable.

Expected figures are read from the fixture files themselves, not from our
parser."""
import copy
import json
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import jsonschema
import pytest
import requests

import apiutil
from test_api_contract import SPEC, resolve
from test_ingest import BIN, Db, ingest

ROOT = Path(__file__).resolve().parents[2]
OA = ROOT / "tests/data/fixtures/openalex/A5023888391.json"
S2 = ROOT / "tests/data/fixtures/s2/paper_turing1950_citations_trimmed_to_5.json"
BUILT = ROOT / "tests/data/author_claims"  # constructed records, see its README
TMP = Path(os.environ.get("PEERGRAPH_TEST_TMP", "/tmp"))
AS_OF = "2026-11-22"


def short(url):
    return url.rsplit("/", 1)[-1]


def num(v):
    return float(v) if v not in ("", None) else None


def expected_openalex(o):
    """{(name, year, rank): (value, text, ref)} as the OpenAlex author object gives them."""
    out = {}
    ss = o.get("summary_stats") or {}
    for name, v in (("works_count", o.get("works_count")), ("cited_by_count", o.get("cited_by_count")),
                    ("h_index", ss.get("h_index")), ("i10_index", ss.get("i10_index")),
                    ("2yr_mean_citedness", ss.get("2yr_mean_citedness"))):
        if v is not None:
            out[(name, 0, 0)] = (float(v), None, None)
    for c in o.get("counts_by_year") or []:
        for name in ("works_count", "cited_by_count"):
            if c.get(name) is not None:
                out[(name, c["year"], 0)] = (float(c[name]), None, None)
    for i, inst in enumerate(o.get("last_known_institutions") or []):
        out[("last_known_institutions", 0, i + 1)] = (None, inst["display_name"], inst["ror"])
    for i, a in enumerate(o.get("affiliations") or []):
        for y in a["years"]:
            out[("affiliations", y, i + 1)] = (None, a["institution"]["display_name"],
                                               a["institution"]["ror"])
    for i, (kind, v) in enumerate((o.get("ids") or {}).items()):
        out[("ids", 0, i + 1)] = (None, short(v) if kind == "orcid" else v, kind)
    if o.get("updated_date"):
        out[("updated_date", 0, 0)] = (None, o["updated_date"], None)
    return out


def stored(db, record):
    rows = db.rows("SELECT c.name, c.year, c.rank, c.value, c.text, c.ref, c.capture_date, d.uri, "
                   "d.format, c.author_id FROM author_claims c JOIN source_docs d ON "
                   "d.id = c.source_id WHERE c.record = '%s'" % record)
    return rows


def check_rows(db, record, want, date, uri, fmt):
    rows = stored(db, record)
    got = {}
    for name, year, rank, value, text, ref, cap, u, f, aid in rows:
        key = (name, int(year), int(rank))
        assert key not in got, key
        got[key] = (num(value), text or None, ref or None)
        # provenance: the file, its format, the record's date
        assert cap == date and u == str(uri) and f == fmt, (key, cap, u, f)
        assert aid, key
    for k, (value, text, ref) in want.items():
        g = got.get(k)
        assert g is not None, "missing %s" % (k,)
        if value is not None:
            assert g[0] == pytest.approx(value), k
            assert float(g[1]) == pytest.approx(value), k  # the text is the same number
        else:
            assert g[1] == text and g[2] == ref, (k, g)
    assert set(got) == set(want), set(got) ^ set(want)
    return got


@pytest.fixture(params=["sqlite", "postgres"])
def db(request):
    return Db(request.param)


def test_openalex_author_figures_stored_replaced_and_reingested_alike(db, tmp_path):
    path = tmp_path / OA.name
    shutil.copy(OA, path)
    obj = json.loads(OA.read_text())
    ingest(db.url, "--as-of", AS_OF, path, check=0)
    check_rows(db, "openalex:A5023888391", expected_openalex(obj), obj["updated_date"][:10], path,
               "openalex")
    # the claims belong to the author the record is (by its OpenAlex id)...
    aid = db.one("SELECT id FROM authors WHERE openalex_id = 'A5023888391'")
    assert {r[9] for r in stored(db, "openalex:A5023888391")} == {aid}
    # ...and are not the computed figures: the author has no works in this graph
    assert db.rows(f"SELECT works_count, cited_by_count, h_index, i10_index FROM authors "
                   f"WHERE id = {aid}") == [("0", "0", "0", "0")]
    assert db.one("SELECT COUNT(*) FROM claims") == "0"
    # the same file again changes nothing, byte for byte
    first = db.dump()
    p = ingest(db.url, "--as-of", AS_OF, path, check=0)
    assert "unchanged 1" in p.stdout
    assert db.dump() == first
    # a changed file replaces that source's claims: nothing of the old
    # record stays, the new figures and date are in
    new = copy.deepcopy(obj)
    new["summary_stats"]["h_index"] = 18
    new["summary_stats"]["2yr_mean_citedness"] = 6.25
    new["counts_by_year"] = [c for c in new["counts_by_year"] if c["year"] != 2012]
    new["counts_by_year"][0]["cited_by_count"] = 95
    del new["affiliations"][4]
    new["affiliations"][0]["years"] = [2024, 2023]
    del new["ids"]["scopus"]
    del new["works_count"]
    new["updated_date"] = "2025-07-01T08:00:00.000000"
    path.write_text(json.dumps(new))
    ingest(db.url, "--as-of", "2026-11-23", path, check=0)
    got = check_rows(db, "openalex:A5023888391", expected_openalex(new), "2025-07-01", path,
                     "openalex")
    assert got[("h_index", 0, 0)][0] == 18 and ("works_count", 0, 0) not in got
    assert ("works_count", 2012, 0) not in got and ("affiliations", 2010, 5) not in got


def test_another_database_gets_the_same_claims(tmp_path):
    """The same file into fresh SQLite and PostgreSQL databases: the same rows."""
    path = tmp_path / OA.name
    shutil.copy(OA, path)
    rows = []
    for backend in ("sqlite", "postgres"):
        d = Db(backend)
        ingest(d.url, "--as-of", AS_OF, path, check=0)
        rows.append(sorted((r[0], r[1], r[2], "%.10g" % float(r[3]) if r[3] else "", r[4], r[5], r[6])
                           for r in stored(d, "openalex:A5023888391")))
    assert rows[0] == rows[1] and len(rows[0]) == len(expected_openalex(json.loads(OA.read_text())))


def test_s2_author_object_in_a_paper(db, tmp_path):
    path = tmp_path / S2.name
    shutil.copy(S2, path)
    paper = json.loads(S2.read_text())
    a = paper["authors"][0]
    ingest(db.url, "--as-of", AS_OF, path, check=0)
    want = {("works_count", 0, 0): (float(a["paperCount"]), None, None),
            ("cited_by_count", 0, 0): (float(a["citationCount"]), None, None),
            ("h_index", 0, 0): (float(a["hIndex"]), None, None)}
    for i, name in enumerate(a["externalIds"]["DBLP"]):
        want[("ids", 0, i + 1)] = (None, name, "dblp")
    # S2 gives no date of its own: the file's capture date
    check_rows(db, "s2:" + a["authorId"], want, AS_OF, path, "s2")
    # the author record and the paper's authorship are one author
    aid = db.one("SELECT id FROM authors WHERE s2_id = '%s'" % a["authorId"])
    assert db.one(f"SELECT COUNT(*) FROM authorships WHERE author_id = {aid}") == "1"
    assert {r[9] for r in stored(db, "s2:" + a["authorId"])} == {aid}


# ---- hostile values: the file is refused, named with the place; nothing changes ----------

def _set(path, value):
    def f(o):
        cur = o
        for k in path[:-1]:
            cur = cur[k]
        cur[path[-1]] = value
    return f


HOSTILE = [
    ("negative h_index", _set(["summary_stats", "h_index"], -1), "summary_stats.h_index: -1 is out of range"),
    ("huge works_count", _set(["works_count"], 10 ** 15), "works_count: 1000000000000000 is out of range"),
    ("string i10_index", _set(["summary_stats", "i10_index"], "20"), "summary_stats.i10_index: expected a number"),
    ("fractional cited_by_count", _set(["cited_by_count"], 3890.5), "cited_by_count: 3890.5 is not an integer"),
    ("NaN as a string", _set(["summary_stats", "2yr_mean_citedness"], "NaN"),
     "summary_stats.2yr_mean_citedness: expected a number"),
    ("huge citedness", _set(["summary_stats", "2yr_mean_citedness"], 1e300),
     "2yr_mean_citedness: 1e+300 is out of range"),
    ("negative year count", _set(["counts_by_year", 0, "works_count"], -4), "works_count"),
    ("a year twice", lambda o: o["counts_by_year"].append(dict(o["counts_by_year"][0])), "listed twice"),
    ("year as a string", _set(["affiliations", 0, "years", 0], "2023"), "affiliations[0].years[0]: not a year"),
    ("bad ORCID check digit", _set(["ids", "orcid"], "https://orcid.org/0000-0001-6187-6611"),
     "ids.orcid: \"https://orcid.org/0000-0001-6187-6611\" is not an ORCID iD"),
    ("id that is an object", _set(["ids", "scopus"], {"x": 1}), "ids.scopus: expected an id string"),
    ("bad ROR", _set(["last_known_institutions", 0, "ror"], "https://ror.org/!"), "last_known_institutions[0].ror"),
    ("bad updated_date", _set(["updated_date"], "2025-13-45"), "updated_date: bad date"),
]
RAW = [  # not JSON at all: the parser's own message with the place
    ("NaN literal", lambda t: t.replace('"h_index":17', '"h_index":NaN'), "invalid JSON"),
    ("1e999", lambda t: t.replace('"h_index":17', '"h_index":1e999'), "invalid JSON"),
]


# every case on SQLite, a few on PostgreSQL too (the refusal is the parser's;
# the backends differ only in what a refused file leaves behind: nothing)
CASES = [("sqlite", c) for c in HOSTILE + RAW] + \
    [("postgres", c) for c in HOSTILE[:1] + HOSTILE[7:8] + HOSTILE[9:10] + RAW[:1]]


@pytest.mark.parametrize("backend,case", CASES, ids=["%s-%s" % (b, c[0]) for b, c in CASES])
def test_hostile_values_refused_with_file_and_place(backend, tmp_path, case):
    db = Db(backend)
    name, mutate, want = case
    path = tmp_path / OA.name
    shutil.copy(OA, path)
    ingest(db.url, "--as-of", AS_OF, path, check=0)
    before = db.dump()
    text = OA.read_text()
    assert '"h_index":17' in text
    if case in RAW:
        bad = mutate(text)
    else:
        o = json.loads(text)
        mutate(o)
        bad = json.dumps(o)
    path.write_text(bad)
    p = ingest(db.url, "--as-of", AS_OF, path, check=1)
    msg = p.stderr + p.stdout
    assert str(path) in msg and want in msg, msg
    if case in HOSTILE:
        assert "author A5023888391" in msg, msg
    assert re.search(r"line \d+: offset \d+", msg), msg
    # the file is refused whole: the graph (the earlier version's claims included) is as it was
    after = db.dump()
    after.pop("source_docs"), before.pop("source_docs")
    assert after == before


# ---- external ids are identity evidence --------------------------------------------------

def test_orcid_merges_the_authors_of_two_sources(db, tmp_path):
    files = [BUILT / "s2_paper_priem.json", OA, BUILT / "s2_author_priem.json"]
    for f in files:
        shutil.copy(f, tmp_path / f.name)
    ingest(db.url, "--as-of", AS_OF, tmp_path / files[0].name, check=0)
    ingest(db.url, "--as-of", AS_OF, tmp_path / files[1].name, check=0)
    live = "SELECT COUNT(*) FROM authors WHERE merged_into IS NULL"
    n_before = int(db.one(live))
    s2_author = json.loads(files[2].read_text())
    orcid = s2_author["externalIds"]["ORCID"]
    assert orcid == short(json.loads(OA.read_text())["orcid"])  # the same person by ORCID
    p = ingest(db.url, "--as-of", AS_OF, tmp_path / files[2].name, check=0)
    assert "merges 1" in p.stdout, p.stdout
    assert int(db.one(live)) == n_before - 1
    oa = db.one("SELECT id FROM authors WHERE openalex_id = 'A5023888391'")
    s2 = db.one("SELECT id FROM authors WHERE s2_id = '2011325'")
    keep, gone = sorted((int(oa), int(s2)))
    assert db.one(f"SELECT merged_into FROM authors WHERE id = {gone}") == str(keep)
    mid, evidence = db.rows(f"SELECT id, evidence FROM author_merges WHERE gone_id = {gone}")[0]
    assert "ORCID " + orcid in evidence and files[2].name in evidence
    # both records' claims are the one author's, each under its own source
    recs = {r[0] for r in db.rows(f"SELECT DISTINCT record FROM author_claims WHERE author_id = {keep}")}
    assert recs == {"openalex:A5023888391", "s2:2011325"}
    # and the merge can be undone
    r = subprocess.run([BIN, "ingest", "--db", db.url, "--unmerge", mid], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert int(db.one(live)) == n_before
    assert db.one(f"SELECT COUNT(*) FROM author_claims WHERE author_id = {gone}") != "0"


def test_a_second_openalex_id_with_the_same_orcid_keeps_finding_the_person(db, tmp_path):
    """OpenAlex sometimes splits a person into two author ids that share the
    ORCID: the second is merged into the first and stays findable by its id."""
    shutil.copy(OA, tmp_path / OA.name)
    twin = json.loads(OA.read_text())
    twin["id"] = twin["ids"]["openalex"] = "https://openalex.org/A5999999999"
    twin["summary_stats"]["h_index"] = 3
    (tmp_path / "A5999999999.json").write_text(json.dumps(twin))
    ingest(db.url, "--as-of", AS_OF, tmp_path / OA.name, check=0)
    p = ingest(db.url, "--as-of", AS_OF, tmp_path / "A5999999999.json", check=0)
    assert "merges 1" in p.stdout
    first = db.one("SELECT id FROM authors WHERE openalex_id = 'A5023888391'")
    second = db.one("SELECT merged_into FROM authors WHERE openalex_id = 'A5999999999'")
    assert second == first
    # each record's claims, on the one author, apart
    rows = db.rows(f"SELECT record, value FROM author_claims WHERE author_id = {first} AND name = 'h_index'")
    assert sorted((r, float(v)) for r, v in rows) == [("openalex:A5023888391", 17.0),
                                                       ("openalex:A5999999999", 3.0)]
    # the same file again: unchanged, nothing merged twice
    p = ingest(db.url, "--as-of", AS_OF, tmp_path / "A5999999999.json", check=0)
    assert "unchanged 1" in p.stdout


# ---- the API and the page ----------------------------------------------------------------

@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def served(request):
    db = Db(request.param)
    d = TMP / ("arc_" + uuid.uuid4().hex[:8])
    d.mkdir()
    for f in (OA, S2):
        shutil.copy(f, d / f.name)
    ingest(db.url, "--as-of", AS_OF, d, check=0)
    srv = apiutil.Server(db.url)
    yield db, srv, d
    srv.stop()
    shutil.rmtree(d, ignore_errors=True)


def author_schema():
    return resolve(SPEC["components"]["schemas"]["Author"])


def test_api_source_claims_per_record(served):
    db, srv, d = served
    obj = json.loads(OA.read_text())
    a = requests.get(srv.api + "/authors/openalex:A5023888391", timeout=30).json()
    jsonschema.Draft7Validator(author_schema()).validate(a)
    (sc,) = [s for s in a["source_claims"] if s.get("record") == "openalex:A5023888391"]
    assert sc["format"] == "openalex" and sc["uri"] == str(d / OA.name)
    assert sc["capture_date"] == obj["updated_date"][:10] and sc["updated_date"] == obj["updated_date"]
    c = sc["claims"]
    assert c["works_count"]["value"] == obj["works_count"]
    assert c["cited_by_count"]["value"] == obj["cited_by_count"]
    for k in ("h_index", "i10_index", "2yr_mean_citedness"):
        assert c[k]["value"] == obj["summary_stats"][k], k
        assert float(c[k]["text"]) == obj["summary_stats"][k], k
    assert sc["counts_by_year"] == sorted(obj["counts_by_year"], key=lambda x: -x["year"])
    assert [(i["display_name"], i["id"]) for i in sc["last_known_institutions"]] == \
        [(i["display_name"], i["ror"]) for i in obj["last_known_institutions"]]
    assert [(i["display_name"], i["id"], i["years"]) for i in sc["affiliations"]] == \
        [(x["institution"]["display_name"], x["institution"]["ror"], sorted(x["years"]))
         for x in obj["affiliations"]]
    assert [(i["kind"], i["value"]) for i in sc["ids"]] == \
        [(k, short(v) if k == "orcid" else v) for k, v in obj["ids"].items()]
    assert len(sc["topics"]) == 25 + 25 + 19  # the topic claims join the record's entry
    # never mixed with the computed figures
    assert a["works_count"] == 0 and a["summary_stats"]["h_index"] == 0
    # the S2 author record
    paper = json.loads(S2.read_text())
    s2a = db.one("SELECT id FROM authors WHERE s2_id = '%s'" % paper["authors"][0]["authorId"])
    a2 = requests.get(srv.api + "/authors/A" + s2a, timeout=30).json()
    jsonschema.Draft7Validator(author_schema()).validate(a2)
    (sc2,) = [s for s in a2["source_claims"] if s.get("record")]
    assert sc2["record"] == "s2:2262347" and sc2["format"] == "s2" and sc2["capture_date"] == AS_OF
    assert sc2["claims"]["h_index"]["value"] == paper["authors"][0]["hIndex"]
    assert sc2["claims"]["works_count"]["value"] == paper["authors"][0]["paperCount"]
    assert sc2["ids"] == [{"kind": "dblp", "value": "Alan M. Turing"}]


def test_profile_page_shows_each_source_figures_in_chromium(served):
    from selenium.webdriver.common.by import By

    from test_web_pages import console_errors, make_driver, quit_driver, wait_for
    db, srv, d = served
    obj = json.loads(OA.read_text())
    date = obj["updated_date"][:10]
    aid = short(requests.get(srv.api + "/authors/openalex:A5023888391", timeout=30).json()["id"])
    drv = make_driver(1280)
    try:
        drv.get(srv.base + "/authors/" + aid)
        wait_for(drv, lambda x: x.find_element(By.ID, "source-claims"))
        box = drv.find_element(By.ID, "source-claims")
        text = box.text
        ss = obj["summary_stats"]
        for label, v in (("h-index", ss["h_index"]), ("i10-index", ss["i10_index"]),
                         ("works", obj["works_count"]), ("citations", obj["cited_by_count"])):
            assert "%s %s per OpenAlex, %s" % (label, v, date) in text, (label, text)
        assert "record openalex:A5023888391, as of %s" % date in text
        # institutions with their years, ids, topics with the source's counts
        inst = drv.find_element(By.CSS_SELECTOR, "#source-claims .claim-insts").text
        assert "OurResearch (2019, 2021-2023)" in inst and "per OpenAlex, %s" % date in inst
        assert "University of North Carolina at Chapel Hill (2010-2014)" in inst
        ids = drv.find_element(By.CSS_SELECTOR, "#source-claims .claim-ids").text
        assert "orcid 0000-0001-6187-6610" in ids
        tops = drv.find_element(By.CSS_SELECTOR, "#source-claims .claim-topics").text
        t0 = obj["topics"][0]
        assert "Topics per OpenAlex, %s (topics)" % date in tops
        assert "%s (%d)" % (t0["display_name"], t0["count"]) in tops and "and 13 more" in tops
        # the per-year table, opened
        det = drv.find_element(By.CSS_SELECTOR, "#source-claims details.claim-years")
        det.find_element(By.TAG_NAME, "summary").click()
        rows = [r.text for r in det.find_elements(By.CSS_SELECTOR, "tbody tr")]
        c0 = obj["counts_by_year"][0]
        assert rows[0] == "%d %d %d" % (c0["year"], c0["works_count"], c0["cited_by_count"])
        assert len(rows) == len(obj["counts_by_year"])
        # the computed metrics stay apart
        computed = drv.find_element(By.ID, "computed-metrics").text
        assert "per " not in computed and "17" not in computed
        # a topic link leads to the topic's page
        link = drv.find_element(By.CSS_SELECTOR, "#source-claims a.claim-topic")
        href = link.get_dom_attribute("href")
        link.click()
        wait_for(drv, lambda x: x.current_url.endswith(href))
        assert drv.find_element(By.TAG_NAME, "h1").text == t0["display_name"]
        assert console_errors(drv) == []
        # at phone width the long ids (a Scopus URL) wrap inside the card
        drv.set_window_size(390, 900)
        drv.get(srv.base + "/authors/" + aid)
        wait_for(drv, lambda x: x.find_element(By.ID, "source-claims"))
        over = drv.execute_script(
            "return [...document.querySelectorAll('#source-claims .claim-source')]"
            ".filter(e => e.scrollWidth > e.clientWidth + 1).length")
        assert over == 0
        drv.set_window_size(1280, 900)
        # the S2 record's figures on Turing's page
        paper = json.loads(S2.read_text())
        s2a = db.one("SELECT id FROM authors WHERE s2_id = '%s'" % paper["authors"][0]["authorId"])
        drv.get(srv.base + "/authors/A" + s2a)
        text = wait_for(drv, lambda x: x.find_element(By.ID, "source-claims")).text
        assert "h-index %d per Semantic Scholar, %s" % (paper["authors"][0]["hIndex"], AS_OF) in text
        assert "works %d per Semantic Scholar" % paper["authors"][0]["paperCount"] in text
        assert "dblp Alan M. Turing" in text
        assert console_errors(drv) == []
    finally:
        quit_driver(drv)
