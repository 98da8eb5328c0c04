#!/usr/bin/env bash
# POST /qa: a memory network answers questions about a story (bAbI). Start the server first (`make serve`);
# override the address with SEQ2SERVE_URL.
set -euo pipefail
URL="${SEQ2SERVE_URL:-http://127.0.0.1:8000}"

ask() {  # ask QUESTION: the story below, the answer, its candidates and where each hop looked
    curl -sS -X POST "$URL/qa" -H 'Content-Type: application/json' -d "{
      \"story\": [\"Mary moved to the bathroom.\", \"John went to the hallway.\", \"Mary got the football there.\",
                \"Mary went back to the kitchen.\", \"John travelled to the garden.\"],
      \"question\": \"$1\"}"
    echo
}

echo "# where is a person (one supporting fact)"
ask "Where is John?"
echo "# where is an object someone carried (two supporting facts): hops move from the object to its carrier"
ask "Where is the football?"

echo "# a path (task 19): answers are written as bAbI writes them (path finding is a task this model fails: the right answer here is s,e)"
curl -sS -X POST "$URL/qa" -H 'Content-Type: application/json' -d '{
  "story": ["The office is east of the hallway.", "The kitchen is north of the office.", "The garden is west of the bedroom.",
            "The office is west of the garden.", "The bathroom is north of the garden."],
  "question": "How do you go from the kitchen to the garden?"}'
echo

echo "# a sentence without words is refused with its place"
curl -sS -X POST "$URL/qa" -H 'Content-Type: application/json' -d '{"story": ["Mary moved to the bathroom.", "..."], "question": "Where is Mary?"}'
echo
