"""Sentences of the monthly report, and the one way it writes numbers, dates and ids.

The figures (:mod:`custlab.report.figures`) never hold finished prose: they
hold :class:`Text` objects, a template key of ``custlab/locale/<lang>/report.json``
plus typed fields (:class:`Money`, :class:`Pct`, :class:`PP`, :class:`Change`,
:class:`Count`, :class:`Day`, :class:`Id`, :class:`Label`, ...). :func:`render`
formats the fields for one language, so the same figures give the English or
the Chinese report and every number is written the same way everywhere:

- money with the currency symbol or code, thousands separators, no decimals
  from 100 up, compact from a million (``£8.31M``, ``¥831.4万``);
- shares as ``45.7%`` (two significant digits under 1%: ``0.96%``, ``0.053%``,
  in sentences as in tables), changes of shares in percentage points (``+3.2 pp``),
  relative changes as ``+12.3%`` and, from ten-fold on, ``+1,172%`` (never
  ``11.72``); nothing rounds to ``-0.0``;
- ids as written in the data, without separators (``12346``, not ``12,346``);
- dates as people write them (``1 Nov 2011``, ``2011年11月1日``).

The rendered strings are plain text; :mod:`custlab.report.html` escapes them.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import ROUND_HALF_UP, Decimal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from custlab._i18n import label, t

__all__ = [
    "PP", "Change", "Count", "Data", "Day", "Days", "Field", "Id", "Items", "Label", "Lang", "Money", "MonthName", "Num", "Pct",
    "Text", "fmt_change", "fmt_count", "fmt_date", "fmt_id", "fmt_money", "fmt_month", "fmt_num", "fmt_pct",
    "fmt_pp", "fmt_share", "fmt_sig", "render", "render_rows", "render_value", "tr",
]

#: Symbols of the currencies people most often report in; other ISO codes are written as the code.
CURRENCY_SYMBOLS = {"GBP": "£", "USD": "$", "EUR": "€", "CNY": "¥", "RMB": "¥", "JPY": "¥", "BRL": "R$",
                    "HKD": "HK$", "TWD": "NT$", "INR": "₹", "KRW": "₩", "AUD": "A$", "CAD": "C$"}
_SNAKE = re.compile(r"[a-z0-9]+(?:_[a-z0-9+]+)+")
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS_LONG_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                   "October", "November", "December")


# -- typed fields -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Field:
    """A value of a sentence; the subclass says how it is written."""

    value: Any


@dataclass(frozen=True)
class Money(Field):
    """An amount of money; ``compact`` writes millions as ``8.31M`` (万/亿 in Chinese); ``signed`` adds "+"."""

    compact: bool = True
    signed: bool = False


@dataclass(frozen=True)
class Pct(Field):
    """A share between 0 and 1, written as a percentage: as the tables write it (:func:`fmt_share`) unless
    ``decimals`` fixes the places (``Pct(0.1, 0)`` for an assumed rate of 10%)."""

    decimals: int | None = None


@dataclass(frozen=True)
class Num(Field):
    """A plain number with a fixed number of decimals (lift, ratios, parameters)."""

    decimals: int = 1
    suffix: str = ""


class Count(Field):
    """A whole number of things (customers, orders), with thousands separators."""


class PP(Field):
    """A difference of two shares, written in percentage points (``+3.2 pp``)."""


class Change(Field):
    """A relative change (``0.12`` = +12%), always signed."""


class Days(Field):
    """A number of days (the template says "days")."""


class Day(Field):
    """A calendar date, written the way people read dates."""


class MonthName(Field):
    """A calendar month (``November 2011`` / ``2011年11月``) from a date or ``YYYY-MM``."""


class Id(Field):
    """An identifier from the data (customer, invoice, product code): written as is, no separators."""


class Label(Field):
    """A categorical value the library produces (segment, reason, step): translated."""


class Data(Field):
    """A value from the user's data (product name, country): written as is."""


@dataclass(frozen=True)
class Lang:
    """Text a library function already wrote in each language: ``{"en": ..., "zh": ...}``."""

    values: Mapping[str, str]

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.values.items())))


@dataclass(frozen=True)
class Items:
    """Several fields joined with the language's list separator."""

    values: Sequence[Any]
    last: bool = False  # join the last item with "and"/"和"


@dataclass(frozen=True)
class Text:
    """A sentence: the key of a template in the report catalogue and its fields.

    >>> render(Text("report.finding.revenue_up", {"revenue": Money(1234.5), "change": Change(0.123)}), "en")
    'Revenue 1,235 in the month, +12.3% on the month before.'
    """

    key: str
    fields: Mapping[str, Any] = field(default_factory=dict)

    def __hash__(self) -> int:  # fields is a dict: hash by key only
        return hash(self.key)


# -- formatting ---------------------------------------------------------------------------------------------
def _finite(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and not math.isfinite(value))


def _na(language: str) -> str:
    return t("report.na", language)


def _signed(text: str, value: float) -> str:
    if text.lstrip("-").replace("0", "").replace(".", "").replace(",", "").strip() == "":
        return text.lstrip("-")  # zero after rounding: no sign, never "-0.0"
    return ("+" if value > 0 else "") + text


def _fixed(value: float, decimals: int) -> str:
    """``value`` with ``decimals`` places (halves rounded away from zero), separators, never "-0"."""
    rounded = Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    text = f"{rounded:,.{decimals}f}"
    return text.lstrip("-") if rounded == 0 else text


def fmt_money(value: float | None, currency: str | None = None, language: str = "en", *, compact: bool = True,
              decimals: int | None = None) -> str:
    """Money with the currency symbol (or code) and thousands separators.

    >>> fmt_money(8314520.3, "GBP")
    '£8.31M'
    >>> fmt_money(8314520.3, "GBP", "zh")
    '£831.5万'
    >>> fmt_money(23.456, "EUR"), fmt_money(1234.5, None), fmt_money(-0.004, "USD")
    ('€23.46', '1,235', '$0.00')
    >>> fmt_money(1200.0, "CHF", compact=False)
    'CHF 1,200'
    """
    if not _finite(value):
        return _na(language)
    value = float(value)
    size = abs(value)
    if compact and language == "zh" and size >= 1e8:
        text = f"{_fixed(value / 1e8, 2)}亿"
    elif compact and language == "zh" and size >= 1e5:
        text = f"{_fixed(value / 1e4, 1)}万"
    elif compact and language != "zh" and size >= 1e6:
        text = f"{_fixed(value / 1e6, 2)}M"
    else:
        places = decimals if decimals is not None else (0 if size >= 100 else 2)
        text = _fixed(value, places)
    if not currency:
        return text
    code = currency.upper()
    symbol = CURRENCY_SYMBOLS.get(code)
    sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{code} {digits}"


def fmt_count(value: int | float | None, language: str = "en") -> str:
    """A count with thousands separators.

    >>> fmt_count(4339), fmt_count(None)
    ('4,339', 'n/a')
    """
    if not _finite(value):
        return _na(language)
    return f"{round(value):,}"


def fmt_pct(value: float | None, language: str = "en", decimals: int = 1) -> str:
    """A share as a percentage; a tiny non-zero share is ``<0.1%``, never ``0.0%`` or ``-0.0%``.

    >>> fmt_pct(0.4567), fmt_pct(0.00004), fmt_pct(-0.00001), fmt_pct(1.0)
    ('45.7%', '<0.1%', '0.0%', '100.0%')
    """
    if not _finite(value):
        return _na(language)
    value = float(value)
    limit = 0.5 * 10 ** -(decimals + 2)
    if 0 < value < limit:
        return f"<{10 ** -decimals:.{decimals}f}%"
    return _fixed(value * 100, decimals) + "%"


def fmt_share(value: float | None, language: str = "en") -> str:
    """A share as the report writes it in tables and sentences alike: one decimal from 1%, two significant digits
    below (a sentence read "41 customers (1.0%)" beside a table's 0.96%).

    A share just below 1 never reads 100% (Olist's early-warning list read "Churn risk 100.0%" for 0.9997): it keeps
    the decimals that show it short of 100%, cut (not rounded) at three.

    >>> fmt_share(0.4567), fmt_share(0.0096), fmt_share(0.00053), fmt_share(0.0), fmt_share(-0.004)
    ('45.7%', '0.96%', '0.053%', '0.0%', '-0.40%')
    >>> fmt_share(0.9997), fmt_share(0.99996), fmt_share(0.9999999), fmt_share(1.0)
    ('99.97%', '99.996%', '99.999%', '100.0%')
    """
    if not _finite(value):
        return _na(language)
    value = float(value)
    if 0.9995 <= value < 1:
        decimals = next((d for d in (2, 3) if round(value * 100, d) < 100), None)
        return fmt_pct(value, language, decimals) if decimals else fmt_pct(math.floor(value * 1e5) / 1e5, language, 3)
    small = 0 < abs(value) < 0.01
    return fmt_pct(value, language, max(1, 1 - math.floor(math.log10(abs(value) * 100))) if small else 1)


def fmt_pp(value: float | None, language: str = "en") -> str:
    """A change of a share in percentage points, signed.

    >>> fmt_pp(0.0321), fmt_pp(-0.0004), fmt_pp(0.0321, "zh")
    ('+3.2 pp', '0.0 pp', '+3.2个百分点')
    """
    if not _finite(value):
        return _na(language)
    return _signed(_fixed(float(value) * 100, 1), float(value)) + t("report.unit.pp", language)


def fmt_change(value: float | None, language: str = "en") -> str:
    """A relative change, signed; ten-fold and more without decimals.

    >>> fmt_change(0.1234), fmt_change(-0.0499), fmt_change(11.72), fmt_change(-0.00001)
    ('+12.3%', '-5.0%', '+1,172%', '0.0%')
    """
    if not _finite(value):
        return _na(language)
    value = float(value)
    decimals = 0 if abs(value) >= 10 else 1
    return _signed(_fixed(value * 100, decimals), value) + "%"


def fmt_num(value: float | None, decimals: int = 1, language: str = "en", suffix: str = "") -> str:
    """A plain number with ``decimals`` places and thousands separators.

    >>> fmt_num(3.456), fmt_num(-0.01), fmt_num(12345.678, 2)
    ('3.5', '0.0', '12,345.68')
    """
    if not _finite(value):
        return _na(language)
    return _fixed(float(value), decimals) + suffix


def fmt_sig(value: float | None, digits: int = 3, language: str = "en") -> str:
    """A small positive measure (an error per customer) to ``digits`` significant digits, so that two of them that
    differ are not both written "0.001".

    >>> fmt_sig(0.8664), fmt_sig(0.0012345), fmt_sig(0.00134), fmt_sig(12.345), fmt_sig(0.0)
    ('0.866', '0.00123', '0.00134', '12.3', '0.000')
    """
    if not _finite(value):
        return _na(language)
    value = float(value)
    decimals = digits if value == 0 else max(0, digits - 1 - math.floor(math.log10(abs(value))))
    return _fixed(value, decimals)


def fmt_id(value: Any) -> str:
    """An identifier as text: integers and integral floats without separators or ``.0``.

    >>> fmt_id(12346), fmt_id(12346.0), fmt_id("C541433")
    ('12346', '12346', 'C541433')
    """
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def fmt_date(value: dt.date | dt.datetime | None, language: str = "en") -> str:
    """A date as people write it.

    >>> fmt_date(dt.date(2011, 11, 1)), fmt_date(dt.datetime(2011, 12, 9, 12), "zh")
    ('1 Nov 2011', '2011年12月9日')
    """
    if value is None:
        return _na(language)
    if language == "zh":
        return f"{value.year}年{value.month}月{value.day}日"
    return f"{value.day} {_MONTHS_EN[value.month - 1]} {value.year}"


def fmt_month(value: dt.date | str, language: str = "en", *, short: bool = False) -> str:
    """A month: ``November 2011`` (``Nov 2011`` when short) or ``2011年11月``.

    >>> fmt_month("2011-11"), fmt_month(dt.date(2011, 11, 1), "zh"), fmt_month("2011-11", short=True)
    ('November 2011', '2011年11月', 'Nov 2011')
    """
    if isinstance(value, str):
        value = dt.date(int(value[:4]), int(value[5:7]), 1)
    if language == "zh":
        return f"{value.year}年{value.month}月"
    names = _MONTHS_EN if short else _MONTHS_LONG_EN
    return f"{names[value.month - 1]} {value.year}"


def tr(value: Any, language: str = "en") -> str:
    """A library-produced categorical value in ``language`` (unknown values unchanged).

    >>> tr("cancelled", "zh")
    '取消订单'
    >>> tr("health_beauty", "en"), tr("health_beauty", "zh")
    ('health beauty', 'health beauty')
    """
    out = label(value, language)
    if out is None:
        return ""
    if out == value and isinstance(out, str) and _SNAKE.fullmatch(out):
        # library codes such as "white_collar" read as words, in every language (Olist's "health_beauty" had read
        # "health beauty" on the English page and "health_beauty" on the Chinese one)
        return out.replace("_", " ")
    return str(out)


def render_value(value: Any, language: str = "en", currency: str | None = None) -> str:
    """One field of a :class:`Text` as text in ``language``."""
    if isinstance(value, Money):
        text = fmt_money(value.value, currency, language, compact=value.compact)
        signed = value.signed and _finite(value.value) and float(value.value) >= 0.005  # "-" is written anyway
        return "+" + text if signed else text
    if isinstance(value, Count):
        return fmt_count(value.value, language)
    if isinstance(value, Pct):
        if value.decimals is None:
            return fmt_share(value.value, language)
        return fmt_pct(value.value, language, value.decimals)
    if isinstance(value, PP):
        return fmt_pp(value.value, language)
    if isinstance(value, Change):
        return fmt_change(value.value, language)
    if isinstance(value, Num):
        return fmt_num(value.value, value.decimals, language, value.suffix)
    if isinstance(value, Days):
        return fmt_num(value.value, 0, language)
    if isinstance(value, Day):
        return fmt_date(value.value, language)
    if isinstance(value, MonthName):
        return fmt_month(value.value, language)
    if isinstance(value, Id):
        return fmt_id(value.value)
    if isinstance(value, Label):
        return tr(value.value, language)
    if isinstance(value, Data):
        return "" if value.value is None else fmt_id(value.value)
    if isinstance(value, Lang):
        return str(value.values.get(language) or value.values.get("en", ""))
    if isinstance(value, Items):
        parts = [render_value(v, language, currency) for v in value.values]
        if value.last and len(parts) > 1:
            return t("report.list_and", language, head=t("report.list_sep", language).join(parts[:-1]), last=parts[-1])
        return t("report.list_sep", language).join(parts)
    if isinstance(value, Text):
        return render(value, language, currency)
    if isinstance(value, bool) or value is None:
        raise TypeError(f"report text field {value!r} has no type; wrap it in Count, Money, Label, Data, ...")
    if isinstance(value, float):
        return fmt_num(value, 1, language)
    if isinstance(value, int):
        return fmt_count(value, language)
    return str(value)


#: English nouns the report counts: "1 orders" is written "1 order".
_PLURALS = re.compile(r"(?<![\d.,])1 (order|customer|day|rule|purchase|basket|week|month|cohort|place|product name|"
                      r"action|line|famil)(ies|s)\b")


def _singular(text: str, language: str) -> str:
    """English sentences with "1 <noun>s" made singular (Chinese has no plural)."""
    if language != "en" or "1 " not in text:
        return text
    return _PLURALS.sub(lambda m: f"1 {m.group(1)}{'y' if m.group(2) == 'ies' else ''}", text)


def render(text: Text | Lang | str, language: str = "en", currency: str | None = None) -> str:
    """The sentence ``text`` in ``language``, every field formatted by its type (a :class:`Lang` as written).

    >>> render(Text("report.segments.line", {"segment": Label("High value"), "customers": Count(1),
    ...     "share": Pct(0.0002), "rev": Pct(0.001), "recency": Days(33)}))
    'High value: 1 customer (0.020%), 0.10% of revenue, last order a median 33 days ago.'
    """
    if isinstance(text, str):
        return text
    if isinstance(text, Lang):
        return render_value(text, language, currency)
    fields = {name: render_value(value, language, currency) for name, value in text.fields.items()}
    return _singular(t(text.key, language, **fields), language)


def render_rows(key: str, columns: Mapping[str, tuple[Callable[[Any], Any], Sequence[Any]]], language: str = "en",
                currency: str | None = None) -> list[str]:
    """One sentence per row: :func:`render` of ``Text(key, {name: kind(value)})`` for each row's values, fast.

    ``columns`` maps each field to its kind (``Count``, ``Money``, ``partial(Money, compact=False)``, ``Label`` ...)
    and its values, one per row. Each distinct value is written once and the template filled by joining, so
    thousands of CRM reasons cost milliseconds; the result equals rendering each row.

    >>> render_rows("report.reason.segment", {"segment": (Label, ["High value"]), "orders": (Count, [12]),
    ...              "spend": (Money, [1234.5]), "days": (Days, [3])}, "en", "GBP")
    ['High value: 12 orders, £1,235 spent, last order 3 days ago']
    """
    names = list(columns)
    marks = {name: f"\x00{i}\x00" for i, name in enumerate(names)}
    template = t(key, language, **marks)
    pieces = re.split("\x00(\\d+)\x00", template)  # text, field index, text, field index, ..., text
    rendered = []
    for name in names:
        kind, values = columns[name]
        memo: dict[Any, str] = {}
        out = []
        for value in values:
            try:
                text = memo[value]
            except KeyError:
                text = memo[value] = render_value(kind(value), language, currency)
            except TypeError:  # an unhashable value
                text = render_value(kind(value), language, currency)
            out.append(text)
        rendered.append(out)
    rows = len(rendered[0]) if rendered else 0
    fixed, slots = pieces[0::2], [int(i) for i in pieces[1::2]]
    result = []
    for r in range(rows):
        parts = [fixed[0]]
        for slot, after in zip(slots, fixed[1:]):
            parts.append(rendered[slot][r])
            parts.append(after)
        result.append(_singular("".join(parts), language))
    return result
