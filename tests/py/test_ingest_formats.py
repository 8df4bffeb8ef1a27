"""The ORCID, DBLP and BibTeX readers end to end: the real binary ingests the
fixtures (tests/data/fixtures/{orcid,dblp,bibtex}) and hand-made files into a
real SQLite file, read back with plain SQL. Dedup with the other formats by
DOI / arXiv id, and a refused file rolls its whole ingest back."""
import json
import os
import sqlite3
import subprocess
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("PEERGRAPH_BIN", str(ROOT / "build/release/peergraph"))
TMP = Path(os.environ.get("PEERGRAPH_TEST_TMP", "/tmp"))
FIX = ROOT / "tests/data/fixtures"


def formats():
    out = subprocess.run([BIN, "ingest", "--list-formats"], capture_output=True, text=True)
    return {line.split()[0] for line in out.stdout.splitlines() if line.strip()}


def need(fmt):
    if fmt not in formats():
        pytest.skip(f"format {fmt} not in this build")


class Db:
    def __init__(self):
        self.path = TMP / f"fmt_{uuid.uuid4().hex[:12]}.db"
        self.url = f"sqlite:{self.path}"

    def rows(self, sql, *args):
        con = sqlite3.connect(self.path)
        try:
            return list(con.execute(sql, args))
        finally:
            con.close()

    def one(self, sql, *args):
        r = self.rows(sql, *args)
        return r[0][0] if r else None

    def cleanup(self):
        self.path.unlink(missing_ok=True)


@pytest.fixture
def db():
    d = Db()
    yield d
    d.cleanup()


def ingest(db, *paths, check=None):
    p = subprocess.run([BIN, "ingest", "--db", db.url, "-q", "--as-of", "2026-11-22",
                        *map(str, paths)], capture_output=True, text=True, timeout=300)
    if check is not None:
        assert p.returncode == check, f"exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    return p


def snapshot_line(arxiv_id, title, authors, doi=None):
    parsed = [[a.split()[-1], " ".join(a.split()[:-1]), ""] for a in authors]
    return json.dumps({
        "id": arxiv_id, "submitter": authors[0], "authors": ", ".join(authors),
        "title": title, "comments": None, "journal-ref": None, "doi": doi,
        "report-no": None, "categories": "cs.CL", "license": None,
        "abstract": "We study " + title.lower() + ".",
        "versions": [{"version": "v1", "created": "Mon, 6 Jan 2020 00:00:00 GMT"}],
        "update_date": "2020-01-06", "authors_parsed": parsed}) + "\n"


def engine_arxiv(tmp_path):
    """Two arXiv works the other formats name: 2001.00001 by its arXiv id,
    2001.00002 by its DOI 10.1000/engine.1843."""
    arx = tmp_path / "a.jsonl"
    arx.write_text(snapshot_line("2001.00001", "Notes on the engine", ["Ada Lovelace", "C. Babbage"]) +
                   snapshot_line("2001.00002", "A sketch of the engine", ["Ada Lovelace"],
                                 doi="10.1000/engine.1843"))
    return arx


# ---- ORCID -------------------------------------------------------------------

ORCID_WORKS = """<?xml version="1.0" encoding="UTF-8"?>
<record:record path="/0000-0002-7319-2192" xmlns:record="http://www.orcid.org/ns/record"
  xmlns:common="http://www.orcid.org/ns/common" xmlns:person="http://www.orcid.org/ns/person"
  xmlns:personal-details="http://www.orcid.org/ns/personal-details"
  xmlns:activities="http://www.orcid.org/ns/activities" xmlns:work="http://www.orcid.org/ns/work"
  xmlns:employment="http://www.orcid.org/ns/employment">
 <common:orcid-identifier><common:path>0000-0002-7319-2192</common:path></common:orcid-identifier>
 <person:person path="/0000-0002-7319-2192/person">
  <person:name><personal-details:given-names>Ada</personal-details:given-names>
   <personal-details:family-name>Lovelace</personal-details:family-name></person:name>
 </person:person>
 <activities:activities-summary path="/0000-0002-7319-2192/activities">
  <activities:employments><activities:affiliation-group><employment:employment-summary>
   <common:start-date><common:year>2019</common:year></common:start-date>
   <common:organization><common:name>Analytical Engines Ltd</common:name>
    <common:disambiguated-organization>
     <common:disambiguated-organization-identifier>02nr0ka47</common:disambiguated-organization-identifier>
     <common:disambiguation-source>ROR</common:disambiguation-source>
    </common:disambiguated-organization></common:organization>
  </employment:employment-summary></activities:affiliation-group></activities:employments>
  <activities:works>
   <activities:group><work:work-summary put-code="1">
    <work:title><common:title>Notes on the engine</common:title></work:title>
    <common:external-ids><common:external-id><common:external-id-type>arxiv</common:external-id-type>
     <common:external-id-value>arXiv:2001.00001</common:external-id-value>
     <common:external-id-relationship>self</common:external-id-relationship></common:external-id>
    </common:external-ids>
    <work:type>preprint</work:type>
    <common:publication-date><common:year>2020</common:year></common:publication-date>
   </work:work-summary></activities:group>
   <activities:group><work:work-summary put-code="2">
    <work:title><common:title>Sketch of the engine</common:title></work:title>
    <common:external-ids><common:external-id><common:external-id-type>doi</common:external-id-type>
     <common:external-id-value>10.1000/ENGINE.1843</common:external-id-value>
     <common:external-id-relationship>self</common:external-id-relationship></common:external-id>
    </common:external-ids>
    <work:type>journal-article</work:type><work:journal-title>Scientific Memoirs</work:journal-title>
    <common:publication-date><common:year>2021</common:year><common:month>05</common:month>
     <common:day>04</common:day></common:publication-date>
   </work:work-summary></activities:group>
  </activities:works>
 </activities:activities-summary>
</record:record>
"""


def test_orcid_record_dedups_with_arxiv_and_openalex_by_ids(db, tmp_path):
    need("orcid")
    arx = engine_arxiv(tmp_path)
    rec = tmp_path / "ada.xml"
    rec.write_text(ORCID_WORKS)
    ingest(db, arx, check=0)
    ingest(db, rec, check=0)
    # the two ORCID works are the two arXiv works (by arXiv id and by DOI)
    assert db.one("SELECT COUNT(*) FROM works") == 2
    orcid_author = db.one("SELECT id FROM authors WHERE orcid = '0000-0002-7319-2192'")
    assert orcid_author is not None
    # the owner is an author of both works
    got = db.rows("SELECT w.arxiv_id FROM authorships s JOIN works w ON w.id = s.work_id "
                  "WHERE s.author_id = ? ORDER BY 1", orcid_author)
    assert [r[0] for r in got] == ["2001.00001", "2001.00002"]
    assert db.one("SELECT type FROM works WHERE doi = '10.1000/engine.1843'") in (
        "preprint", "journal-article")
    # the employment: the record's claim with its start year, and the
    # current institution (no end date) with its ROR id
    claims = db.rows("SELECT name, year, text, ref FROM author_claims WHERE record = "
                     "'orcid:0000-0002-7319-2192' AND name = 'affiliations'")
    assert claims == [("affiliations", 2019, "Analytical Engines Ltd", "https://ror.org/02nr0ka47")]
    inst = db.rows("SELECT i.display_name FROM author_institutions ai JOIN institutions i "
                   "ON i.id = ai.institution_id WHERE ai.author_id = ?", orcid_author)
    assert inst == [("Analytical Engines Ltd",)]
    # provenance: every fact of the record names the ORCID file
    src = db.one("SELECT id FROM source_docs WHERE uri LIKE '%ada.xml'")
    assert db.one("SELECT format FROM source_docs WHERE id = ?", src) == "orcid"


def test_orcid_fixtures_and_error(db):
    need("orcid")
    ingest(db, FIX / "orcid/record-3.0.xml", FIX / "orcid/works-3.0.xml",
           FIX / "orcid/record-full-3.0.json", check=0)
    assert db.one("SELECT COUNT(*) FROM works") == 5
    assert db.one("SELECT display_name FROM authors WHERE orcid = '0000-0002-7319-2192'") == \
        "Three releasecandidate1"
    assert db.one("SELECT doi FROM works WHERE title = 'Work Title'") == "10.1087/20120404"
    # the /works document's works go to the record's owner (same iD)
    owner = db.one("SELECT id FROM authors WHERE orcid = '8888-8888-8888-8880'")
    assert db.one("SELECT COUNT(*) FROM authorships WHERE author_id = ?", owner) == 4
    p = ingest(db, FIX / "orcid/error-3.0.xml", check=1)
    assert "error-3.0.xml" in p.stderr and "ORCID error" in p.stderr


def test_refused_file_rolls_back_everything(db, tmp_path):
    """A file that fails late (its last work has a bad year) leaves nothing:
    not the author record, not the works before the bad one."""
    need("orcid")
    bad = ORCID_WORKS.replace("<common:year>2021</common:year>", "<common:year>20021</common:year>")
    f = tmp_path / "bad.xml"
    f.write_text(bad)
    p = ingest(db, f, check=1)
    assert "bad.xml" in p.stderr and "line " in p.stderr and "publication-date.year" in p.stderr
    assert db.one("SELECT COUNT(*) FROM works") == 0
    assert db.one("SELECT COUNT(*) FROM authors") == 0
    assert db.one("SELECT COUNT(*) FROM author_claims") == 0
    assert db.one("SELECT COUNT(*) FROM source_docs WHERE uri LIKE '%bad.xml'") == 0


# ---- DBLP --------------------------------------------------------------------

DBLP_CURRENT = """<?xml version="1.0" encoding="ISO-8859-1"?>
<!DOCTYPE dblp SYSTEM "dblp.dtd">
<dblp>
<article mdate="2024-01-02" key="journals/corr/abs-2001-00001">
<author orcid="0000-0002-7319-2192">Ada Lovelace</author>
<author>Charles Babbage 0001</author>
<title>Notes on the engine.</title>
<journal>CoRR</journal><year>2020</year>
<ee type="oa">https://arxiv.org/abs/2001.00001</ee>
</article>
<inproceedings mdate="2024-01-02" key="conf/x/Lovelace21">
<author>Ada Lovelace</author>
<title>Sketch of the engine.</title>
<booktitle>Scientific Memoirs</booktitle><year>2021</year>
<ee>https://doi.org/10.1000/engine.1843</ee>
</inproceedings>
</dblp>
"""


def test_dblp_sample(db):
    need("dblp")
    ingest(db, FIX / "dblp/dblp_sample_2013_incollection_book.xml", check=0)
    assert db.one("SELECT COUNT(*) FROM works") == 1288
    assert db.one("SELECT COUNT(*) FROM works WHERE type = 'book'") == 144
    w = db.one("SELECT id FROM works WHERE doi = '10.1007/3-540-36678-4_6'")
    names = db.rows("SELECT a.display_name, s.raw_name FROM authorships s JOIN authors a "
                    "ON a.id = s.author_id WHERE s.work_id = ? ORDER BY s.position", w)
    assert names[0] == ("Andr\u00e9 Berton", "Andr\u00e9 Berton")
    assert len(names) == 4
    # the homonym number stays in the printed name only
    assert ("Markus Schmitt", "Markus Schmitt 0002") in db.rows(
        "SELECT a.display_name, s.raw_name FROM authorships s JOIN authors a "
        "ON a.id = s.author_id WHERE s.raw_name LIKE '% 0002'")


def test_dblp_dedups_with_arxiv_and_orcid(db, tmp_path):
    need("dblp")
    need("orcid")
    arx = tmp_path / "a.jsonl"
    arx.write_text(snapshot_line("2001.00001", "Notes on the engine", ["Ada Lovelace", "C. Babbage"]))
    d = tmp_path / "dblp.xml"
    d.write_bytes(DBLP_CURRENT.encode("latin-1"))
    rec = tmp_path / "ada.xml"
    rec.write_text(ORCID_WORKS)
    ingest(db, arx, d, rec, check=0)
    # arXiv + dblp (by arXiv id) + ORCID: one work; the DOI work: dblp + ORCID
    assert db.one("SELECT COUNT(*) FROM works") == 2
    assert db.one("SELECT COUNT(*) FROM source_docs WHERE format = 'dblp'") == 1
    ada = db.one("SELECT id FROM authors WHERE orcid = '0000-0002-7319-2192'")
    assert db.one("SELECT COUNT(*) FROM authorships WHERE author_id = ?", ada) == 2


def test_dblp_unknown_entity_rolls_back(db, tmp_path):
    need("dblp")
    bad = DBLP_CURRENT.replace("Sketch of", "Sk&eacute;tch &notanentity; of")
    d = tmp_path / "bad_dblp.xml"
    d.write_bytes(bad.encode("latin-1"))
    p = ingest(db, d, check=1)
    assert "bad_dblp.xml" in p.stderr and "line 13" in p.stderr and "&notanentity;" in p.stderr
    assert db.one("SELECT COUNT(*) FROM works") == 0
    assert db.one("SELECT COUNT(*) FROM authors") == 0


# ---- BibTeX ------------------------------------------------------------------

BIB = r"""% the engine papers
@string{sm = "Scientific Memoirs"}
@misc{lovelace2020notes,
  author = {Lovelace, Ada and Babbage, Charles and others},
  title = {Notes on the {E}ngine},
  year = 2020,
  eprint = {2001.00001}, archivePrefix = {arXiv},
}
@article{lovelace2021sketch,
  author = {Ada Lovelace},
  title = {Sketch of the engine},
  journal = sm,
  year = {2021},
  doi = {10.1000/ENGINE.1843},
}
@article{godel1931,
  author = {G{\"o}del, Kurt},
  title = {{\"U}ber formal unentscheidbare S{\"a}tze},
  journal = {Monatshefte f{\"u}r Mathematik und Physik},
  year = 1931,
}
"""


def test_bibtex_fixtures(db):
    need("bibtex")
    ingest(db, *sorted((FIX / "bibtex").glob("*.bib")), check=0)
    # 1 + 1 + 1 + 3 + 1 entries; the two "An amazing title" articles of 2013
    # (traps, article_with_strings, encoding) share title and year: one work
    titles = sorted(r[0] for r in db.rows("SELECT title FROM works"))
    assert "Computing Machinery and Intelligence" in titles
    assert "An amazing title" in titles and "An amazing title: \u00e0" in titles
    w = db.one("SELECT id FROM works WHERE doi = '10.1039/tf9383400029'")
    assert db.one("SELECT a.display_name FROM authorships s JOIN authors a ON a.id = s.author_id "
                  "WHERE s.work_id = ?", w) == "E. Wigner"
    assert ("Jean Laid\u00e9",) in db.rows("SELECT display_name FROM authors")


def test_bibtex_dedups_and_utf8(db, tmp_path):
    need("bibtex")
    arx = engine_arxiv(tmp_path)
    bib = tmp_path / "refs.bib"
    bib.write_text(BIB)
    ingest(db, arx, bib, check=0)
    assert db.one("SELECT COUNT(*) FROM works") == 3  # two dedup by arXiv id / DOI
    assert db.one("SELECT authors_truncated FROM works WHERE arxiv_id = '2001.00001'") == \
        "and others"
    g = db.one("SELECT id FROM works WHERE year = 1931")
    assert db.one("SELECT title FROM works WHERE id = ?", g) == \
        "\u00dcber formal unentscheidbare S\u00e4tze"
    assert db.one("SELECT a.display_name FROM authorships s JOIN authors a "
                  "ON a.id = s.author_id WHERE s.work_id = ?", g) == "Kurt G\u00f6del"
    assert db.one("SELECT format FROM source_docs WHERE uri LIKE '%refs.bib'") == "bibtex"


def test_bibtex_bad_entry_rolls_back(db, tmp_path):
    need("bibtex")
    bad = tmp_path / "bad.bib"
    bad.write_text(BIB + "@article{late, title = {T}, journal = nosuchmacro}\n")
    p = ingest(db, bad, check=1)
    line = BIB.count("\n") + 1
    assert "bad.bib" in p.stderr and f"line {line}: entry late: field journal" in p.stderr \
        and "nosuchmacro" in p.stderr, p.stderr
    assert db.one("SELECT COUNT(*) FROM works") == 0
    assert db.one("SELECT COUNT(*) FROM authors") == 0


# ---- through the API ---------------------------------------------------------

def test_orcid_record_through_the_api(db):
    """The ORCID record's person and work as the API shows them: the author
    found by its iD, the record's claims under source_claims, the work by
    its DOI with the owner as author. Expected values are read from the
    fixture itself."""
    need("orcid")
    import jsonschema
    import requests

    import apiutil
    from test_api_contract import SPEC, resolve
    path = FIX / "orcid/record-full-3.0.json"
    rec = json.loads(path.read_text())
    orcid = rec["orcid-identifier"]["path"]
    ingest(db, path, check=0)
    srv = apiutil.Server(db.url)
    try:
        a = requests.get(srv.api + "/authors/orcid:" + orcid, timeout=30).json()
        jsonschema.Draft7Validator(resolve(SPEC["components"]["schemas"]["Author"])).validate(a)
        name = rec["person"]["name"]
        assert a["display_name"] == name["given-names"]["value"] + " " + name["family-name"]["value"]
        (sc,) = [s for s in a["source_claims"] if s.get("record") == "orcid:" + orcid]
        assert sc["format"] == "orcid"
        assert sc["ids"][0] == {"kind": "orcid", "value": orcid}
        person_ids = rec["person"]["external-identifiers"]["external-identifier"]
        assert [(i["kind"], i["value"]) for i in sc["ids"][1:]] == \
            [(x["external-id-type"].lower(), x["external-id-value"]) for x in person_ids]
        assert sc["homepage"] == rec["person"]["researcher-urls"]["researcher-url"][0]["url"]["value"]
        acts = rec["activities-summary"]
        orgs = [s[k]["organization"]["name"] for kind, k in (("employments", "employment-summary"),
                                                              ("educations", "education-summary"))
                for g in acts[kind]["affiliation-group"] for s in g["summaries"]]
        assert [i["display_name"] for i in sc["affiliations"]] == orgs
        ws = acts["works"]["group"][0]["work-summary"][0]
        doi = ws["external-ids"]["external-id"][0]["external-id-value"]
        w = requests.get(srv.api + "/works/doi:" + doi, timeout=30).json()
        assert w["title"] == ws["title"]["title"]["value"]
        assert [x["author"]["display_name"] for x in w["authorships"]] == [a["display_name"]]
    finally:
        srv.stop()
