#!/usr/bin/env bash
# POST /hull examples. Start the server first (`make serve`); override the address with SEQ2SERVE_URL.
set -euo pipefail
URL="${SEQ2SERVE_URL:-http://127.0.0.1:8000}"

echo "# constrained decoding (always a convex polygon), with the pointer attention at each step"
curl -sS -X POST "$URL/hull" -H 'content-type: application/json' -d '{
  "points": [[0, 0], [4, 0], [2, 1], [4, 3], [1, 2], [0, 3], [2, 2.5]],
  "decoding": "constrained",
  "return_attention": true
}'
echo

echo "# beam search over 20 random points"
python3 - <<'PY' | curl -sS -X POST "$URL/hull" -H 'content-type: application/json' -d @-
import json, random
random.seed(1)
print(json.dumps({"points": [[random.random(), random.random()] for _ in range(20)], "decoding": "beam", "beam_size": 4}))
PY
echo

echo "# bad input: a 422 that says what is wrong"
curl -sS -X POST "$URL/hull" -H 'content-type: application/json' -d '{"points": [[0, 0], [1, 1], [2, 2]]}'
echo
