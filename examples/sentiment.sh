#!/usr/bin/env bash
# POST /sentiment examples. Start the server first (`make serve`); override the address with SEQ2SERVE_URL.
set -euo pipefail
URL="${SEQ2SERVE_URL:-http://127.0.0.1:8000}"
post() { curl -sS -X POST "$URL/sentiment" -H 'content-type: application/json' -d "$1"; }

echo "# plain text: parsed by the server, a label at every node (0 very negative .. 4 very positive)"
post '{"text": "The acting is superb, but the plot is a mess."}'
echo

echo "# your own tree in PTB brackets, drawn as SVG (saved to /tmp/sentiment.svg)"
post '{"tree": "(S (NP The film) (VP is (ADJP not (JJ good))) (. .))", "return_svg": true}' |
    python3 -c 'import json, sys; b = json.load(sys.stdin); open("/tmp/sentiment.svg", "w").write(b["svg"]); print(b["label"], b["tree_ptb"])'

echo "# bad input: a 422 that points at the position of the problem"
post '{"tree": "(S (NP The film) (VP rocks)"}'
echo
