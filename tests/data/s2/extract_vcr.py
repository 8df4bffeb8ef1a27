#!/usr/bin/env python3
"""Turns the Semantic Scholar vcr recordings (tests/data/fixtures/s2/vcr_*.yaml,
copied from ../shared/fixtures/scholarly/s2) into JSON test inputs: one
{url, status_code, body} file per recorded interaction, the wrapper the s2
parser accepts. Run from the repository root; the outputs are committed under
tests/data/s2/vcr/ (re-run only when the fixtures change).

Two recorder dialects occur: response {status: {code}, body: {string}} and
response {status_code, content}."""
import glob
import json
import os

import yaml

out_dir = "tests/data/s2/vcr"
os.makedirs(out_dir, exist_ok=True)
for path in sorted(glob.glob("tests/data/fixtures/s2/vcr_*.yaml")):
    doc = yaml.safe_load(open(path, encoding="utf-8"))
    name = os.path.basename(path)[len("vcr_"):-len(".yaml")]
    for i, it in enumerate(doc["interactions"]):
        r = it["response"]
        body = r.get("body", r.get("content"))
        if isinstance(body, dict):
            body = body["string"]
        status = r.get("status_code")
        if status is None:
            status = r["status"]["code"]
        rec = {"url": it["request"]["uri"], "status_code": int(status), "body": body}
        with open(os.path.join(out_dir, "%s_%d.json" % (name, i)), "w", encoding="utf-8") as f:
            json.dump(rec, f, ensure_ascii=False, indent=1)
            f.write("\n")
