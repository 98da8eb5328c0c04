// seq2serve's web page: one panel per model, each calling the REST API and drawing the attention it returns.
// Plain JavaScript, SVG and canvas: nothing is loaded from another host. Every URL is relative to the page,
// so the page also works behind a proxy that serves it under a path prefix.
"use strict";

const BASE = new URL(location.pathname.endsWith("/") ? location.pathname : location.pathname + "/", location.origin);
const KEY_ITEM = "seq2serve-api-key";
const SVG_NS = "http://www.w3.org/2000/svg";
const SENTIMENT_COLORS = ["#b2182b", "#ef8a62", "#999999", "#67a9cf", "#2166ac"];

// ---------- small helpers ----------

function $(panel, selector) { return document.querySelector(`#${panel} ${selector}`); }

function el(tag, attrs = {}, ...children) {
  const node = tag.startsWith("svg:") ? document.createElementNS(SVG_NS, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

function apiKey() { return document.getElementById("api-key").value.trim(); }

function authHeaders() {
  const key = apiKey();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

class ApiError extends Error {}

// POST a JSON body to an endpoint; the error's message is the server's own (4xx) text.
async function post(path, body) {
  const response = await fetch(new URL(path, BASE), {
    method: "POST", headers: { "Content-Type": "application/json", ...authHeaders() }, body: JSON.stringify(body),
  });
  const text = await response.text();
  let data;
  try { data = JSON.parse(text); } catch { data = null; }
  if (!response.ok) {
    const err = data && data.error ? data.error : { code: "http_error", message: text.slice(0, 500) };
    const details = err.details ? `\n${JSON.stringify(err.details, null, 1)}` : "";
    throw new ApiError(`${response.status} ${err.code}: ${err.message}${details}`);
  }
  return data;
}

function showError(panel, error) {
  const box = $(panel, ".error");
  box.hidden = !error;
  box.textContent = error ? (error instanceof ApiError ? error.message : `error: ${error.message || error}`) : "";
}

// What the panel just did, as a command line (the key itself is never printed).
function showCurl(panel, path, body, form = null) {
  const auth = apiKey() ? ` \\\n  -H "Authorization: Bearer $SEQ2SERVE_API_KEY"` : "";
  const url = new URL(path, BASE).href;
  let cmd;
  if (form) {
    const fields = Object.entries(form).map(([k, v]) => ` \\\n  -F ${k}=${v}`).join("");
    cmd = `curl -X POST '${url}'${auth}${fields}`;
  } else {
    cmd = `curl -X POST '${url}'${auth} \\\n  -H 'Content-Type: application/json' \\\n  -d '${JSON.stringify(body).replace(/'/g, "'\\''")}'`;
  }
  $(panel, ".curl").textContent = cmd;
}

function formValues(panel) {
  const form = $(panel, "form");
  const out = {};
  for (const input of form.querySelectorAll("input[name], select[name], textarea[name]")) {
    if (input.type === "file") continue;
    if (input.type === "checkbox") out[input.name] = input.checked;
    else if (input.type === "number") { if (input.value !== "") out[input.name] = Number(input.value); }
    else out[input.name] = input.value;
  }
  return out;
}

function toBase64(buffer) {
  const bytes = new Uint8Array(buffer);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

// Run a panel's action with its error box and button handled.
function onSubmit(panel, action) {
  $(panel, "form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = $(panel, "button[type=submit]");
    button.disabled = true;
    showError(panel, null);
    try { await action(); } catch (e) { showError(panel, e); } finally { button.disabled = false; }
  });
}

// A heatmap: one row (<g class="row">) per row label, one cell per column; the value in each cell's tooltip.
function heatmap(rows, cols, matrix, { cell = 26, rowHeight = 20 } = {}) {
  const left = 10 + 7 * Math.max(...rows.map((r) => r.length), 4), top = 10 + 6 * Math.max(...cols.map((c) => c.length), 4);
  const svg = el("svg:svg", { class: "heatmap", width: left + cell * cols.length + 10, height: top + rowHeight * rows.length + 10 });
  cols.forEach((c, j) => svg.append(el("svg:text", {
    x: left + cell * j + cell / 2, y: top - 4, transform: `rotate(-45 ${left + cell * j + cell / 2} ${top - 4})`, text: c,
  })));
  rows.forEach((r, i) => {
    const g = el("svg:g", { class: "row", "data-label": r });
    g.append(el("svg:text", { x: left - 6, y: top + rowHeight * i + rowHeight * 0.7, "text-anchor": "end", text: r }));
    matrix[i].forEach((v, j) => {
      const rect = el("svg:rect", {
        class: "cell", x: left + cell * j, y: top + rowHeight * i, width: cell - 1, height: rowHeight - 1,
        fill: `rgba(33, 102, 172, ${Math.min(1, v).toFixed(3)})`,
      });
      rect.append(el("svg:title", { text: `${r} -> ${cols[j]}: ${v.toFixed(3)}` }));
      g.append(rect);
    });
    svg.append(g);
  });
  return svg;
}

// ---------- translate ----------

onSubmit("translate", async () => {
  const v = formValues("translate");
  const body = { text: v.text, beam_size: v.beam_size, n_best: Math.min(v.n_best, v.beam_size), block_unk: v.block_unk,
                 return_alignment: true, return_scores: true };
  if (v.length_alpha !== undefined) body.length_alpha = v.length_alpha;
  if (v.coverage_beta !== undefined) body.coverage_beta = v.coverage_beta;
  showCurl("translate", "translate", body);
  const data = await post("translate", body);
  const result = data.results[0];
  const out = $("translate", ".result");
  out.replaceChildren();
  if (result.unknown_source_tokens.length) {
    out.append(el("p", { class: "muted", text: `unknown to the encoder: ${result.unknown_source_tokens.join(", ")}` }));
  }
  const list = el("ol", { class: "nbest" });
  const map = el("div", { class: "alignment" });
  result.translations.forEach((t, i) => {
    const li = el("li", { "data-index": i });
    t.tokens.forEach((tok, k) => li.append(el("span", { class: t.copied[k] ? "copied" : "", title: t.copied[k] ? "copied from the source" : "", text: tok }), " "));
    li.append(el("span", { class: "muted", text: ` score ${t.score.toFixed(3)}${t.finished ? "" : " (unfinished)"}` }));
    li.addEventListener("click", () => select(i));
    list.append(li);
  });
  function select(i) {
    list.querySelectorAll("li").forEach((li, k) => li.classList.toggle("selected", k === i));
    const t = result.translations[i];
    map.replaceChildren(el("p", { class: "muted", text: "Attention of each output word (rows) over the source (columns); copied words are highlighted." }),
                        heatmap([...t.tokens, "</s>"], result.source_tokens, t.alignment));
  }
  out.append(list, map);
  select(0);
});

// ---------- transcribe ----------

let recorded = null; // the last recording, as WAV bytes

function encodeWav(samples, rate) {
  const buffer = new ArrayBuffer(44 + samples.length * 2);
  const view = new DataView(buffer);
  const text = (offset, s) => [...s].forEach((c, i) => view.setUint8(offset + i, c.charCodeAt(0)));
  text(0, "RIFF"); view.setUint32(4, 36 + samples.length * 2, true); text(8, "WAVE"); text(12, "fmt ");
  view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true); view.setUint32(24, rate, true);
  view.setUint32(28, rate * 2, true); view.setUint16(32, 2, true); view.setUint16(34, 16, true); text(36, "data");
  view.setUint32(40, samples.length * 2, true);
  samples.forEach((s, i) => view.setInt16(44 + i * 2, Math.max(-1, Math.min(1, s)) * 32767, true));
  return buffer;
}

$("transcribe", ".record").addEventListener("click", async (event) => {
  const button = event.target;
  if (button.recorder) { button.recorder.stop(); return; }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const recorder = new MediaRecorder(stream);
    const chunks = [];
    recorder.ondataavailable = (e) => chunks.push(e.data);
    recorder.onstop = async () => {
      stream.getTracks().forEach((t) => t.stop());
      button.recorder = null;
      button.textContent = "Record";
      const audio = await new AudioContext().decodeAudioData(await new Blob(chunks).arrayBuffer());
      recorded = encodeWav(audio.getChannelData(0), audio.sampleRate);
      $("transcribe", "input[type=file]").value = "";
      $("transcribe", "form").requestSubmit();
    };
    recorder.start();
    button.recorder = recorder;
    button.textContent = "Stop";
    showError("transcribe", null);
  } catch (e) {
    showError("transcribe", `the microphone is not available here (${e.message}); upload a WAV file instead`);
  }
});

// In-place radix-2 FFT of (re, im); returns the power of the first half.
function powerSpectrum(frame) {
  const n = frame.length, re = Float64Array.from(frame), im = new Float64Array(n);
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) { [re[i], re[j]] = [re[j], re[i]]; }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const angle = (-2 * Math.PI) / len;
    for (let i = 0; i < n; i += len) {
      for (let k = 0; k < len / 2; k++) {
        const wr = Math.cos(angle * k), wi = Math.sin(angle * k);
        const a = i + k, b = i + k + len / 2;
        const tr = re[b] * wr - im[b] * wi, ti = re[b] * wi + im[b] * wr;
        re[b] = re[a] - tr; im[b] = im[a] - ti; re[a] += tr; im[a] += ti;
      }
    }
  }
  return Array.from({ length: n / 2 }, (_, k) => re[k] * re[k] + im[k] * im[k]);
}

async function spectrogram(wavBytes, width, height) {
  const canvas = el("canvas", { width, height, class: "spectrogram" });
  let audio;
  try { audio = await new OfflineAudioContext(1, 1, 16000).decodeAudioData(wavBytes.slice(0)); } catch { return null; }
  const x = audio.getChannelData(0), n = 512, hop = Math.max(1, Math.floor((x.length - n) / width));
  const ctx = canvas.getContext("2d"), image = ctx.createImageData(width, height);
  const columns = [];
  for (let c = 0; c < width; c++) {
    const frame = Array.from({ length: n }, (_, i) => (x[c * hop + i] || 0) * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n)));
    columns.push(powerSpectrum(frame).map((p) => Math.log10(p + 1e-10)));
  }
  let hi = -Infinity;
  for (const column of columns) for (const v of column) hi = Math.max(hi, v);
  const lo = hi - 8; // 80 dB of range below the loudest bin
  for (let c = 0; c < width; c++) {
    for (let r = 0; r < height; r++) {
      const bin = Math.floor(((height - 1 - r) / height) * (n / 2));
      const v = Math.max(0, (columns[c][bin] - lo) / (hi - lo));
      const at = (r * width + c) * 4;
      image.data[at] = 255 * v; image.data[at + 1] = 200 * v * v; image.data[at + 2] = 90 * (1 - v); image.data[at + 3] = 255;
    }
  }
  ctx.putImageData(image, 0, 0);
  return canvas;
}

// Each character's attention over time, as rows under the spectrogram (same time axis).
function timeAttention(chars, attention, frameTimes, duration, width) {
  const rowHeight = 14, left = 40;
  const canvas = el("canvas", { width: width + left, height: rowHeight * chars.length, class: "char-attention" });
  const ctx = canvas.getContext("2d");
  ctx.font = "12px monospace";
  chars.forEach((ch, i) => {
    ctx.fillStyle = "#222";
    ctx.fillText(ch === " " ? "␣" : ch, 4, rowHeight * i + 11);
    const peak = Math.max(...attention[i], 1e-9);
    attention[i].forEach((w, j) => {
      const t0 = frameTimes[j], t1 = j + 1 < frameTimes.length ? frameTimes[j + 1] : duration;
      ctx.fillStyle = `rgba(33, 102, 172, ${(w / peak).toFixed(3)})`;
      ctx.fillRect(left + (t0 / duration) * width, rowHeight * i, Math.max(1, ((t1 - t0) / duration) * width), rowHeight - 1);
    });
  });
  return canvas;
}

onSubmit("transcribe", async () => {
  const v = formValues("transcribe");
  const file = $("transcribe", "input[type=file]").files[0];
  const wav = file ? await file.arrayBuffer() : recorded;
  if (!wav) throw new Error("record something or choose a WAV file first");
  const options = { beam_size: v.beam_size, n_best: Math.min(v.n_best, v.beam_size), return_attention: true };
  showCurl("transcribe", "transcribe", null, { file: `@${file ? file.name : "recording.wav"}`, ...options });
  const data = await post("transcribe", { audio_base64: toBase64(wav), ...options });
  const out = $("transcribe", ".result");
  out.replaceChildren();
  const best = data.transcripts[0];
  const chars = el("p", { class: "chars" });
  [...best.text].forEach((c, i) => chars.append(el("span", {
    text: c === " " ? "\u00a0" : c, title: `p = ${best.confidence[i].toFixed(3)}`,
    style: `border-color: hsl(${Math.round(120 * best.confidence[i])}, 60%, 45%)`,
  })));
  out.append(el("p", { class: "transcript", text: data.text || "(nothing)" }),
             el("p", { class: "muted", text: `${data.duration_s.toFixed(2)} s at ${data.sample_rate} Hz; underline: each character's confidence (hover for it)` }),
             chars);
  data.transcripts.slice(1).forEach((t) => out.append(el("p", { class: "muted", text: `also: ${t.text} (score ${t.score.toFixed(3)})` })));
  const width = 760;
  const spec = await spectrogram(wav, width, 120);
  if (spec) out.append(el("div", { style: "padding-left: 40px" }, spec));
  out.append(timeAttention([...best.text, "</s>"], best.attention, data.frame_times_s, data.duration_s, width));
});

// ---------- caption ----------

let captionImage = null; // the image last captioned, as an HTMLImageElement

function drawOverlay(canvas, image, weights) {
  const ctx = canvas.getContext("2d");
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
  if (!weights) { canvas.dataset.word = ""; return; }
  const rows = weights.length, cols = weights[0].length, peak = Math.max(...weights.flat(), 1e-9);
  weights.forEach((row, r) => row.forEach((w, c) => {
    ctx.fillStyle = `rgba(0, 0, 0, ${(0.75 * (1 - w / peak)).toFixed(3)})`;
    ctx.fillRect((c * canvas.width) / cols, (r * canvas.height) / rows, Math.ceil(canvas.width / cols), Math.ceil(canvas.height / rows));
  }));
}

async function captionSource() {
  const file = $("caption", "input[type=file]").files[0];
  if (file) return { name: file.name, blob: file };
  const example = $("caption", "select[name=example]").value;
  if (!example) throw new Error("choose an example or an image file first");
  const response = await fetch(new URL(`ui/examples/${example}`, BASE));
  return { name: example, blob: await response.blob() };
}

onSubmit("caption", async () => {
  const v = formValues("caption");
  const source = await captionSource();
  const options = { model: v.model, beam_size: v.beam_size, n_best: Math.min(v.n_best, v.beam_size), return_attention: true };
  showCurl("caption", "caption", null, { file: `@${source.name}`, ...options });
  const data = await post("caption", { image_base64: toBase64(await source.blob.arrayBuffer()), ...options });
  captionImage = await new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = reject;
    img.src = URL.createObjectURL(source.blob);
  });
  const scale = Math.min(480 / captionImage.width, Math.max(1, 320 / captionImage.width)); // small scenes drawn larger
  const canvas = el("canvas", { width: Math.round(captionImage.width * scale), height: Math.round(captionImage.height * scale), class: "overlay" });
  drawOverlay(canvas, captionImage, null);
  const words = el("p", { class: "words" });
  const best = data.captions[0];
  best.attention.forEach((a, i) => {
    const button = el("button", { type: "button", "data-index": i, title: i < best.confidence.length ? `p = ${best.confidence[i].toFixed(3)}` : "end of caption", text: a.word });
    const show = () => {
      words.querySelectorAll("button").forEach((b) => b.classList.toggle("selected", b === button));
      drawOverlay(canvas, captionImage, a.weights);
      canvas.dataset.word = a.word;
    };
    button.addEventListener("mouseenter", show);
    button.addEventListener("click", show);
    words.append(button);
  });
  const out = $("caption", ".result");
  out.replaceChildren(el("p", { class: "caption-text", text: data.caption }), words, canvas);
  data.captions.slice(1).forEach((c) => out.append(el("p", { class: "muted", text: `also: ${c.text} (score ${c.score.toFixed(3)})` })));
});

// ---------- hull ----------

const hull = { points: [], attention: null, answer: null };
const board = $("hull", "svg.board");

function drawBoard() {
  board.replaceChildren();
  if (hull.answer) {
    const pts = hull.answer.hull.map((i) => hull.points[i]).map(([x, y]) => `${x * 400},${(1 - y) * 400}`).join(" ");
    board.append(el("svg:polygon", { class: "hull", points: pts, "data-vertices": hull.answer.hull.length, fill: "rgba(103,169,207,0.25)", stroke: "#2166ac", "stroke-width": 2 }));
  }
  const slider = $("hull", ".steps input");
  const step = hull.attention ? hull.attention[Number(slider.value)] : null;
  hull.points.forEach(([x, y], i) => {
    if (step) {
      board.append(el("svg:circle", { class: "weight", cx: x * 400, cy: (1 - y) * 400, r: 3 + 22 * Math.sqrt(step.weights[i]),
                                      fill: i === step.chosen ? "rgba(178,24,43,0.45)" : "rgba(239,138,98,0.35)" }));
    }
    board.append(el("svg:circle", { class: "point", cx: x * 400, cy: (1 - y) * 400, r: 4, fill: "#222" }));
    board.append(el("svg:text", { x: x * 400 + 6, y: (1 - y) * 400 - 6, "font-size": 10, text: i }));
  });
  if (step) {
    $("hull", ".step-info").textContent = `step ${slider.value}: ${step.chosen === null ? "END" : `point ${step.chosen}`} ` +
      `(p = ${(step.chosen === null ? step.end_weight : step.weights[step.chosen]).toFixed(3)}; END p = ${step.end_weight.toFixed(3)})`;
  }
}

function resetHull() { hull.answer = null; hull.attention = null; $("hull", ".steps").hidden = true; $("hull", ".result").replaceChildren(); }

board.addEventListener("click", (event) => {
  const box = board.getBoundingClientRect();
  hull.points.push([(event.clientX - box.left) / box.width, 1 - (event.clientY - box.top) / box.height].map((v) => Math.round(v * 1000) / 1000));
  resetHull();
  drawBoard();
});
$("hull", ".random").addEventListener("click", () => {
  hull.points = Array.from({ length: 12 }, () => [0.1 + 0.8 * Math.random(), 0.1 + 0.8 * Math.random()].map((v) => Math.round(v * 1000) / 1000));
  resetHull();
  drawBoard();
});
$("hull", ".clear").addEventListener("click", () => { hull.points = []; resetHull(); drawBoard(); });
$("hull", ".steps input").addEventListener("input", drawBoard);

onSubmit("hull", async () => {
  const body = { points: hull.points, decoding: formValues("hull").decoding, return_attention: true };
  showCurl("hull", "hull", body);
  const data = await post("hull", body);
  hull.answer = data;
  hull.attention = data.attention;
  const slider = $("hull", ".steps input");
  slider.max = data.attention.length - 1;
  slider.value = 0;
  $("hull", ".steps").hidden = false;
  $("hull", ".result").replaceChildren(el("p", { class: "hull-answer",
    text: `hull: ${data.hull.join(" → ")}; area ${data.area.toFixed(4)}; ${data.convex ? "convex" : "not convex"}, ${data.closed ? "closed" : "not closed"} (${data.decoding}, beam ${data.beam_size})` }));
  drawBoard();
});

// ---------- sentiment ----------

function drawTree(root) {
  const leaves = [], nodes = [];
  (function walk(node, depth) {
    nodes.push([node, depth]);
    if (!node.children.length) { node.x = leaves.length; leaves.push(node); }
    node.children.forEach((c) => walk(c, depth + 1));
    if (node.children.length) node.x = node.children.reduce((s, c) => s + c.x, 0) / node.children.length;
    node.depth = depth;
  })(root, 0);
  const depth = Math.max(...nodes.map(([, d]) => d)), dx = 64, dy = 46;
  const svg = el("svg:svg", { class: "tree", width: dx * leaves.length + 20, height: dy * (depth + 1) + 40 });
  const at = (n) => [10 + dx * n.x + dx / 2, 16 + dy * n.depth];
  nodes.forEach(([n]) => n.children.forEach((c) => {
    const [x1, y1] = at(n), [x2, y2] = at(c);
    svg.append(el("svg:line", { x1, y1, x2, y2, stroke: "#bbb" }));
  }));
  nodes.forEach(([n]) => {
    const [x, y] = at(n);
    const circle = el("svg:circle", { class: "node", cx: x, cy: y, r: 9, fill: SENTIMENT_COLORS[n.label], "data-label": n.label });
    circle.append(el("svg:title", { text: `${n.phrase}\n${n.sentiment}: ${n.probs.map((p) => p.toFixed(2)).join(" / ")}` }));
    svg.append(circle);
    if (!n.children.length) svg.append(el("svg:text", { x, y: y + 22, "text-anchor": "middle", text: n.phrase }));
  });
  return svg;
}

onSubmit("sentiment", async () => {
  const v = formValues("sentiment");
  const body = v.tree.trim() ? { tree: v.tree.trim() } : { text: v.text };
  showCurl("sentiment", "sentiment", body);
  const data = await post("sentiment", body);
  const legend = el("p", { class: "legend" });
  ["very negative", "negative", "neutral", "positive", "very positive"].forEach((name, i) => legend.append(el("span", { style: `background: ${SENTIMENT_COLORS[i]}`, text: name })));
  $("sentiment", ".result").replaceChildren(
    el("p", { class: "sentiment-answer", text: `${data.sentiment} (${(100 * data.probs[data.label]).toFixed(0)}%)${data.unknown_words.length ? `; unknown words: ${data.unknown_words.join(", ")}` : ""}` }),
    legend, drawTree(data.tree), el("p", { class: "muted", text: "Hover a node for its phrase and class probabilities." }));
});

// ---------- qa ----------

onSubmit("qa", async () => {
  const v = formValues("qa");
  const body = { story: v.story.split("\n").map((l) => l.trim()).filter((l) => l), question: v.question };
  showCurl("qa", "qa", body);
  const data = await post("qa", body);
  const notes = [];
  if (data.unknown_words.length) notes.push(`unknown words: ${data.unknown_words.join(", ")}`);
  if (data.sentences_dropped) notes.push(`${data.sentences_dropped} older sentences left out of memory`);
  const weights = body.story.map((_, i) => data.hops.map((h) => h.weights[i]));
  $("qa", ".result").replaceChildren(
    el("p", { class: "qa-answer", text: data.answer }),
    el("p", { class: "muted", text: data.candidates.map((c) => `${c.answer} ${(100 * c.prob).toFixed(1)}%`).join(" · ") + (notes.length ? ` (${notes.join("; ")})` : "") }),
    el("p", { class: "muted", text: "Attention of each hop (columns) over the story's sentences (rows)." }),
    heatmap(body.story.map((s) => (s.length > 40 ? `${s.slice(0, 38)}…` : s)), data.hops.map((_, k) => `hop ${k + 1}`), weights, { cell: 50 }));
});

// ---------- ntm ----------

function randomBits() {
  const n = Math.max(1, Number($("ntm", "input[name=length]").value) || 20);
  $("ntm", "textarea[name=input]").value = Array.from({ length: n }, () => Array.from({ length: 8 }, () => (Math.random() < 0.5 ? 1 : 0)).join("")).join("\n");
}
$("ntm", ".random").addEventListener("click", randomBits);
randomBits();

// Rows of values in [0, 1] as a grid of cells (darker = larger), cell x cell pixels each.
function grid(rows, cell, className) {
  const canvas = el("canvas", { width: rows[0].length * cell, height: rows.length * cell, class: className });
  const ctx = canvas.getContext("2d");
  const peak = Math.max(...rows.map((r) => Math.max(...r)), 1e-9);
  rows.forEach((row, i) => row.forEach((v, j) => {
    const shade = Math.round(255 * (1 - v / peak));
    ctx.fillStyle = `rgb(${shade}, ${shade}, ${shade})`;
    ctx.fillRect(j * cell, i * cell, cell, cell);
  }));
  return canvas;
}

onSubmit("ntm", async () => {
  const lines = $("ntm", "textarea[name=input]").value.split("\n").map((l) => l.replace(/[^01]/g, "")).filter((l) => l);
  const body = { task: "copy", input: lines.map((l) => [...l].map(Number)), return_weights: true };
  showCurl("ntm", "ntm", body);
  const data = await post("ntm", body);
  const bitsCell = 10, weightCell = 4;
  $("ntm", ".result").replaceChildren(
    el("p", { class: "ntm-errors", text: `${data.errors} wrong bit${data.errors === 1 ? "" : "s"} in ${data.length} x 8` }),
    el("div", { class: "ntm-grids" },
       el("figure", {}, grid(body.input, bitsCell, "ntm-input"), el("figcaption", { text: "input" })),
       el("figure", {}, grid(data.output, bitsCell, "ntm-output"), el("figcaption", { text: "output probabilities" }))),
    el("p", { class: "muted", text: `Write head (each input step, top) and read head (each output step, bottom) over the ${data.memory_rows} memory rows: a learned copy walks the rows, writing then reading them in the same order.` }),
    grid(data.write_weights, weightCell, "ntm-write"), el("br"), grid(data.read_weights, weightCell, "ntm-read"));
});

// ---------- page ----------

document.querySelectorAll("#tabs button").forEach((tab) => tab.addEventListener("click", () => {
  document.querySelectorAll("#tabs button").forEach((t) => t.classList.toggle("active", t === tab));
  document.querySelectorAll(".panel").forEach((p) => p.classList.toggle("active", p.id === tab.dataset.panel));
}));

const keyInput = document.getElementById("api-key");
keyInput.value = sessionStorage.getItem(KEY_ITEM) || "";
keyInput.addEventListener("input", () => { sessionStorage.setItem(KEY_ITEM, keyInput.value.trim()); loadModels(); });

async function loadModels() {
  const status = document.getElementById("models-status");
  try {
    const response = await fetch(new URL("v1/models", BASE), { headers: authHeaders() });
    if (response.status === 401) { status.textContent = "This server needs its API key: enter it above."; return; }
    const data = await response.json();
    status.textContent = `serving: ${data.models.map((m) => `${m.name} (${m.status})`).join(", ")}`;
  } catch (e) {
    status.textContent = `could not list the models: ${e.message}`;
  }
}
loadModels();
