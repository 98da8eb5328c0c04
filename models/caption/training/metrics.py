"""Caption metrics on tokenized, space-joined captions with several references each.

- BLEU-n as in the COCO caption evaluation: corpus-level, clipped n-gram precisions 1..n, geometric mean,
  brevity penalty from the reference closest in length to each hypothesis, no smoothing. Equal to
  sacreBLEU's corpus BLEU with tokenize="none" and smooth_method="none" (tests/unit/test_caption.py).
- CIDEr-D (Vedantam et al. 2015) as in pycocoevalcap's cider scorer: tf-idf weighted n-grams (n = 1..4,
  document frequencies from the evaluated set's references), candidate counts clipped to the reference's,
  a Gaussian length penalty (sigma 6), times 10.
"""

from __future__ import annotations

import math
from collections import Counter


def _ngrams(words: list[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


def bleu(hyps: list[str], refs: list[list[str]], max_n: int = 4) -> float:
    """Corpus BLEU-max_n in percent (0-100), rounded to 2 places."""
    matches, totals = [0] * max_n, [0] * max_n
    hyp_len = ref_len = 0
    for hyp, rs in zip(hyps, refs, strict=True):
        h, r_words = hyp.split(), [r.split() for r in rs]
        hyp_len += len(h)
        ref_len += min((len(r) for r in r_words), key=lambda n: (abs(n - len(h)), n))
        for n in range(1, max_n + 1):
            counts = _ngrams(h, n)
            best: Counter[tuple[str, ...]] = Counter()
            for r in r_words:
                best |= _ngrams(r, n)
            matches[n - 1] += sum(min(c, best[g]) for g, c in counts.items())
            totals[n - 1] += max(len(h) - n + 1, 0)
    if min(matches) == 0 or hyp_len == 0:
        return 0.0
    log_p = sum(math.log(m / t) for m, t in zip(matches, totals, strict=True)) / max_n
    bp = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / hyp_len)
    return round(100 * bp * math.exp(log_p), 2)


def cider_d(hyps: list[str], refs: list[list[str]], sigma: float = 6.0) -> float:
    """Corpus CIDEr-D (the mean over images, times 10), rounded to 3 places."""
    n_max = 4
    ref_counts = [[[_ngrams(r.split(), n) for n in range(1, n_max + 1)] for r in rs] for rs in refs]
    df: Counter[tuple[str, ...]] = Counter()
    for per_image in ref_counts:
        df.update({g for per_ref in per_image for counts in per_ref for g in counts})
    log_docs = math.log(float(len(refs)))

    def vec(counts: Counter[tuple[str, ...]]) -> tuple[dict[tuple[str, ...], float], float]:
        v = {g: c * (log_docs - math.log(max(1.0, df[g]))) for g, c in counts.items()}
        return v, math.sqrt(sum(x * x for x in v.values()))

    scores = []
    for hyp, rs, per_image in zip(hyps, refs, ref_counts, strict=True):
        h_words = hyp.split()
        h_vecs = [vec(_ngrams(h_words, n)) for n in range(1, n_max + 1)]
        total = [0.0] * n_max
        for r, per_ref in zip(rs, per_image, strict=True):
            delta = len(h_words) - len(r.split())
            for n in range(n_max):
                (hv, hn), (rv, rn) = h_vecs[n], vec(per_ref[n])
                dot = sum(min(x, rv[g]) * rv[g] for g, x in hv.items() if g in rv)  # CIDEr-D clipping
                if hn and rn:
                    total[n] += dot / (hn * rn) * math.exp(-(delta**2) / (2 * sigma**2))
        scores.append(sum(t / len(rs) for t in total) / n_max * 10.0)
    return round(sum(scores) / len(scores), 3)
