"""The Methods section's cleaning counts: one scope per column, worded by what it covers."""

from __future__ import annotations

import re

import polars as pl

from custlab.data import clean_transactions
from custlab.report.context import Context
from custlab.report.figures_actions import methods
from custlab.report.months import check_month
from custlab.report.text import render


def test_the_second_column_counts_the_lines_before_the_analysis_date_only(retail_sample):
    """Online Retail II 2010-03 said "Over the whole file, 105,605 of 525,461 lines were kept", counting the whole
    file's cancellations and missing customers but the duplicates and undone purchases before April only."""
    spec = check_month(retail_sample.lazy(), "2011-03")
    clean, quality = clean_transactions(retail_sample, as_of=spec.as_of)
    part = methods(Context({"transactions": clean}, month=spec, quality=quality, currency="GBP"))
    cut = retail_sample.filter(pl.col("order_date") < spec.as_of)
    _, alone = clean_transactions(cut, as_of=spec.as_of)  # the file as it stood on the analysis date
    expected = {r: n for r, n in alone.removed.select("reason", "rows").iter_rows() if n}
    table = part.tables[0].frame
    assert dict(table.select("reason", "before_rows").iter_rows()) == expected
    en = [render(p, "en", "GBP") for p in part.paragraphs]
    assert f"Of the {cut.height:,} order lines dated before the analysis date (1 Apr 2011), {alone.rows_kept:,} " \
           "were kept." in en
    later = retail_sample.height - cut.height
    assert any(t.startswith(f"{later:,} more lines of the file are dated on or after 1 Apr 2011") for t in en)
    assert not any("whole file" in t for t in en)
    zh = [render(p, "zh", "GBP") for p in part.paragraphs]
    assert f"在分析日期 2011年4月1日 之前的 {cut.height:,} 行订单中，保留了 {alone.rows_kept:,} 行。" in zh
    assert not any(re.search(r"整个文件", t) for t in zh)
    assert "whole file" not in render(part.tables[0].caption, "en")
