"""Types shared by every custlab module (no imports from custlab itself)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import polars as pl

__all__ = ["DateLike", "Engine", "Frame", "Language", "LANGUAGES"]

#: A table as custlab accepts it: eager or lazy polars.
Frame = pl.DataFrame | pl.LazyFrame
#: A date argument: a date (its midnight), a datetime or an ISO string.
DateLike = dt.date | dt.datetime | str
#: polars collect engine.
Engine = Literal["auto", "in-memory", "streaming"]
#: Languages with a label table in custlab/locale/.
Language = Literal["en", "zh"]
LANGUAGES: tuple[str, ...] = ("en", "zh")
