"""Figures and pages of the monthly report, computed once per test session (they take a few seconds each)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from custlab.data import clean_transactions
from custlab.report.figures import compute_month
from custlab.report.html import render_html
from custlab.report.months import check_month
from custlab.report.sources import SHOP_EXTRAS
from custlab.synthetic import make_shop

#: The built-in shop the report tests read: small enough to be quick, big enough for every section.
SHOP_CUSTOMERS, SHOP_SEED = 1500, 3
#: Online Retail sample: seeded, whole customers (all their lines), for speed.
RETAIL_CUSTOMERS = 1500


def shop_source(n: int = SHOP_CUSTOMERS, seed: int = SHOP_SEED) -> dict:
    return {"name": f"synthetic shop ({n:,} customers, seed {seed})", "fingerprint": f"synthetic:{n}:{seed}:0"}


@pytest.fixture(scope="session")
def shop_tables() -> dict:
    """The built-in shop's tables, transactions cleaned (nothing to clean at messy=0)."""
    tables = make_shop(SHOP_CUSTOMERS, seed=SHOP_SEED, **SHOP_EXTRAS).tables()  # as `custlab report` makes it
    clean, quality = clean_transactions(tables["transactions"])
    return {**tables, "transactions": clean, "_quality": quality}


def compute_shop(tables: dict, month: str | None, previous=None, **kwargs):
    data = {k: v for k, v in tables.items() if not k.startswith("_")}
    spec = check_month(data["transactions"].lazy(), month)
    return compute_month(data, month=spec, quality=tables["_quality"], source=shop_source(), previous=previous, **kwargs)


@pytest.fixture(scope="session")
def shop_november(shop_tables):
    return compute_shop(shop_tables, "2024-11")


@pytest.fixture(scope="session")
def shop_figures(shop_tables, shop_november):
    """December 2024 of the shop, with November's key figures as last month's (the second run)."""
    return compute_shop(shop_tables, "2024-12", previous=shop_november.key_figures())


@pytest.fixture(scope="session")
def shop_html(shop_figures) -> dict[str, str]:
    return {lang: render_html(shop_figures, language=lang, run_info={"version": "0.test", "parameters": {"month": "2024-12"}})
            for lang in ("en", "zh")}


@pytest.fixture(scope="session")
def retail_sample(online_retail) -> pl.DataFrame:
    """Online Retail, every line of a seeded sample of customers, of 12346 and 16446, and the lines without a customer."""
    ids = online_retail["customer_id"].drop_nulls().unique().sort().sample(RETAIL_CUSTOMERS, seed=7)
    reversed_orders = pl.col("customer_id").cast(pl.String).is_in(["12346", "16446"])  # orders cancelled whole
    return online_retail.filter(pl.col("customer_id").is_in(ids.implode()) | pl.col("customer_id").is_null()
                                | reversed_orders)


def compute_retail(raw: pl.DataFrame, month: str, *, partial: bool = False, **kwargs):
    spec = check_month(raw.lazy(), month, partial=partial)
    clean, quality = clean_transactions(raw, as_of=spec.as_of)
    return compute_month({"transactions": clean}, month=spec, quality=quality,
                         source={"name": "online_retail.parquet"}, currency="GBP", **kwargs), quality


@pytest.fixture(scope="session")
def retail_november(retail_sample):
    return compute_retail(retail_sample, "2011-11")


@pytest.fixture(scope="session")
def retail_html(retail_november) -> str:
    return render_html(retail_november[0], language="en")


def month_range(month: str) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.strptime(month, "%Y-%m")
    end = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return start, end


@pytest.fixture(scope="session", autouse=True)
def font_cache(tmp_path_factory):
    """The CJK font subsets the tests cut go to a temporary folder, not the user's ~/.cache."""
    with pytest.MonkeyPatch.context() as patch:
        folder = tmp_path_factory.mktemp("custlab-cache")
        patch.setenv("CUSTLAB_CACHE", str(folder))
        yield folder
