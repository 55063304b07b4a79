#!/usr/bin/env python3
"""Loads `a51d synth` output into a running a51d through its public API, as a
structure's or the payer's IT system would: the reference data (commune
deprivation, patients, claims, stays) as streamed uploads, structures and
members as JSON, then each structure's CSV files as streamed uploads, then
enrolment of the structures that are eligible, then the year's risk models
(fitted as jobs) and a score run.

  load-demo.py URL TOKEN DIR
"""
import json
import os
import sys
import time
import urllib.error
import urllib.request

URL, TOKEN, DIR = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]


def call(method, path, body=None, ctype="application/json", length=None):
    data = body
    if body is not None and ctype == "application/json":
        data = json.dumps(body).encode()
        length = len(data)
    req = urllib.request.Request(URL + path, data=data, method=method)
    req.add_header("Authorization", "Bearer " + TOKEN)
    if data is not None:
        req.add_header("Content-Type", ctype)
        req.add_header("Content-Length", str(length))
    try:
        with urllib.request.urlopen(req, timeout=3600) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def upload(path, kind, csv_file):
    size = os.path.getsize(csv_file)
    if size == 0:
        return None
    with open(csv_file, "rb") as f:
        if f.readline() and not f.readline():
            return None  # header only
        f.seek(0)
        status, body = call("POST", path + "?kind=" + kind, f, "text/csv", size)
    if status != 201:
        sys.exit("upload of %s failed (%d): %s" % (csv_file, status, json.dumps(body)[:2000]))
    return body


def main():
    status, existing = call("GET", "/v1/structures?limit=1")
    if status == 200 and existing["items"]:
        print("demo data already loaded", file=sys.stderr)
        return
    manifest = json.load(open(os.path.join(DIR, "manifest.json")))
    year = manifest["year"]
    ref_dir = os.path.join(DIR, "reference")
    if os.path.isdir(ref_dir):
        # deprivation names communes, not patients: it may come first
        for kind in ("deprivation", "patients", "claims", "stays"):
            f = os.path.join(ref_dir, kind + ".csv")
            r = upload("/v1/reference/uploads", kind, f) if os.path.exists(f) else None
            if r:
                print("reference %-16s %9d records in %6d ms" % (kind, r["records"],
                      r["timings_ms"]["parse"] + r["timings_ms"]["merge"]), file=sys.stderr)
    ids = {}
    for line in open(os.path.join(DIR, "structures.ndjson"), encoding="utf-8"):
        s = json.loads(line)
        body = {k: s[k] for k in ("kind", "name", "region", "commune", "legal_form", "siret", "finess") if k in s}
        status, created = call("POST", "/v1/structures", body)
        if status != 201:
            sys.exit("structure %s: %d %s" % (s["ref"], status, created))
        sid = created["id"]
        ids[s["ref"]] = (sid, s)
        for m in s["members"]:
            status, r = call("POST", "/v1/structures/%d/members" % sid, m)
            if status not in (201, 409):
                sys.exit("member of %s: %d %s" % (s["ref"], status, r))
        total = 0
        for kind in ("patients", "mt_declarations", "claims", "stays", "questionnaires"):
            f = os.path.join(DIR, "structures", s["ref"], kind + ".csv")
            if os.path.exists(f):
                r = upload("/v1/structures/%d/uploads" % sid, kind, f)
                total += r["records"] if r else 0
        print("%s %-45s %8d records  (%s)" % (s["ref"], s["name"][:45], total, s.get("intent", "")), file=sys.stderr)
    # enrol what is eligible on 1 January of the year
    on = "%d-01-01" % year
    for ref, (sid, s) in ids.items():
        for experiment, option in (("PEPS", "whole"), ("IPEP", None), ("EDS", "PTH"), ("EDS", "PTG"),
                                   ("EDS", "COLECTOMY")):
            q = "/v1/structures/%d/eligibility?experiment=%s&on=%s" % (sid, experiment, on)
            if option:
                q += "&option=" + option
            status, report = call("GET", q)
            if status == 200 and report["eligible"]:
                body = {"experiment": experiment, "start_on": on}
                if option:
                    body["option"] = option
                status, r = call("POST", "/v1/structures/%d/enrolments" % sid, body)
                if status == 201:
                    print("%s enrolled in %s%s" % (ref, experiment, " (" + option + ")" if option else ""),
                          file=sys.stderr)
    # risk models of the year, fitted by a51's workers, and the first structure's patientèle scored
    models = []
    for name, target, method in (("peps-gp", "peps_perimeter", "wls"), ("ipep-all", "all_care", "wls"),
                                 ("town-all", "town_all", "wls"), ("all-care-gamma", "all_care", "glm_gamma")):
        body = {"name": name, "year": year, "target": target, "method": method,
                "terms": ["age_sex", "ald_groups", "c2s", "ame", "n_chronic"],
                "truncation": {"type": "percentile", "p": 0.99}}
        status, job = call("POST", "/v1/risk-models", body)
        if status != 202:
            sys.exit("risk model %s: %d %s" % (name, status, job))
        models.append((name, job["id"]))
    # EDS: one model of episodes per option, on the cost of the episode at admission's risk factors
    for option, method in (("PTH", "log_ols"), ("PTG", "log_ols"), ("COLECTOMY", "glm_gamma")):
        body = {"name": "eds-" + option.lower(), "year": year, "target": "episode", "episode_option": option,
                "method": method, "terms": ["age_sex", "ald_groups", "c2s"] if option != "COLECTOMY"
                else ["ald_groups", "c2s"]}
        status, job = call("POST", "/v1/risk-models", body)
        if status != 202:
            sys.exit("risk model %s: %d %s" % (body["name"], status, job))
        models.append((body["name"], job["id"]))
    for name, job_id in models:
        job = wait(job_id)
        if job["status"] != "succeeded":
            sys.exit("risk model %s: %s" % (name, job.get("error")))
        print("risk model %-16s %s" % (name, job["result"]["url"]), file=sys.stderr)
    first = next(iter(ids.values()))[0] if ids else None
    if first:
        model_id = wait(models[0][1])["result"]["id"]
        status, job = call("POST", "/v1/risk-models/%d/score-runs" % model_id, {"structure_id": first})
        if status == 202 and wait(job["id"])["status"] == "succeeded":
            print("scores of structure %d: /v1/risk-models/%d/scores?structure_id=%d" % (first, model_id, first),
                  file=sys.stderr)
    # IPEP: the year's run of every enrolled groupement, in one national batch
    status, job = call("POST", "/v1/ipep/runs", {"year": year})
    if status == 202:
        done = wait(job["id"])
        print("IPEP runs of %d: %s" % (year, done["result"]["url"] if done["status"] == "succeeded"
                                     else done.get("error")), file=sys.stderr)
    # EDS: the year's reconciliation of every enrolled establishment and option, in one national batch
    status, job = call("POST", "/v1/eds/runs", {"year": year})
    if status == 202:
        done = wait(job["id"])
        print("EDS runs of %d: %s" % (year, done["result"]["url"] if done["status"] == "succeeded"
                                    else done.get("error")), file=sys.stderr)
    # PEPS: the year's simulation for every enrolled team, in one national batch
    status, job = call("POST", "/v1/peps/runs", {"year": year, "phase": "simulation"})
    if status == 202:
        done = wait(job["id"])
        if done["status"] == "succeeded":
            print("PEPS simulation of %d: %s" % (year, done["result"]["url"]), file=sys.stderr)
        else:
            print("PEPS simulation failed: %s" % done.get("error"), file=sys.stderr)
    # Quality indicators of every region with structures, the year before first
    # (the year's points count the progress made since)
    # (no IPEP parameter set is seeded for the year before: the demo copies the year's, saying so)
    status, sets = call("GET", "/v1/parameter-sets?experiment=IPEP&limit=100")
    have = {p["year"] for p in sets.get("items", [])} if status == 200 else set()
    if year - 1 not in have and year in have:
        latest = max((p for p in sets["items"] if p["year"] == year), key=lambda p: p["version"])
        status, full = call("GET", "/v1/parameter-sets/%d" % latest["id"])
        body = full["body"]
        body["year"] = year - 1
        body["label"] = "IPEP %d (demo: a copy of the %d values)" % (year - 1, year)
        call("POST", "/v1/parameter-sets", body)
    status, regions = call("GET", "/v1/structures?limit=500")
    for code in sorted({s["region"] for s in regions.get("items", [])} if status == 200 else []):
        for y in (year - 1, year):
            status, job = call("POST", "/v1/regions/%s/indicators/runs" % code, {"year": y})
            if status == 202:
                done = wait(job["id"])
                print("indicators of region %s, %d: %s" % (code, y, done["result"]["url"] if done["status"] == "succeeded"
                                                          else done.get("error")), file=sys.stderr)


def wait(job_id):
    while True:
        status, job = call("GET", "/v1/jobs/%d" % job_id)
        if status != 200 or job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.2)


main()
