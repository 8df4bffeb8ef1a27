"""docs/openapi.yaml against the live server: every endpoint the server
routes is described, every described endpoint is exercised, every described
query parameter is accepted, and every response (successes and errors)
validates against the schema the document gives for its status."""

import os

import jsonschema
import pytest
import requests
import yaml

import apiutil

SPEC_PATH = os.path.join(apiutil.ROOT, "docs", "openapi.yaml")
with open(SPEC_PATH) as f:
    SPEC = yaml.safe_load(f)


def resolve(node, depth=0):
    """Inlines $refs and turns OpenAPI 3.0's nullable into JSON Schema."""
    assert depth < 50, "recursive $ref in openapi.yaml"
    if isinstance(node, list):
        return [resolve(x, depth + 1) for x in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = SPEC
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        return resolve(target, depth + 1)
    out = {k: resolve(v, depth + 1) for k, v in node.items() if k not in ("nullable", "example")}
    if node.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


def operation(path):
    return SPEC["paths"][path]["get"]


def response_schema(path, status):
    responses = resolve(operation(path)["responses"])
    resp = responses.get(str(status))
    assert resp is not None, "openapi.yaml: %s has no %d response" % (path, status)
    content = resp.get("content", {}).get("application/json")
    return content and content["schema"]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(request):
    srv = apiutil.Server(apiutil.graph(request.param))
    yield srv
    srv.stop()


# (OpenAPI path, request path and query, expected status)
CALLS = [
    ("/", "", 200),
    ("/healthz", "/healthz", 200),
    ("/metrics", "/metrics", 200),
    ("/works", "/works", 200),
    ("/works", "/works?filter=publication_year:2018-2022,has_code:true&sort=cited_by_count:desc", 200),
    ("/works", "/works?search=graph&per-page=50", 200),
    ("/works", "/works?cursor=*&per_page=7", 200),
    ("/works", "/works?select=id,display_name,doi", 200),
    ("/works", "/works?group_by=publication_year", 200),
    ("/works", "/works?group-by=authorships.author.id", 200),
    ("/works", "/works?per-page=0", 400),
    ("/works/{id}", "/works/W1", 200),
    ("/works/{id}", "/works/W2?select=id,title", 200),
    ("/works/{id}", "/works/doi:10.5555/pg.1", 200),
    ("/works/{id}", "/works/W99999999", 404),
    ("/authors", "/authors?sort=works_count:desc", 200),
    ("/authors", "/authors?filter=display_name.search:smith", 200),
    ("/authors", "/authors?group_by=topics.id", 200),
    ("/authors", "/authors?filter=bogus:1", 400),
    ("/authors/{id}", "/authors/A1", 200),
    ("/authors/{id}", "/authors/A99999999", 404),
    ("/authors/{id}/coauthors", "/authors/A1/coauthors", 200),
    ("/authors/{id}/graph", "/authors/A1/graph", 200),
    ("/authors/{id}/graph", "/authors/A1/graph?depth=2&max_nodes=100", 200),
    ("/authors/{id}/graph", "/authors/A1/graph?depth=9", 400),
    ("/authors/{id}/summary", "/authors/A1/summary", 503),
    ("/authors/{id}/recommendations", "/authors/A1/recommendations?kind=works", 200),
    ("/authors/{id}/recommendations", "/authors/A1/recommendations?kind=coauthors&per_page=5", 200),
    ("/authors/{id}/recommendations", "/authors/A1/recommendations?kind=foo", 400),
    ("/authors/{id}/recommendations", "/authors/A99999999/recommendations", 404),
    ("/topics", "/topics", 200),
    ("/topics/{id}", "/topics/T1", 200),
    ("/sources", "/sources?sort=works_count:desc", 200),
    ("/sources/{id}", "/sources/S1", 200),
    ("/institutions", "/institutions", 200),
    ("/institutions/{id}", "/institutions/I1", 200),
    ("/autocomplete/{entity}", "/autocomplete/authors?q=a", 200),
    ("/autocomplete/{entity}", "/autocomplete/works?q=graph%20ne", 200),
    ("/autocomplete/{entity}", "/autocomplete/works", 400),
]


def test_every_described_path_is_exercised():
    assert {c[0] for c in CALLS} == set(SPEC["paths"])


def test_every_route_is_described(server):
    """The server's own index lists what it routes: each must be in the document."""
    index = requests.get(server.api, timeout=30).json()
    paths = {e["path"][len("/api/v1"):].replace("{id...}", "{id}") or "/"
             for e in index["endpoints"] if e["path"].startswith("/api/v1")}
    assert len(paths) >= 15
    missing = paths - set(SPEC["paths"])
    assert not missing, "routes missing from docs/openapi.yaml: %s" % sorted(missing)


@pytest.mark.parametrize("spec_path,req,status", CALLS, ids=[c[1][:60] or "/" for c in CALLS])
def test_response_matches_schema(server, spec_path, req, status):
    outside = "servers" in SPEC["paths"][spec_path]  # /healthz, /metrics: not under /api/v1
    r = requests.get((server.base if outside else server.api) + req, timeout=30)
    assert r.status_code == status, "%s -> %d %s" % (req, r.status_code, r.text[:400])
    if spec_path == "/metrics":
        assert "peergraph_http_requests_total" in r.text
        return
    schema = response_schema(spec_path, status)
    assert schema is not None
    body = r.json()
    jsonschema.Draft7Validator(schema).validate(body)
    if status == 503:
        assert r.headers.get("Retry-After")
    if status == 200 and isinstance(body, dict) and "results" in body and "meta" in body:
        assert len(body["results"]) <= body["meta"]["per_page"] or "autocomplete" in req


SAMPLE = {"integer": "1", "string": "x", "boolean": "true"}
PARAM_VALUES = {  # valid values for parameters whose sample would be refused
    "filter": None, "sort": None, "select": "id", "group_by": None, "group-by": None,
    "cursor": "*", "search": "graph", "q": "gr", "depth": "1", "kind": "works",
}


def test_every_described_parameter_is_accepted(server):
    """No parameter the document describes is answered 'unknown parameter'."""
    checked = 0
    for path, item in SPEC["paths"].items():
        op = item["get"]
        concrete = path.replace("{id}", "W1" if path.startswith("/works") else
                                "A1" if path.startswith("/authors") else
                                "T1" if path.startswith("/topics") else
                                "S1" if path.startswith("/sources") else "I1")
        concrete = concrete.replace("{entity}", "authors")
        if "servers" in item:
            continue
        for p in resolve(op.get("parameters", [])):
            if p["in"] != "query":
                continue
            name = p["name"]
            value = PARAM_VALUES.get(name, SAMPLE.get(p["schema"].get("type"), "x"))
            if value is None:
                continue  # entity-specific values: covered by the CALLS above
            url = "%s%s?%s=%s" % (server.api, concrete, name, value)
            if name != "q" and "autocomplete" in path:
                url += "&q=a"
            r = requests.get(url, timeout=30)
            if r.status_code == 400:
                assert "unknown parameter" not in r.json()["message"], (url, r.text)
            checked += 1
    assert checked > 40
