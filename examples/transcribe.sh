#!/usr/bin/env bash
# POST /transcribe examples. Start the server first (`make serve`); override the address with SEQ2SERVE_URL.
# The audio is made here by espeak-ng and flite (scripts/install-debian-deps.sh installs them): nothing is
# downloaded.
set -euo pipefail
URL="${SEQ2SERVE_URL:-http://127.0.0.1:8000}"
WAV="$(mktemp --suffix .wav)"
FLITE_WAV="$(mktemp --suffix .wav)"
trap 'rm -f "$WAV" "$FLITE_WAV"' EXIT
espeak-ng -v en-us -s 150 -w "$WAV" "four two seven"  # 22,050 Hz; the server resamples to 8 kHz

echo "# multipart upload (beam search of 4, the default), with the attention over audio frames"
curl -sS -X POST "$URL/transcribe" -F "file=@$WAV" -F return_attention=true
echo

echo "# the same audio as base64 JSON, greedy decoding, then beam search for three transcripts with scores"
printf '{"audio_base64": "%s", "beam_size": 1}' "$(base64 -w0 "$WAV")" |
    curl -sS -X POST "$URL/transcribe" -H 'content-type: application/json' -d @-
echo
printf '{"audio_base64": "%s", "beam_size": 4, "n_best": 3}' "$(base64 -w0 "$WAV")" |
    curl -sS -X POST "$URL/transcribe" -H 'content-type: application/json' -d @-
echo

echo "# another voice: flite's slt, left out of training (the model trained on flite's kal, kal16, awb, rms; see its card)"
flite -voice slt -t "nine one five" -o "$FLITE_WAV"
curl -sS -X POST "$URL/transcribe" -F "file=@$FLITE_WAV"
echo

echo "# bad input: a 422 that says what is wrong"
curl -sS -X POST "$URL/transcribe" -F "file=@README.md"
echo
