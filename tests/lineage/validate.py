#!/usr/bin/env python3
"""validate.py SCHEMA FILE: each line of FILE (JSON Lines) is one OpenLineage RunEvent valid
against SCHEMA, with formats checked (uuid, date-time where python3-jsonschema can); exits 1
naming the first bad line."""
import json
import sys

import jsonschema

schema = json.load(open(sys.argv[1]))
cls = jsonschema.validators.validator_for(schema)
validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
n = 0
for n, line in enumerate(open(sys.argv[2]), 1):
    event = json.loads(line)
    errors = sorted(validator.iter_errors(event), key=lambda e: list(e.path))
    if errors:
        print("%s:%d: %s" % (sys.argv[2], n, errors[0].message[:400]), file=sys.stderr)
        sys.exit(1)
    if "schemaURL" not in event or "eventType" not in event:
        print("%s:%d: no schemaURL or eventType" % (sys.argv[2], n), file=sys.stderr)
        sys.exit(1)
if n == 0:
    print("%s: no events" % sys.argv[2], file=sys.stderr)
    sys.exit(1)
print("%d events valid" % n)
