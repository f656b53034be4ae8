"""Ordered bands: ages, incomes and household sizes given as ranges such as ``45-54``, ``65+``, ``<25``.

Customer tables often hold bands instead of numbers. A band column is kept as
it is written, as a polars ``Enum`` whose categories are sorted by the band's
lower bound (then its upper bound), so sorting and grouping follow the
natural order (``<25``, ``25-29``, ..., ``65+``) and not the alphabet.

Recognised forms (spaces allowed, numbers may carry a currency sign,
thousands commas and a ``k``/``m``/``千``/``万`` multiplier):

- ``a-b``, ``a–b``, ``a~b``, ``a to b``, ``a至b``;
- ``a+``, ``>a``, ``>=a``, ``a and over``, ``a or more``, ``a以上``;
- ``<a``, ``<=a``, ``under a``, ``a以下``;
- a single number ``a`` (a band of its own, e.g. household size 1, 2, 3-4, 5+).
"""

from __future__ import annotations

import math
import re

import polars as pl

from custlab.exceptions import ParseError

__all__ = ["band_bounds", "band_order", "parse_bands"]

_NUMBER = r"[$€£¥]?\s*\d[\d,]*(?:\.\d+)?\s*[kKmM千万]?"
_FORMS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"^({_NUMBER})\s*(?:-|–|—|~|to|至|到)\s*({_NUMBER})$", re.I), "range"),
    (re.compile(rf"^({_NUMBER})\s*(?:\+|and over|and above|or more|or older|以上|及以上)$", re.I), "over"),
    (re.compile(rf"^(?:>=?|≥|over|above)\s*({_NUMBER})$", re.I), "over"),
    (re.compile(rf"^(?:<=?|≤|under|below)\s*({_NUMBER})$", re.I), "under"),
    (re.compile(rf"^({_NUMBER})\s*(?:以下|及以下)$", re.I), "under"),
    (re.compile(rf"^({_NUMBER})$", re.I), "single"),
)
_SCALE = {"k": 1e3, "m": 1e6, "千": 1e3, "万": 1e4}


def _number(text: str) -> float:
    text = text.strip().lstrip("$€£¥").strip()
    scale = 1.0
    if text and text[-1].lower() in _SCALE:
        scale = _SCALE[text[-1].lower()]
        text = text[:-1].strip()
    return float(text.replace(",", "")) * scale


def band_bounds(text: str) -> tuple[float, float] | None:
    """``(lower, upper)`` of a band written as text, or None when it is not a band.

    >>> band_bounds("45-54"), band_bounds("65+"), band_bounds("<25"), band_bounds("20k-40k")
    ((45.0, 54.0), (65.0, inf), (-inf, 25.0), (20000.0, 40000.0))
    >>> band_bounds("Unknown") is None
    True
    """
    value = text.strip()
    for pattern, form in _FORMS:
        match = pattern.match(value)
        if match:
            numbers = [_number(g) for g in match.groups()]
            if form == "range":
                return (min(numbers), max(numbers))
            if form == "over":
                return (numbers[0], math.inf)
            if form == "under":
                return (-math.inf, numbers[0])
            return (numbers[0], numbers[0])
    return None


def band_order(values: list[str]) -> list[str]:
    """Distinct band texts sorted by lower bound, then upper bound (every value must be a band).

    >>> band_order(["65+", "25-34", "<25", "35-44"])
    ['<25', '25-34', '35-44', '65+']
    """
    distinct = sorted(set(values))
    return sorted(distinct, key=lambda v: (*band_bounds(v), v))


def parse_bands(values: pl.Series, column: str) -> pl.Series:
    """A text column of bands as an ordered ``Enum`` (blank text is null); other text raises :class:`ParseError`.

    >>> parse_bands(pl.Series(["25-34", "<25", "65+", " ", None]), "age").to_list()
    ['25-34', '<25', '65+', None, None]
    """
    text = values.cast(pl.String).str.strip_chars()
    text = pl.select(pl.when(pl.lit(text) == "").then(None).otherwise(pl.lit(text))).to_series().alias(values.name)
    present = text.drop_nulls().unique().to_list()
    bad = [v for v in present if band_bounds(v) is None]
    if bad:
        n_bad = int(text.is_in(bad).sum())
        raise ParseError(
            f"Column '{column}' has {n_bad} value(s) that are neither numbers nor bands such as '25-34', '65+' "
            f"or '<25', e.g. {sorted(bad)[:5]}. Replace them with blanks (missing) or numbers at the source."
        )
    return text.cast(pl.Enum(band_order(present)))
