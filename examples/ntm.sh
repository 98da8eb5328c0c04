#!/usr/bin/env bash
# POST /ntm: the neural Turing machine copies 8-bit vectors through its memory. Start the server first
# (`make serve`); override the address with SEQ2SERVE_URL.
set -euo pipefail
URL="${SEQ2SERVE_URL:-http://127.0.0.1:8000}"
PY="${PYTHON:-.venv/bin/python}"

echo "# a copy of 4 vectors (weights left out)"
curl -sS -X POST "$URL/ntm" -H 'Content-Type: application/json' \
    -d '{"task": "copy", "input": [[1,0,1,1,0,0,1,0], [0,1,1,0,1,0,0,1], [1,1,1,1,0,0,0,0], [0,0,0,1,1,1,0,1]], "return_weights": false}'
echo

echo "# 60 random vectors, three times the longest trained length: wrong bits and where each head looked"
"$PY" - "$URL" <<'PYEOF'
import json, random, sys, urllib.request
random.seed(7)
bits = [[random.randint(0, 1) for _ in range(8)] for _ in range(60)]
req = urllib.request.Request(f"{sys.argv[1]}/ntm", json.dumps({"input": bits}).encode(), {"Content-Type": "application/json"})
body = json.load(urllib.request.urlopen(req))
peak = lambda rows: [max(range(len(r)), key=r.__getitem__) for r in rows]
print(f"wrong bits: {body['errors']} of {60 * 8}")
print("write head's row at each input step: ", peak(body["write_weights"])[:12], "...")
print("read head's row at each output step:", peak(body["read_weights"])[:12], "...")
PYEOF

echo "# a value other than 0/1 is refused with the place it is at"
curl -sS -X POST "$URL/ntm" -H 'Content-Type: application/json' -d '{"input": [[0,1,0,1,0,1,0,2]]}'
echo
