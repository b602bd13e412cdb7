#!/usr/bin/python3
# validate.py FILE - check each line of FILE, {"schema": "<name>", "doc": ..., "valid": bool?},
# against tests/data/authzen/<name>.schema.json (our transcription of the AuthZEN 1.0 text; see
# README.md) with Debian's python3-jsonschema. "valid": false marks a document that must be
# rejected (proving the schemas can fail). Prints each mismatch; exits 1 when there is one.
import json
import os
import sys

import jsonschema
from jsonschema.validators import RefResolver

here = os.path.dirname(os.path.abspath(__file__))
store = {}
for name in os.listdir(here):
    if name.endswith(".schema.json"):
        with open(os.path.join(here, name)) as f:
            s = json.load(f)
        store[s["$id"]] = s
        store[name] = s

bad = 0
n = 0
with open(sys.argv[1]) as f:
    for lineno, line in enumerate(f, 1):
        if not line.strip():
            continue
        item = json.loads(line)
        schema = store[item["schema"] + ".schema.json"]
        resolver = RefResolver(base_uri=schema["$id"], referrer=schema, store=store)
        v = jsonschema.Draft202012Validator(schema, resolver=resolver)
        errors = list(v.iter_errors(item["doc"]))
        want_valid = item.get("valid", True)
        n += 1
        if bool(errors) == want_valid:
            bad += 1
            why = "; ".join(e.message for e in errors) or "accepted"
            print("line %d (%s, want valid=%s): %s: %s" % (lineno, item["schema"], want_valid,
                  why, json.dumps(item["doc"])[:300]))
print("authzen schemas: %d documents, %d mismatches" % (n, bad))
sys.exit(1 if bad else 0)
