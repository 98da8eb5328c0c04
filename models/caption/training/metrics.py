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


class CiderD:
    """CIDEr-D against fixed reference sets, document frequencies from those references: built once, then
    `score(hyp, i)` is one hypothesis for image i. Self-critical training builds one over the train
    captions and scores every sampled caption with it; `cider_d` builds one over the evaluated set."""

    N_MAX = 4

    def __init__(self, refs: list[list[str]], sigma: float = 6.0) -> None:
        self.sigma = sigma
        ref_counts = [[[_ngrams(r.split(), n) for n in range(1, self.N_MAX + 1)] for r in rs] for rs in refs]
        self.df: Counter[tuple[str, ...]] = Counter()
        for per_image in ref_counts:
            self.df.update({g for per_ref in per_image for counts in per_ref for g in counts})
        self.log_docs = math.log(float(len(refs)))
        # Reference vectors and lengths, computed once: scoring is then one pass over the hypothesis.
        self.refs = [[([self._vec(c) for c in per_ref], len(r.split())) for r, per_ref in zip(rs, per_image, strict=True)]
                     for rs, per_image in zip(refs, ref_counts, strict=True)]  # fmt: skip

    def _vec(self, counts: Counter[tuple[str, ...]]) -> tuple[dict[tuple[str, ...], float], float]:
        v = {g: c * (self.log_docs - math.log(max(1.0, self.df[g]))) for g, c in counts.items()}
        return v, math.sqrt(sum(x * x for x in v.values()))

    def score(self, hyp: str, image: int) -> float:
        """CIDEr-D of one caption of image `image` (times 10, unrounded)."""
        words = hyp.split()
        h_vecs = [self._vec(_ngrams(words, n)) for n in range(1, self.N_MAX + 1)]
        refs = self.refs[image]
        total = 0.0
        for r_vecs, r_len in refs:
            penalty = math.exp(-((len(words) - r_len) ** 2) / (2 * self.sigma**2))
            for (hv, hn), (rv, rn) in zip(h_vecs, r_vecs, strict=True):
                if hn and rn:
                    dot = sum(min(x, rv[g]) * rv[g] for g, x in hv.items() if g in rv)  # CIDEr-D clipping
                    total += dot / (hn * rn) * penalty
        return total / len(refs) / self.N_MAX * 10.0


def cider_d(hyps: list[str], refs: list[list[str]], sigma: float = 6.0) -> float:
    """Corpus CIDEr-D (the mean over images, times 10), rounded to 3 places."""
    scorer = CiderD(refs, sigma)
    return round(sum(scorer.score(h, i) for i, h in enumerate(hyps)) / len(hyps), 3)
