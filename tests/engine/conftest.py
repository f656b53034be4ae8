"""Fixtures of the backend-parity suite: the same data on polars, DuckDB and PySpark (one local session)."""

from __future__ import annotations

import os
import shutil

import polars as pl
import pytest

from custlab import engine
from custlab.synthetic import make_shop

from .helpers import PUBLIC


@pytest.fixture(scope="session")
def duck():
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    con.execute("SET threads TO 2")
    yield con
    con.close()


@pytest.fixture(scope="session")
def retail(online_retail_clean) -> pl.DataFrame:
    """Online Retail without cancellations, returns and lines lacking a customer (397,924 lines)."""
    return online_retail_clean.collect() if isinstance(online_retail_clean, pl.LazyFrame) else online_retail_clean


@pytest.fixture(scope="session")
def shop():
    """A synthetic shop: 2,000 customers, 8,502 lines with category and channel, events with sessions."""
    return make_shop(2_000, seed=5)


@pytest.fixture(scope="session")
def groceries(groceries_file) -> pl.DataFrame:
    return pl.read_parquet(groceries_file)


@pytest.fixture(scope="session")
def cdnow_sample() -> pl.DataFrame:
    from custlab.data.datasets import load_cdnow

    return load_cdnow("sample").select("customer_id", "order_id", "order_date", "amount")


@pytest.fixture(scope="session", params=["polars", "duckdb"])
def backend(request, duck):
    """How a table reaches the code under test: ``polars`` runs the engine layer itself on a polars LazyFrame,
    ``duckdb`` calls custlab's public function on a DuckDB relation (dispatch included)."""
    if request.param == "polars":
        return Backend("polars", lambda frame: frame.lazy(), lambda name: getattr(engine, name))
    return Backend("duckdb", lambda frame: duck.from_arrow(frame.to_arrow()), lambda name: PUBLIC[name])


class Backend:
    def __init__(self, name, convert, function):
        self.name, self.convert, self.function = name, convert, function

    def __call__(self, name, frame, *args, **kwargs):
        """Run custlab's ``name`` on ``frame`` moved to this backend."""
        return self.function(name)(self.convert(frame), *args, **kwargs)

    def __repr__(self) -> str:
        return self.name


def _need_spark():
    """PySpark and Java: a skip on a developer machine without them, a failure on CI (the test extra has pyspark)."""
    ci = os.environ.get("CI", "").lower() == "true"
    try:
        import pyspark  # noqa: F401
    except ImportError:
        if ci:
            pytest.fail("pyspark is missing: install the test extra (pip install -e '.[test]').")
        pytest.skip("pyspark is not installed")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        if ci:
            pytest.fail("Java (17) is missing: PySpark needs it.")
        pytest.skip("no Java for PySpark")


@pytest.fixture(scope="session")
def spark():
    """One local Spark session (2 cores, UTC) shared by every Spark test."""
    _need_spark()
    session = engine.spark.local_session(cores=2, memory="1g", config={"spark.sql.shuffle.partitions": "2"})
    yield session
    session.stop()


@pytest.fixture(scope="session")
def to_spark(spark, tmp_path_factory):
    """A polars frame as a Spark DataFrame, through Parquet (types kept: TIMESTAMP_NTZ, nullable integers)."""
    folder = tmp_path_factory.mktemp("spark")
    count = iter(range(10**6))

    def convert(frame: pl.DataFrame):
        path = folder / f"t{next(count)}.parquet"
        frame.write_parquet(path)
        return spark.read.parquet(str(path))

    return convert
