"""Exceptions and warnings raised by custlab.

Every error custlab raises on bad input is a subclass of :class:`CustlabError`,
which is itself a :class:`ValueError`, so ``except ValueError`` keeps working.
Messages name the column, show the offending values and their count, and say
what to do about it.
"""

from __future__ import annotations


class CustlabError(ValueError):
    """Base class of custlab's input errors."""


class SchemaError(CustlabError):
    """A table lacks a required column, or a column has a type custlab cannot use."""


class ParseError(CustlabError):
    """Values of a column cannot be read as the type the data contract asks for."""


class EmptyDataError(CustlabError):
    """A table has no rows, or a required column holds nothing but nulls."""


class ConvergenceError(CustlabError):
    """A model fit did not converge; the message says how to retry."""


class CustlabWarning(UserWarning):
    """Base class of custlab's warnings: something in the data or a fit deserves a look."""


class CJKFontWarning(CustlabWarning):
    """No font that can draw Chinese was found; labels will show as empty boxes."""

def warn_outside(message: str, category: type[Warning] = CustlabWarning) -> None:
    """Warn at the first line outside custlab: the user's call, however deep inside custlab the warning starts.

    A fixed ``stacklevel`` points at custlab's own source whenever the warning comes from a function that custlab
    itself called (a notebook showed ``.../custlab/forecast/alerts.py:176: ForecastWarning`` under a cell).
    """
    import sys
    import warnings

    def inside(frame) -> bool:
        name = frame.f_globals.get("__name__", "")
        return name == "custlab" or name.startswith("custlab.")

    frame, level = sys._getframe(1), 2  # level 2: the line that called this function
    while frame is not None and inside(frame):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


__all__ = ["CJKFontWarning", "ConvergenceError", "CustlabError", "CustlabWarning", "EmptyDataError", "ParseError", "SchemaError"]
