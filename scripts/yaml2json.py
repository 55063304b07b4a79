#!/usr/bin/env python3
"""Converts openapi/openapi.yaml to the JSON document a51d serves at /openapi.json."""
import json
import sys

import yaml

with open(sys.argv[1], encoding="utf-8") as f:
    doc = yaml.safe_load(f)
with open(sys.argv[2], "w", encoding="utf-8") as f:
    json.dump(doc, f, ensure_ascii=False, separators=(",", ":"), sort_keys=False)
