#!/usr/bin/env bash
# POST /translate examples. Start the server first (`make serve`); override the address with SEQ2SERVE_URL.
set -euo pipefail
URL="${SEQ2SERVE_URL:-http://127.0.0.1:8000}"

echo "# one sentence, beam search, with scores and the word alignment (target tokens x source tokens)"
curl -sS -X POST "$URL/translate" -H 'content-type: application/json' -d '{
  "text": "Ein Mann mit einem roten Hut fährt Fahrrad.",
  "beam_size": 5, "return_alignment": true, "return_scores": true
}'
echo

echo "# a name no training sentence has: the copy mechanism brings it through (\"copied\": true)"
curl -sS -X POST "$URL/translate" -H 'content-type: application/json' -d '{
  "text": "Ein Mann namens Wojciech spielt Gitarre in Kuala Lumpur."
}'
echo

echo "# several sentences in one request, three translations each, best first"
curl -sS -X POST "$URL/translate" -H 'content-type: application/json' -d '{
  "text": ["Zwei Hunde spielen im Schnee.", "Eine Frau liest ein Buch im Park."],
  "beam_size": 5, "n_best": 3, "return_scores": true
}'
echo

echo "# bad input: a 422 that says what is wrong"
curl -sS -X POST "$URL/translate" -H 'content-type: application/json' -d '{"text": ["Ein Hund.", ""]}'
echo
