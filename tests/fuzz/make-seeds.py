#!/usr/bin/env python3
"""Writes the seed inputs of the fuzz corpora (tests/fuzz/corpus/NAME/seed-*)
from the route table, the example uploads, the parameter sets and typical
request bodies. Reproducers of fixed crashes (other names) are left alone.
Run again after adding routes, upload kinds or body fields:

  tests/fuzz/make-seeds.py
"""
import glob
import json
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")


def write(name, seeds):
    d = os.path.join(CORPUS, name)
    os.makedirs(d, exist_ok=True)
    for f in glob.glob(os.path.join(d, "seed-*")):
        os.remove(f)
    for i, data in enumerate(seeds):
        if isinstance(data, str):
            data = data.encode()
        with open(os.path.join(d, "seed-%03d" % i), "wb") as f:
            f.write(data)


def routes():
    text = open(os.path.join(ROOT, "src", "api", "routes.c")).read()
    return re.findall(r'\{ HTTP_(\w+), "([^"]+)", (PERM_\w+), (\w+),', text)


# ---- ids: what clients send, well-formed or nearly ----
ids = ["158046912304513", "1 58 04 69 123 045 13", "145072A00401720", "1 45 07 2a 004 017 20",
       "262116938101229", "262116938101228", "758129912345678", "10012345673", "10012345674",
       "732829320", "73282932000074", "35600000000048", "35600000012345", "690781810", "690781811",
       "2A0000012", "970000017", "", " ", "1580469123045131"]
write("ids", ids)

# ---- router: every route with its method, and near misses ----
codes = {"GET": 1, "POST": 2, "PUT": 3, "PATCH": 4, "DELETE": 5, "HEAD": 6, "OPTIONS": 7}
seeds = []
for method, path, perm, body in routes():
    concrete = re.sub(r"\{[a-z_]+\}", "12", path)
    seeds.append(bytes([codes[method]]) + concrete.encode())
    seeds.append(bytes([codes["HEAD"] if method == "GET" else codes["OPTIONS"]]) + concrete.encode())
seeds += [b"\x01/v1//structures", b"\x01/v1/structures/", b"\x01v1/structures", b"\x01/",
          b"\xf0\x01/v1/a/{x}\n\x02/v1/a/b\n\x01/v1/{a}/{b}/c",
          b"\xf8application/json; charset=utf-8", b"\xf9text/csv;charset=windows-1252",
          b"\xfa  APPLICATION/X-NDJSON  ", b"\xfbapplication/jsonx"]
write("router", seeds)

# ---- upload: each example file under a selector of its kind and format ----
kinds = ["patients", "mt_declarations", "claims", "stays", "questionnaires", "deprivation"]


def selector(kind, ndjson=False, charset=0, resolve=False):
    for sel in range(256):
        if (sel % 6 == kinds.index(kind) and ((sel >> 3) & 1) == ndjson and ((sel >> 4) & 3) % 3 == charset
                and bool(sel & 0x80) == resolve):
            return bytes([sel])
    raise SystemExit("no selector for " + kind)


seeds = []
for f in sorted(glob.glob(os.path.join(ROOT, "tests", "data", "uploads", "*"))):
    base = os.path.basename(f)
    if base.endswith(".md"):
        continue
    kind = base.split(".")[0].split("-windows")[0]
    data = open(f, "rb").read()
    seeds.append(selector(kind, base.endswith(".ndjson"), 1 if "windows-1252" in base else 0) + data)
    seeds.append(selector(kind, base.endswith(".ndjson"), 1 if "windows-1252" in base else 0, True) + data)
seeds.append(selector("deprivation") + b"commune;quintile;score\n69123;3;0,512345\n2A004;5;-1.25\n69381;6;1e3\n")
seeds.append(selector("patients", True) +
             b'{"nir":"158046912304513","birth":"1958-04","sex":1,"commune":"69381","c2s":false,"ald":"8/2016-05-12"}\n')
write("upload", seeds)

# ---- params: parameter sets, their structured values, risk-model definitions ----
seeds = []
for f in sorted(glob.glob(os.path.join(ROOT, "src", "domain", "params", "*-2024.json"))):
    body = json.load(open(f))
    seeds.append(json.dumps(body, ensure_ascii=False, separators=(",", ":")))
    if body["experiment"] == "IPEP":
        for k in ("indicators.catalogue", "indicators.experience"):
            seeds.append(json.dumps(body["parameters"][k]["value"], ensure_ascii=False))
models = [
    {"name": "peps-gp", "year": 2024, "target": "peps_perimeter", "terms": ["age_sex", "ald_groups", "c2s", "ame",
     "n_chronic"], "method": "wls", "truncation": {"type": "percentile", "p": 0.99}},
    {"name": "m", "year": 2024, "region": "84", "target": "town_all", "acts": ["G", "GS", "VG"], "terms":
     ["age_sex", "deprivation"], "interactions": [["age_sex", "deprivation"]], "method": "glm_poisson",
     "truncation": {"type": "winsorize", "low": 0.01, "high": 0.99},
     "ald_groups": [[8], [1, 2, 3], [5], [15, 16], [23], [30], []]},
    {"name": "eds-pth", "year": 2024, "target": "episode", "episode_option": "PTH", "method": "log_ols",
     "terms": ["age_sex", "ald_groups", "c2s"], "acts": "all", "exposure_weights": False},
    {"name": "all", "year": 2024, "target": "all_care", "include_stays": True, "method": "glm_gamma",
     "terms": ["age_sex"]},
]
seeds += [json.dumps(m) for m in models]
write("params", seeds)

# ---- fields: selector, query, NUL, path parameter, NUL, body ----
seeds = [b"\x00limit=10&cursor=5&format=csv\x0012\x00{\"name\":\"x\",\"year\":2024,\"on\":\"2024-02-29\"}",
         b"\x91year=2018&on=2024-13-01&kind=PEPS\x0084\x00{\"x\":true,\"what_if\":false,\"start_on\":\"2024-01-01\"}",
         b"\x42x=%41%00b&name=a+b&limit=-1\x00012\x00[1,2]",
         b"\x17cursor=9223372036854775807&year=2100\x009223372036854775808\x00{\"limit\":9223372036854775807}",
         b"\x80\x00\x00{\"name\":\"\xc3\xa9t\xc3\xa9\",\"kind\":\"csv\",\"format\":null}",
         b"\x05\x00\x00{\"a\":1,\"a\":2}"]
write("fields", seeds)

# ---- api: route index, caller, path parameters, query, headers, body (NUL-separated) ----
NAT, ARS, ARS_OTHER, STRUCT, RO = 0, 1, 2, 3, 4
rts = [r for r in routes() if r[1] != "/metrics"]
rpps, nir = "10012345673", "158046912304513"
bodies = {
    "POST /v1/tokens": '{"name":"t","scope":"ars:84","write":true,"expires_on":"2030-01-01"}',
    "POST /v1/structures": '{"kind":"ES","name":"Clinique","finess":"690781810","siret":"73282932000074",'
                           '"region":"84","commune":"69381","legal_form":"ESPIC","opened_on":"2020-01-01"}',
    "PATCH /v1/structures/{id}": '{"name":"Renamed","commune":"69123"}',
    "POST /v1/structures/{id}/close": '{"closed_on":"2025-12-31"}',
    "POST /v1/structures/{id}/members": '{"rpps":"%s","profession":"MG","last_name":"Martin","first_name":'
                                        '"Claire","start_on":"2022-01-01","fte":0.5}' % rpps,
    "PATCH /v1/structures/{id}/members/{membership_id}": '{"fte":0.8,"end_on":"2024-12-31"}',
    "POST /v1/structures/{id}/patients": '{"nir":"%s","birth":"1958-04","sex":1,"commune":"69381",'
                                         '"c2s":true,"ald":[{"code":8,"start_on":"2016-05-12"}]}' % nir,
    "POST /v1/structures/{id}/patients/lookup": '{"nir":"%s"}' % nir,
    "POST /v1/structures/{id}/mt-declarations": '{"patient_id":1,"gp_rpps":"%s","start_on":"2022-03-01"}' % rpps,
    "POST /v1/structures/{id}/enrolments": '{"experiment":"EDS","option":"PTH","start_on":"2024-02-01"}',
    "POST /v1/structures/{id}/enrolments/{enrolment_id}/phases": '{"phase":"retrospective","start_on":"2024-06-01"}',
    "POST /v1/structures/{id}/enrolments/{enrolment_id}/withdrawal": '{"on":"2024-04-01","reason":"test"}',
    "POST /v1/risk-models": json.dumps(models[0]),
    "POST /v1/risk-models/{id}/scores": '{"profiles":[{"sex":2,"age":78,"ald":[8],"c2s":true,"ref":"a"},'
                                        '{"sex":1,"age":40,"ald_groups":["diabetes"],"exposure":0.5,'
                                        '"deprivation_quintile":3}],"year":2024}',
    "POST /v1/risk-models/{id}/score-runs": '{"structure_id":1,"year":2024}',
    "POST /v1/structures/{id}/peps/runs": '{"year":2024,"quarter":2,"phase":"prospective","what_if":true,'
                                          '"option":"whole","parameter_set_id":1,"quality_score":0.5}',
    "POST /v1/peps/runs": '{"year":2024,"phase":"simulation","region":"84"}',
    "PUT /v1/peps/runs/{id}/distribution": '{"key":"fte","shares":[{"rpps":"%s","cents":100},'
                                           '{"rpps":"10023456782","cents":0}]}' % rpps,
    "PUT /v1/structures/{id}/ipep/quality/{year}":
        '{"indicators":[{"code":"MT_ACCESS","a_la_carte":false,"decreasing":false,"value":0.8,"previous":0.7,'
        '"deciles":[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9]},{"code":"RH30","decreasing":true,"value":null,'
        '"deciles":[1,2,3,4,5,6,7,8,9]}],"experience_points":12.5,"respondents":40}',
    "POST /v1/structures/{id}/ipep/runs": '{"year":2024,"what_if":true,"phase":"phase2","parameter_set_id":3}',
    "POST /v1/ipep/runs": '{"year":2024,"region":"84"}',
    "POST /v1/structures/{id}/eds/runs": '{"year":2024,"option":"PTH","what_if":true,"phase":"two_sided"}',
    "POST /v1/eds/runs": '{"year":2024,"region":"84","option":"PTG"}',
    "POST /v1/regions/{code}/indicators/runs": '{"year":2024,"parameter_set_id":2}',
    "POST /v1/parameter-sets": json.dumps(json.load(open(os.path.join(ROOT, "src/domain/params/eds-2024.json"))),
                                          ensure_ascii=False, separators=(",", ":")),
}
queries = {
    "/v1/structures": "region=84&kind=MSP&experiment=PEPS&limit=2&cursor=3",
    "/v1/structures/{id}/eligibility": "experiment=EDS&option=PTH&on=2024-02-01",
    "/v1/structures/{id}/patients": "limit=1000&cursor=0",
    "/v1/structures/{id}/uploads": "kind=claims&limit=5",
    "/v1/reference/uploads": "kind=deprivation",
    "/v1/uploads/{id}/errors": "format=csv&limit=10",
    "/v1/jobs": "status=running&kind=peps.run&limit=3",
    "/v1/risk-models": "name=peps-gp&year=2024&include_revoked=true",
    "/v1/risk-models/{id}/scores": "structure_id=1&explain=true&limit=20&cursor=4",
    "/v1/risk-models/{id}/scores/{patient_id}": "reference=true&year=2024",
    "/v1/peps/runs": "structure_id=1&year=2024&phase=simulation&what_if=false&batch_id=2&current=true",
    "/v1/peps/runs/{id}/lines": "format=csv&limit=2000000",
    "/v1/peps/runs/{id}/distribution": "key=prior_ffs",
    "/v1/ipep/runs": "structure_id=2&year=2024&current=false&limit=500",
    "/v1/ipep/runs/{id}/lines": "format=json&cursor=10",
    "/v1/eds/runs": "structure_id=1&option=COLECTOMY&year=2024&what_if=true",
    "/v1/eds/runs/{id}/episodes": "included=false&reason=death&complications=true&format=csv",
    "/v1/regions/{code}/indicators/runs": "year=2024&limit=1",
    "/v1/structures/{id}/dashboard": "year=2024&format=csv",
    "/v1/structures/{id}/care-gaps": "year=2024&indicator=HBA1C&limit=1000&cursor=12",
    "/v1/regions/{code}/dashboard": "year=2023&format=json",
    "/v1/parameter-sets": "experiment=IPEP&year=2025&limit=100",
    "/v1/audit": "resource_type=structure&resource_id=1&action=create&token_id=2&since=2024-01-01&"
                 "until=2024-12-31&limit=2",
    "/v1/tokens": "include_revoked=true",
    "/v1/structures/{id}/uploads#POST": "kind=claims&dry_run=true",
    "/v1/reference/uploads#POST": "kind=deprivation&dry_run=false",
}
headers = {
    "GET": "If-None-Match: W/\"x\", \"abc\" , *",
    "PATCH": "If-Match: \"3\"",
    "POST": "Idempotency-Key: claims-2024-05\nContent-Type: text/csv; charset=windows-1252",
}
seeds = []
for i, (method, path, perm, body) in enumerate(rts):
    params = re.findall(r"\{([a-z_]+)\}", path)
    values = {"code": "84", "year": "2024", "rpps": rpps, "file": "app.js", "slug": "not-found"}
    q = queries.get(path + "#" + method, queries.get(path, "") if method == "GET" else "")
    for caller in (NAT, ARS | RO, STRUCT):
        parts = [values.get(p, "12") for p in params] + [q, headers.get(method, ""),
                                                         bodies.get(method + " " + path, "")]
        seeds.append(bytes([caller]) + "\0".join(["%s %s" % (method, path)] + parts).encode())
write("api", seeds)


# ---- dictionaries: names libFuzzer would take long to guess ----
def write_dict(name, words):
    with open(os.path.join(ROOT, "tests", "fuzz", name + ".dict"), "w") as f:
        f.write("# written by make-seeds.py\n")
        for w in sorted(set(words)):
            f.write('"%s"\n' % w.replace("\\", "\\\\").replace('"', '\\"'))


src = "".join(open(f).read() for f in glob.glob(os.path.join(ROOT, "src", "api", "*.c")))
api_words = set(re.findall(r'(?:query_\w+\(&?q, |http_query\(r, |field_\w+\(&f, )"([a-z_]+)"', src))
for b in bodies.values():
    api_words |= {k for k in re.findall(r'"([a-z_]+)":', b)}
api_words |= {w + "=" for w in set(api_words)}
api_words |= {"If-Match: ", "Idempotency-Key: ", "Content-Type: ", "charset=", "application/x-ndjson", "text/csv",
              "true", "false", "null", "2024-01-01", "84", "%00", "%2F", "../"}
write_dict("api", api_words)
params_words = set()
for f in glob.glob(os.path.join(ROOT, "src", "domain", "params", "*.json")):
    body = json.load(open(f))
    params_words |= set(body["parameters"]) | {"value", "tag", "source", "note", "S", "S-trunc", "NF"}
    for k in ("indicators.catalogue", "indicators.experience"):
        if k in body["parameters"]:
            params_words |= set(re.findall(r'"([a-z_A-Z0-9]+)":', json.dumps(body["parameters"][k]["value"])))
for m in models:
    params_words |= set(re.findall(r'"([a-z_]+)"', json.dumps(m)))
write_dict("params", params_words)
print("seeds and dictionaries written")
