"""Rules a manager can act on: product variants grouped, rules across products and categories first.

The strongest association rules of a shop are often between variants of one product:
"REGENCY TEA PLATE PINK => REGENCY TEA PLATE GREEN" has a lift of 62 in Online Retail, and tells
a buyer nothing. :func:`product_families` groups the variants of a product (the same name once
colour, size and pack-size words are removed), and :func:`manager_rules` mines or collapses the
rules at that level, drops the rules inside one family, keeps one of each mirrored pair
(``A => B`` and ``B => A``), and ranks the rules across categories before those across products.
The full rule table stays in :attr:`ManagerRules.all_rules` for exports.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from custlab._i18n import check_language, t
from custlab._types import Frame, Language
from custlab.data.schema import check_frame
from custlab.exceptions import CustlabError
from custlab.rules.association import association_rules, frequent_itemsets
from custlab.rules.baskets import _check_share, _check_support, _check_top_n, _rule_text, baskets

__all__ = ["VARIANT_WORDS", "ManagerRules", "manager_rules", "product_families"]

#: Words that name a variant of a product rather than the product (compared in upper case):
#: colours, sizes. Numbers (pack sizes) are variant words too.
VARIANT_WORDS: frozenset[str] = frozenset(
    "RED PINK GREEN BLUE WHITE BLACK IVORY CREAM YELLOW ORANGE PURPLE BROWN GREY GRAY SILVER GOLD "
    "ROSE ROSES TURQUOISE LILAC NAVY BEIGE TEAL AQUA LIME MAGENTA FUCHSIA VIOLET CHOCOLATE NATURAL "
    "PASTEL BRIGHT DARK LIGHT SMALL MEDIUM LARGE MINI BIG GIANT XL XXL".split()
)

_RULE_COLUMNS = ("antecedent", "consequent", "support", "confidence", "lift", "count")
#: Families whose names share at least this share of the shorter name's words are related products
#: (one range or design, e.g. "FELTCRAFT CUSHION RABBIT" and "FELTCRAFT CUSHION BUTTERFLY"; "KEY FOB ,
#: GARAGE DESIGN" and "KEY FOB , BACK DOOR": 2 of 3), as are names that begin or end with the same word
#: (the range or design, "POLKADOT PLATE" and "POLKADOT CUP", "3 STRIPEY MICE FELTCRAFT" and "FELTCRAFT
#: BUTTERFLY HEARTS"; the product, "BRIGHT BLUES RIBBONS" and "LUSH GREENS RIBBONS"). Words of
#: :data:`_COMMON_WORDS` and numbers do not count.
_RELATED = 0.5
#: Words too common in product names to make two names related ("SET OF 4 ..." and "SET OF 60 ...").
_COMMON_WORDS: frozenset[str] = frozenset(
    "A AN AND THE OF WITH IN ON FOR TO BY SET PACK DESIGN ASSORTED NEW".split()
)


@dataclass(frozen=True)
class ManagerRules:
    """Rules grouped by product family, for managers (``rules``) and for exports (``all_rules``).

    Attributes
    ----------
    rules : pl.DataFrame
        The ``top_n`` actionable rules: ``antecedent``, ``consequent`` (List[String], family
        names), ``antecedent_codes``, ``consequent_codes`` (List[String], the product codes of
        every variant), ``support``, ``confidence``, ``lift`` (Float64), ``count`` (Int64,
        baskets), ``across`` (String, in ``language``: "across categories", "across products" or
        "related products") and ``text`` (a sentence in ``language``). One rule per set of
        families; rules across categories come first, then across products, then between related
        products (one range or design: names sharing half the shorter one's words, or their first or
        last word, e.g. two designs of one cushion),
        each by ``metric``.
    all_rules : pl.DataFrame
        Every family-level rule with the same columns, in the same order (no ``top_n`` cut).
    families : pl.DataFrame
        ``item``, ``family``, ``n_variants`` (Int64) and, when known, ``code`` and ``category``.
    """

    rules: pl.DataFrame
    all_rules: pl.DataFrame
    families: pl.DataFrame

    def to_frame(self) -> pl.DataFrame:
        """The rules for managers (:attr:`rules`)."""
        return self.rules

    @property
    def summary(self) -> pl.DataFrame:
        """How many rules there are across categories and across products, in all and shown."""
        shown = self.rules.group_by("across").len("shown")
        return self.all_rules.group_by("across").len("rules").join(shown, on="across", how="left").fill_null(0).sort("across")

    def __repr__(self) -> str:
        grouped = self.families.filter(pl.col("n_variants") > 1)["family"].n_unique()
        head = ""
        if self.rules.height:
            row = self.rules.row(0, named=True)
            head = f"; top: {_rule_text(row['antecedent'])} => {_rule_text(row['consequent'])} (lift {row['lift']:.1f})"
        return (f"ManagerRules({self.rules.height} shown of {self.all_rules.height} family rules; "
                f"{grouped} product families with variants{head})")


def product_families(items: Iterable[str] | pl.Series, *, variant_words: Iterable[str] | None = None) -> pl.DataFrame:
    """The product family of each item name: the name without its variant words, when shared.

    Names are split on spaces; words in ``variant_words`` (upper case compared; default
    :data:`VARIANT_WORDS`: colours and sizes) and numbers are dropped. Names left with the same
    words (in upper case) form one family, named by those words; a name alone in its family
    keeps its full name, so "GREEN REGENCY TEACUP" stays itself unless a "PINK REGENCY TEACUP"
    exists. Names in languages written without spaces stay their own family.

    Parameters
    ----------
    items : sequence of str or polars Series
        Product names (duplicates are fine).
    variant_words : iterable of str, optional
        Words that name a variant; replaces :data:`VARIANT_WORDS`.

    Returns
    -------
    pl.DataFrame
        ``item`` (String, each distinct name), ``family`` (String), ``n_variants`` (Int64, names
        in the family), sorted by family, then item.

    Examples
    --------
    >>> product_families(["REGENCY TEA PLATE GREEN", "REGENCY TEA PLATE PINK", "TEAPOT RED"]).rows()
    [('REGENCY TEA PLATE GREEN', 'REGENCY TEA PLATE', 2), ('REGENCY TEA PLATE PINK', 'REGENCY TEA PLATE', 2), ('TEAPOT RED', 'TEAPOT RED', 1)]
    """
    words = _variant_list(variant_words)
    names = pl.Series("item", list(items) if not isinstance(items, pl.Series) else items, dtype=pl.String)
    if names.null_count():
        raise CustlabError(f"items has {names.null_count()} null name(s); drop or fill them first.")
    table = (
        names.unique().to_frame()
        .with_columns(stem=_words(pl.col("item"), words).list.join(" "))
        .with_columns(key=pl.when(pl.col("stem") == "").then(pl.col("item")).otherwise(pl.col("stem")).str.to_uppercase())
        .with_columns(n_variants=pl.len().over("key").cast(pl.Int64))
        .with_columns(family=pl.when(pl.col("n_variants") > 1)
                      .then(pl.col("stem").sort_by("item").first().over("key"))
                      .otherwise(pl.col("item")))
    )
    return table.select("item", "family", "n_variants").sort("family", "item")


def _variant_list(variant_words: Iterable[str] | None) -> list[str]:
    return sorted({w.upper() for w in (VARIANT_WORDS if variant_words is None else variant_words)})


def _words(names: pl.Expr, variant_words: list[str]) -> pl.Expr:
    """The words of names without variant words, numbers and bare punctuation (case kept)."""
    word = pl.element().str.strip_chars(",.;:()[]")
    kept = word.filter(~word.str.to_uppercase().is_in(variant_words) & ~word.str.contains(r"^[0-9]+$")
                       & word.str.contains(r"[^\W_]"))
    return names.str.split(" ").list.eval(kept)


def manager_rules(
    rules_or_transactions: Frame,
    *,
    item: str = "product_name",
    code: str | None = "product_id",
    category: str | None = "category",
    basket: str = "order_id",
    min_support: float = 0.01,
    min_confidence: float = 0.3,
    min_lift: float = 1.5,
    max_len: int = 3,
    top_n: int = 10,
    metric: str = "lift",
    variant_words: Iterable[str] | None = None,
    language: Language = "en",
) -> ManagerRules:
    """The rules worth showing a manager: product variants grouped, one rule per pair, across first.

    Given order lines, each item is replaced by its product family (:func:`product_families`), the
    baskets are built at that level (a basket with a pink and a green plate holds "REGENCY TEA
    PLATE" once) and the rules mined there, so no rule links two variants of one product. Given
    a rule table (the output of :func:`~custlab.rules.association_rules`), its items are mapped to
    their families, rules inside one family are dropped and the rules that become the same keep
    their best ``metric``. A rule is *across categories* when the categories of its two
    sides differ (with a ``category`` column), else *across products*, or *related products* when
    the names of its two sides are one range or design (:func:`_related`: they share half the words of
    the shorter name, or a first or last word: "FELTCRAFT CUSHION RABBIT" and "FELTCRAFT
    CUSHION BUTTERFLY", "POLKADOT PLATE" and "POLKADOT CUP"). Rules are ranked in that order, then by
    ``metric``; of the rules on one set of families (``A => B``, ``B => A``, the splits of ``{A, B, C}``)
    only the one with the highest confidence is kept.

    Parameters
    ----------
    rules_or_transactions : polars DataFrame or LazyFrame
        Order lines (``basket``, ``item`` and, if present, ``code`` and ``category`` columns) or a
        rule table (``antecedent``, ``consequent``, ``support``, ``confidence``, ``lift``,
        ``count``; items are names).
    item, code, category, basket : str, keyword-only
        Columns of the order lines: product name, product code (None: no codes), category (None
        or absent: no categories), basket id.
    min_support, min_confidence, min_lift, max_len : keyword-only
        Thresholds of the family-level rules (order lines only, except ``min_lift``, which also
        filters a given rule table).
    top_n : int, keyword-only, default 10
        Rules in :attr:`ManagerRules.rules`.
    metric : {"lift", "confidence", "support", "count"}, keyword-only, default "lift"
        Ranks the rules within "across categories" and "across products".
    variant_words : iterable of str, optional
        Words that name a variant (see :func:`product_families`).
    language : {"en", "zh"}, keyword-only
        Language of ``across`` and ``text``.

    Returns
    -------
    ManagerRules
        ``rules`` (top ``top_n``), ``all_rules`` and ``families``.

    Examples
    --------
    >>> tx = pl.DataFrame({"order_id": [1, 1, 1, 2, 2, 3, 4],
    ...     "product_name": ["TEA PLATE PINK", "TEA PLATE GREEN", "SUGAR BOWL", "TEA PLATE PINK", "SUGAR BOWL",
    ...                      "TEA PLATE GREEN", "CUP"],
    ...     "product_id": ["P1", "P2", "S1", "P1", "S1", "P2", "C1"]})
    >>> found = manager_rules(tx, min_support=0.25, min_confidence=0.5, min_lift=1.0)
    >>> found.rules.select("antecedent", "consequent", "antecedent_codes", "consequent_codes", "confidence").rows()
    [(['SUGAR BOWL'], ['TEA PLATE'], ['S1'], ['P1', 'P2'], 1.0)]
    """
    check_language(language)
    check_frame(rules_or_transactions, argument="rules_or_transactions")
    top_n = _check_top_n(top_n)
    if metric not in ("lift", "confidence", "support", "count"):
        raise CustlabError(f"metric must be 'lift', 'confidence', 'support' or 'count', got {metric!r}.")
    columns = rules_or_transactions.collect_schema().names()
    if {"antecedent", "consequent"} <= set(columns):
        found, families = _collapse(rules_or_transactions, variant_words, min_lift, metric)
    else:
        found, families = _mine(rules_or_transactions, columns, item=item, code=code, category=category,
                                basket=basket, min_support=min_support, min_confidence=min_confidence,
                                min_lift=min_lift, max_len=max_len, variant_words=variant_words)
    found = _one_per_itemset(found)
    words = _variant_list(variant_words)
    ranked = _annotate(found, families, language, words).sort(
        ["_across", metric, "confidence", "antecedent", "consequent"], descending=[True, True, True, False, False]
    ).drop("_across")
    return ManagerRules(rules=ranked.head(top_n), all_rules=ranked, families=families)


def _mine(transactions: Frame, columns: list[str], *, item: str, code: str | None, category: str | None,
          basket: str, min_support: float, min_confidence: float, min_lift: float, max_len: int,
          variant_words: Iterable[str] | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    min_support = _check_support(min_support)
    min_confidence = _check_share(min_confidence, "min_confidence", allow_zero=True)
    for name, value in (("item", item), ("basket", basket)):
        if value not in columns:
            raise CustlabError(f"{name}={value!r} is not a column of the order lines; columns: {columns}.")
    extra = [c for c in (code, category) if c is not None and c in columns]
    lines = (transactions.lazy().select(basket, item, *extra).drop_nulls([basket, item])
             .with_columns(pl.col(item).cast(pl.String)).collect())
    families = product_families(lines[item], variant_words=variant_words)
    families = _with_details(families, lines, item=item, code=code if code in extra else None,
                             category=category if category in extra else None)
    by_family = lines.join(families.select(pl.col("item").alias(item), "family"), on=item, how="left")
    table = baskets(by_family, by=basket, item="family")
    itemsets = frequent_itemsets(table, min_support=min_support, max_len=max_len)
    found = association_rules(itemsets, min_confidence=min_confidence, min_lift=min_lift)
    return found.select(_RULE_COLUMNS), families


def _collapse(rules: Frame, variant_words: Iterable[str] | None, min_lift: float, metric: str
              ) -> tuple[pl.DataFrame, pl.DataFrame]:
    data = rules.lazy().select(_RULE_COLUMNS).collect()
    names = pl.concat([data["antecedent"].explode(), data["consequent"].explode()]).drop_nulls().cast(pl.String)
    families = product_families(names, variant_words=variant_words)
    lookup = dict(zip(families["item"].to_list(), families["family"].to_list()))

    def to_family(col: str) -> pl.Expr:
        return pl.col(col).cast(pl.List(pl.String)).list.eval(pl.element().replace(lookup)).list.unique().list.sort()

    mapped = data.with_columns(antecedent=to_family("antecedent"), consequent=to_family("consequent"))
    inside = mapped["antecedent"].list.set_intersection(mapped["consequent"]).list.len() > 0
    collapsed = (
        mapped.filter(~inside, pl.col("lift") >= min_lift)
        .sort([metric, "confidence"], descending=True)
        .unique(["antecedent", "consequent"], keep="first", maintain_order=True)
    )
    return collapsed, families.with_columns(code=pl.lit(None, pl.String), category=pl.lit(None, pl.String))


def _with_details(families: pl.DataFrame, lines: pl.DataFrame, *, item: str, code: str | None,
                  category: str | None) -> pl.DataFrame:
    """Families with each item's product codes (joined by " / ") and its most common category."""
    out = families
    if code is not None:
        codes = (lines.select(pl.col(item).alias("item"), pl.col(code).cast(pl.String).alias("code")).drop_nulls()
                 .unique().group_by("item").agg(pl.col("code").sort().str.join(" / ")))
        out = out.join(codes, on="item", how="left")
    else:
        out = out.with_columns(code=pl.lit(None, pl.String))
    if category is not None:
        cats = (lines.select(pl.col(item).alias("item"), pl.col(category).cast(pl.String).alias("category")).drop_nulls()
                .group_by("item", "category").len().sort(["item", "len", "category"], descending=[False, True, False])
                .unique("item", keep="first", maintain_order=True).drop("len"))
        out = out.join(cats, on="item", how="left")
    else:
        out = out.with_columns(category=pl.lit(None, pl.String))
    return out.sort("family", "item")


def _one_per_itemset(found: pl.DataFrame) -> pl.DataFrame:
    """One rule per set of families (``A => B`` and ``B => A``, or the splits of ``{A, B, C}``): the
    one with the highest confidence."""
    key = pl.concat_list("antecedent", "consequent").list.sort().list.join("\x1f")
    return (found.with_columns(_set=key).sort(["confidence", "antecedent"], descending=[True, False])
            .unique("_set", keep="first", maintain_order=True).drop("_set"))


def _content(words: Iterable[str]) -> tuple[str, ...]:
    """The words of a family name that can make it related to another (no common words, no "SET/6" counts)."""
    return tuple(w for w in words if w not in _COMMON_WORDS and not any(c.isdigit() for c in w))


def _related(x: Iterable[str], y: Iterable[str]) -> bool:
    """Whether two family names (their words, in order) are one range or design: they share at least half
    the words of the shorter one, or a word one begins or ends with begins or ends the other ("3 STRIPEY MICE
    FELTCRAFT" and "FELTCRAFT BUTTERFLY HEARTS"); common words and numbers left out.

    >>> _related("KEY FOB GARAGE DESIGN".split(), "KEY FOB BACK DOOR".split())
    True
    >>> _related("WHITE HANGING HEART T-LIGHT HOLDER".split(), "REGENCY CAKESTAND TIER".split())
    False
    """
    wx, wy = _content(x), _content(y)
    if not wx or not wy:
        return False
    shared = len(set(wx) & set(wy))
    return shared / min(len(set(wx)), len(set(wy))) >= _RELATED or bool({wx[0], wx[-1]} & {wy[0], wy[-1]})


def _similar(a: list[str], b: list[str], words: dict[str, tuple[str, ...]]) -> bool:
    """Whether a family on one side is related to one on the other (:func:`_related`)."""
    return any(_related(words.get(x, ()), words.get(y, ())) for x in a for y in b)


def _annotate(found: pl.DataFrame, families: pl.DataFrame, language: str, variant_words: list[str]) -> pl.DataFrame:
    """Codes, what the rule links (categories, products, related products) and a sentence for each rule."""
    per_family = families.group_by("family").agg(
        codes=pl.col("code").drop_nulls().str.split(" / ").explode().drop_nulls().unique().sort(),
        categories=pl.col("category").drop_nulls().unique().sort(),
    )
    codes = dict(zip(per_family["family"].to_list(), per_family["codes"].to_list()))
    cats = dict(zip(per_family["family"].to_list(), per_family["categories"].to_list()))
    names = pl.concat([found["antecedent"].explode(), found["consequent"].explode()]).drop_nulls().unique()
    split = names.to_frame("f").with_columns(w=_words(pl.col("f").str.to_uppercase(), variant_words))
    words = {f: tuple(w) for f, w in split.iter_rows()}
    levels = [t(f"rules.across_{what}", language) for what in ("related", "products", "categories")]
    rows = []
    for row in found.iter_rows(named=True):
        ant, cons = row["antecedent"], row["consequent"]
        cat_a = {c for f in ant for c in cats.get(f, [])}
        cat_c = {c for f in cons for c in cats.get(f, [])}
        if cat_a and cat_c and not cat_a & cat_c:
            level = 2
        else:
            level = 0 if _similar(ant, cons, words) else 1
        rows.append({
            "antecedent_codes": sorted({c for f in ant for c in codes.get(f, [])}),
            "consequent_codes": sorted({c for f in cons for c in codes.get(f, [])}),
            "across": levels[level],
            "_across": level,
            "text": t("rules.manager_text", language, a=" + ".join(ant), b=" + ".join(cons),
                      share=f"{row['confidence']:.0%}", lift=f"{row['lift']:.1f}"),
        })
    extra = pl.DataFrame(rows, schema={"antecedent_codes": pl.List(pl.String), "consequent_codes": pl.List(pl.String),
                                       "across": pl.String, "_across": pl.Int64, "text": pl.String})
    data = found.with_columns(pl.col("antecedent", "consequent").cast(pl.List(pl.String)))
    out = pl.concat([data, extra], how="horizontal")
    return out.select("antecedent", "consequent", "antecedent_codes", "consequent_codes", "support", "confidence",
                      "lift", "count", "across", "_across", "text")
