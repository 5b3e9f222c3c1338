#!/usr/bin/env python3
"""summary.py FILE: one line per event of a JSON Lines file of OpenLineage RunEvents,
"TYPE JOB [ntflow state]", after checking how the events hang together: each runId has one
START first and at most one end (COMPLETE, FAIL, ABORT) after it, with the same job; every
stage's parent facet names the pipeline's run (the one event without a parent); a FAIL has an
errorMessage. Exits 1 saying what is wrong."""
import json
import sys

events = [json.loads(l) for l in open(sys.argv[1])]
runs = {}
top = [e for e in events if "parent" not in e["run"].get("facets", {})]
top_ids = {e["run"]["runId"] for e in top}
if len(top_ids) != 1:
    sys.exit("summary: %d pipeline runs, not 1" % len(top_ids))
for e in events:
    rid, kind, facets = e["run"]["runId"], e["eventType"], e["run"].get("facets", {})
    seen = runs.setdefault(rid, [])
    if kind == "START" and seen:
        sys.exit("summary: a second START for %s" % rid)
    if kind != "START" and seen != ["START"]:
        sys.exit("summary: %s of %s after %s" % (kind, rid, seen))
    seen.append(kind)
    if "parent" in facets and facets["parent"]["run"]["runId"] not in top_ids:
        sys.exit("summary: %s's parent is not the run" % e["job"]["name"])
    if kind == "FAIL" and not facets.get("errorMessage", {}).get("message"):
        sys.exit("summary: FAIL of %s without an errorMessage" % e["job"]["name"])
    state = facets.get("ntflow", {}).get("state")
    print(kind, e["job"]["name"], *([state] if state else []))
