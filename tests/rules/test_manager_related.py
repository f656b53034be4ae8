"""Related products: two designs of one product, or one range, are not labelled "across products"."""

from __future__ import annotations

import polars as pl
import pytest

from custlab import rules as R

#: Rules of Online Retail II (2010-03 and 2010-11) the baskets section called "across products".
DESIGNS = [
    ("KEY FOB , GARAGE DESIGN", "KEY FOB , BACK DOOR"),
    ("GARDENERS KNEELING PAD CUP OF TEA", "GARDENERS KNEELING PAD KEEP CALM"),
    ("BRIGHT BLUES RIBBONS", "LUSH GREENS RIBBONS"),
    ("POLKADOT PLATE", "POLKADOT CUP"),
    ("COOK WITH WINE METAL SIGN", "GIN + TONIC DIET METAL SIGN"),
    ("FELTCRAFT CUSHION RABBIT", "FELTCRAFT CUSHION BUTTERFLY"),
    ("3 STRIPEY MICE FELTCRAFT", "FELTCRAFT BUTTERFLY HEARTS"),
]
#: Pairs of different products a buyer can act on (Online Retail's most frequent items; names sharing "SET OF").
UNRELATED = [
    ("WHITE HANGING HEART T-LIGHT HOLDER", "REGENCY CAKESTAND 3 TIER"),
    ("JUMBO BAG RED RETROSPOT", "PARTY BUNTING"),
    ("SET OF 4 KNICK KNACK TINS LONDON", "SET OF 60 VINTAGE LEAF CAKE CASES"),
    ("PAINTED METAL PEARS ASSORTED", "ASSORTED COLOUR BIRD ORNAMENT"),
]


def _rule_table(pairs):
    n = len(pairs)
    return pl.DataFrame({"antecedent": [[a] for a, _ in pairs], "consequent": [[b] for _, b in pairs],
                         "support": [0.02] * n, "confidence": [0.5] * n, "lift": [10.0 + i for i in range(n)],
                         "count": [20] * n})


@pytest.mark.parametrize("language, related, across", [("en", "related products", "across products"),
                                                         ("zh", "相关商品", "跨商品")])
def test_designs_of_one_product_are_related_and_different_products_are_not(language, related, across):
    found = R.manager_rules(_rule_table(DESIGNS + UNRELATED), min_lift=1.0, top_n=20, language=language)
    label = {(r["antecedent"][0], r["consequent"][0]): r["across"] for r in found.all_rules.iter_rows(named=True)}
    for a, b in DESIGNS:
        assert label[(a, b)] == related, (a, b)
    for a, b in UNRELATED:
        assert label[(a, b)] == across, (a, b)
    # the rules a buyer can act on come first
    assert found.rules["across"].to_list()[:len(UNRELATED)] == [across] * len(UNRELATED)
