"""The author profile's summary and recommendation panels in a real browser
(headless Chromium, as test_web_pages.py): with the real model the summary
streams into the page (EventSource on the SSE endpoint: the text grows over
several observations before the final answer, which is the JSON endpoint's);
without a model the panel says inference is unavailable, with and without
JavaScript; the recommendations list renders with their signals and links.
Generation uses the endpoint's default length (96 tokens) on SmolLM2-135M:
a few seconds on the shared 2-core machine."""
import os
import re
import subprocess
import time

import pytest
import requests

from pgserver import BIN, Server, fresh_sqlite
from test_web_pages import (CAPTURE, SEEDS, author_id, console_errors, make_driver, quit_driver,
                            section, text_of)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODEL = os.path.join(ROOT, "models", "smollm2-135m-instruct-q4_1.gguf")


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    url = fresh_sqlite(tmp_path_factory.mktemp("webinf"))
    r = subprocess.run([BIN, "ingest", "--db", url, "--as-of", CAPTURE] + SEEDS,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return url


@pytest.fixture(scope="module")
def browser():
    if not (os.path.exists("/usr/bin/chromium") and os.path.exists("/usr/bin/chromedriver")):
        pytest.fail("chromium and chromium-driver are needed (make deps installs them)")
    drv = make_driver(1280)
    yield drv
    quit_driver(drv)


def panel_state(d, pid):
    return d.execute_script(
        "var p = document.getElementById(arguments[0]);"
        "var t = document.getElementById('summary-text');"
        "return [p.dataset.state || '', t ? t.textContent : '', p.textContent];", pid)


def test_summary_streams_in_with_the_model(db, browser):
    if not os.path.exists(MODEL):
        pytest.fail("no model at %s (make model)" % MODEL)
    s = Server(db, ["--model", MODEL])
    try:
        aid = author_id(s, "Zhengxuan Wu")
        html = requests.get(s.url + "/authors/" + aid).text
        assert 'data-inference="on"' in section(html, "summary-panel", "</div>")
        d = browser
        d.get(s.url + "/authors/" + aid)
        seen, state, t0 = [], "", time.monotonic()
        while time.monotonic() - t0 < 240:
            state, text, _ = panel_state(d, "summary-panel")
            if state == "streaming" and (not seen or seen[-1] != text):
                seen.append(text)
            if state in ("ok", "unavailable"):
                break
            time.sleep(0.05)
        assert state == "ok", "summary panel ended in state %r: %s" % (
            state, panel_state(d, "summary-panel")[2])
        final = panel_state(d, "summary-panel")[1]
        # progressive: several growing prefixes of the final text were on the page
        assert len(seen) >= 3, seen
        assert all(final.startswith(x) for x in seen) and len(set(map(len, seen))) == len(seen)
        assert len(seen[0]) < len(final)
        note = d.find_element("id", "summary-note").text
        assert os.path.basename(MODEL) in note
        # the same summary as the JSON endpoint gives (now from the cache)
        j = requests.get(s.url + "/api/v1/authors/%s/summary" % aid, timeout=300).json()
        assert j["cached"] is True and j["summary"] == final
        assert console_errors(d) == []
    finally:
        s.stop()


def test_panels_without_a_model(db, browser):
    s = Server(db)
    try:
        aid = author_id(s, "Zhengxuan Wu")
        # no JavaScript: the server's own words
        html = requests.get(s.url + "/authors/" + aid).text
        panel = section(html, "summary-panel", "</div>")
        assert 'data-inference="off"' in panel
        assert "Not available: inference is not running on this server" in text_of(panel)
        recs = section(html, "recs-panel", "</div>")
        assert '/api/v1/authors/%s/recommendations?kind=works"' % aid in recs
        d = browser
        d.get(s.url + "/authors/" + aid)
        assert panel_state(d, "summary-panel")[0] == "unavailable"
        assert "inference is not running" in d.find_element("id", "summary-panel").text
        deadline = time.monotonic() + 30
        while panel_state(d, "recs-panel")[0] != "ok" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert panel_state(d, "recs-panel")[0] == "ok", d.find_element("id", "recs-panel").text
        assert "graph signals only" in d.find_element("id", "recs-note").text
        assert console_errors(d) == []
    finally:
        s.stop()


def test_recommendations_render_with_signals(db, browser):
    s = Server(db)
    try:
        d = browser
        for name in ("Zhengxuan Wu", "Huanyi Xie"):
            aid = author_id(s, name)
            want = requests.get(s.url + "/api/v1/authors/%s/recommendations?kind=works&per_page=8"
                                % aid, timeout=60).json()["results"]
            people = requests.get(s.url + "/api/v1/authors/%s/recommendations?kind=coauthors&per_page=5"
                                  % aid, timeout=60).json()["results"]
            d.get(s.url + "/authors/" + aid)
            deadline = time.monotonic() + 30
            while panel_state(d, "recs-panel")[0] != "ok" and time.monotonic() < deadline:
                time.sleep(0.05)
            items = d.find_elements("css selector", "#recs-panel .recs-works li")
            assert [i.get_attribute("data-id") for i in items] == [r["id"].rsplit("/", 1)[1] for r in want]
            assert want, "the seed owners have co-authors' works to recommend"
            own = set(re.findall(r'<li class="work"[^>]*>\s*<h3 class="work-title"><a href="/works/(W\d+)"',
                                 requests.get(s.url + "/authors/" + aid).text))
            for li, r in zip(items, want):
                link = li.find_element("tag name", "a")
                assert link.get_attribute("href").endswith("/works/" + r["id"].rsplit("/", 1)[1])
                assert link.text == r["title"]
                assert r["id"].rsplit("/", 1)[1] not in own
                sig = li.find_element("css selector", ".signals").text
                for n in r["signals"].get("coauthors", []):
                    assert n in sig
                for t in r["signals"].get("shared_topics", [])[:3]:
                    assert t in sig
                assert sig.strip()
            pitems = d.find_elements("css selector", "#recs-panel .recs-coauthors li")
            assert len(pitems) == len(people)
            for li, r in zip(pitems, people):
                assert li.find_element("tag name", "a").get_attribute("href").endswith(
                    "/authors/" + r["id"].rsplit("/", 1)[1])
            # a recommendation link leads to its page
            if items:
                items[0].find_element("tag name", "a").click()
                deadline = time.monotonic() + 15
                while not re.search(r"/works/W\d+$", d.current_url) and time.monotonic() < deadline:
                    time.sleep(0.05)
                assert re.search(r"/works/W\d+$", d.current_url)
            assert console_errors(d) == []
    finally:
        s.stop()
