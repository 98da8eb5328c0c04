#!/usr/bin/env bash
# POST /caption examples. Start the server first (`make serve`); override the address with SEQ2SERVE_URL.
# Usage: examples/caption.sh [photo.jpg]. The scene image is drawn here by the repo (nothing is downloaded);
# pass any JPEG or PNG of your own for the photo model.
set -euo pipefail
URL="${SEQ2SERVE_URL:-http://127.0.0.1:8000}"
PY="${PYTHON:-.venv/bin/python}"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
"$PY" -m models.caption.training.scenes "$OUT/scene.png" --seed 7 --index 1  # prints the true caption and boxes

echo "# grounded model: a scene of shapes and digits, with where it looked for each word (peak = x, y)"
curl -sS -X POST "$URL/caption" -F "file=@$OUT/scene.png" -F model=grounded -F return_attention=false \
    -F return_overlays=true -o "$OUT/scene.json"
"$PY" - "$OUT/scene.json" <<'PYEOF'
import base64, json, sys
body = json.load(open(sys.argv[1]))
print(body["caption"], "| grid", body["grid"])
for a in body["captions"][0]["attention"]:
    print(f"  {a['word']:>8}  peak at {a['peak']}")
    if a["overlay_png_base64"]:
        open(f"/tmp/caption_{a['word'].strip('</>')}.png", "wb").write(base64.b64decode(a["overlay_png_base64"]))
print("overlays written to /tmp/caption_<word>.png")
PYEOF

PHOTO="${1:-}"
if [ -z "$PHOTO" ]; then  # the first dev image of the Flickr8k subset, when the shared data is here
    PHOTO="$("$PY" -c 'from models.caption.training.data import PhotoData; from models.training.paths import default_data_dir as d
data = PhotoData.flickr8k_mini(d()); print(data.images / data.split("dev")[0][0])' 2>/dev/null || true)"
fi
if [ -n "$PHOTO" ] && [ -f "$PHOTO" ]; then
    echo "# photo model: three captions with scores, as base64 JSON"
    printf '{"image_base64": "%s", "beam_size": 3, "n_best": 3, "return_attention": false}' "$(base64 -w0 "$PHOTO")" |
        curl -sS -X POST "$URL/caption" -H 'content-type: application/json' -d @-
    echo
fi

echo "# bad input: a 422 that says what is wrong"
curl -sS -X POST "$URL/caption" -F "file=@README.md"
echo
