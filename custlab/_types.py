"""Types shared by every custlab module (no imports from custlab itself)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Literal

__all__ = ["DateLike", "Engine", "Frame", "Language", "LANGUAGES"]

if TYPE_CHECKING:
    import polars as pl

    #: A table as custlab accepts it: eager or lazy polars.
    Frame = pl.DataFrame | pl.LazyFrame
#: A date argument: a date (its midnight), a datetime or an ISO string.
DateLike = dt.date | dt.datetime | str
#: polars collect engine.
Engine = Literal["auto", "in-memory", "streaming"]
#: Languages with a label table in custlab/locale/.
Language = Literal["en", "zh"]
LANGUAGES: tuple[str, ...] = ("en", "zh")


def __getattr__(name: str):
    """``Frame`` on first use: ``custlab report`` reads :data:`LANGUAGES` before polars is imported (0.15 s)."""
    if name == "Frame":
        import polars as pl

        globals()["Frame"] = frame = pl.DataFrame | pl.LazyFrame
        return frame
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
