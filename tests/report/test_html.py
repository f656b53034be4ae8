"""The HTML page: one self-contained document, navigable, in the reader's language, and safe with hostile data."""

from __future__ import annotations

import base64
import html
import io
import re
from html.parser import HTMLParser

import polars as pl
import pytest

from custlab.data import clean_transactions
from custlab.report.figures import SECTIONS, compute_month
from custlab.report.fonts import needs_cjk_font
from custlab.report.html import render_html, section_html
from custlab.report.months import check_month
from custlab.synthetic import make_shop

from .conftest import compute_shop

#: Names of methods and formats a Chinese report writes in Latin letters, as Chinese analysts do.
TECHNICAL = {"BG/NBD", "MBG/NBD", "Pareto/NBD", "NBD", "Gamma-Gamma", "ROI", "CLV", "RFM", "CAC", "custlab", "App",
             "MASE", "WAPE", "ETS", "ARIMA", "Theta", "AUC", "CSAT", "NPS"}


class _Page(HTMLParser):
    """Tags, attributes and visible text of a page (style contents left out)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("style", "title"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("style", "title"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    return parser


def visible(page: str) -> str:
    return " ".join(parse(page).text)


def test_language_title_and_policy(shop_html):
    for language, lang_attr, title in (("en", "en", "Customer report, December 2024"), ("zh", "zh-CN", "2024年12月客户分析报告")):
        page = shop_html[language]
        assert page.startswith("<!DOCTYPE html>")
        assert f'<html lang="{lang_attr}">' in page
        assert re.search(rf"<title>{re.escape(title)} · ", page)
        policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page).group(1)
        assert "script-src 'none'" in html.unescape(policy) and "default-src 'none'" in html.unescape(policy)
        assert '<meta name="viewport"' in page and "@media print" in page and "@media (max-width" in page
        assert "<script" not in page.lower() and "http://" not in page and "https://" not in page


def test_table_of_contents_anchors_resolve_and_sections_are_in_order(shop_html, shop_figures):
    page = parse(shop_html["en"])
    ids = [a["id"] for _, a in page.tags if "id" in a]
    assert len(ids) == len(set(ids))
    links = [a["href"] for tag, a in page.tags if tag == "a"]
    assert links == [f"#sec-{key}" for key in shop_figures.sections]
    assert all(link[1:] in ids for link in links)


def test_no_image_is_embedded_twice(shop_html):
    for page in shop_html.values():
        images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
        assert len(images) >= 6
        assert len(images) == len(set(images))


def test_charts_draw_without_pyplot(shop_figures):
    import matplotlib.pyplot as plt

    from custlab.report.html import chart_png

    plt.close("all")
    charts = [c for key in ("trend", "clv", "retention") for c in shop_figures.parts[key].charts]
    for chart in charts:
        png = base64.b64decode(chart_png(chart, language="zh", width=6.0))
        assert png.startswith(b"\x89PNG")
    assert plt.get_fignums() == []  # nothing left for an inline backend to show a second time


@pytest.mark.parametrize("language", ["en", "zh"])
def test_no_missing_value_reaches_the_reader(shop_html, retail_html, language):
    for page in (shop_html[language], retail_html if language == "en" else ""):
        text = visible(page)
        for word in ("nan", "NaN", "inf", "None", "null"):
            assert not re.search(rf"\b{word}\b", text), word
        assert not re.search(r"-0(\.0+)?(%| pp)", text)


def test_kpi_tiles_show_changes_with_arrows(shop_html):
    page = shop_html["en"]
    tiles = [(m.group(1), m.group(2)) for m in
             re.finditer(r'<div class="tile" id="kpi-([a-z_]+)">(.*?)(?=<div class="tile"|</div></section>)', page)]
    assert [k for k, _ in tiles][:7] == ["revenue", "orders", "active_customers", "new_customers", "aov", "repeat_rate",
                                         "churned_customers"]
    revenue = dict(tiles)["revenue"]
    assert re.search(r'class="cmp (good|bad|flat)"><span aria-hidden="true">[▲▼▶]</span> [+-]?\d+\.\d% vs Nov 2024', revenue)
    assert "vs Dec 2023" in revenue
    assert re.search(r"[+-]\d+\.\d pp vs Nov 2024", dict(tiles)["repeat_rate"])  # a share changes by points


def words_of_the_data(tables: dict) -> set[str]:
    """Every Latin word in the text columns of the tables: product names, channels, review quotes."""
    words = set()
    for name, frame in tables.items():
        if name.startswith("_") or frame is None:
            continue
        for column, dtype in frame.schema.items():
            if dtype == pl.String:
                for value in frame[column].drop_nulls().unique().to_list():
                    words.update(re.findall(r"[A-Za-z][A-Za-z_'/.-]*[A-Za-z]", value))
    return words


def test_the_chinese_report_has_no_english_beyond_the_data(shop_html, shop_tables):
    data_words = words_of_the_data(shop_tables)
    text = visible(shop_html["zh"])
    # command-line options, file names, parameter names, the data's fingerprint and custlab's version are code
    text = re.sub(r"(?<!\S)--[a-z-]+|\b[\w/]+\.csv\b|\bmonth = |synthetic:\d+:\d+:\d+|0\.test", " ", text)
    words = set(re.findall(r"[A-Za-z][A-Za-z_'/.-]*[A-Za-z]", text))
    assert sorted(words - data_words - TECHNICAL) == []
    assert "高价值客户" in text and "沉睡客户" in text and "曝光" in text  # library values, translated


def test_the_embedded_font_covers_every_chinese_character(shop_html):
    from fontTools.ttLib import TTFont

    page = shop_html["zh"]
    match = re.search(r"src:url\(data:font/woff2;base64,([A-Za-z0-9+/=]+)\)", page)
    assert match, "no embedded font"
    font = TTFont(io.BytesIO(base64.b64decode(match.group(1))))
    cmap = font.getBestCmap()
    text = visible(page) + re.search(r"<title>(.*?)</title>", page).group(1)
    needed = {c for c in text if needs_cjk_font(c)}
    assert needed and not {c for c in needed if ord(c) not in cmap}
    assert len(cmap) < 1500  # a subset, not the 65,000 glyphs of the font
    english = shop_html["en"]  # an English page embeds the font only when its data hold CJK (the shop's Chinese reviews)
    assert ("@font-face" in english) == any(needs_cjk_font(c) for c in visible(english))


def test_every_section_displays_on_its_own(shop_figures, retail_november):
    for key in ("overview", *shop_figures.sections):
        piece = section_html(shop_figures, key, language="zh")
        assert piece.startswith('<div class="custlab-report"><style>')
    figures, _ = retail_november
    assert "The data have no events table" in section_html(figures, "funnel")  # absent: said, not an error
    with pytest.raises(KeyError, match="'reviews_typo' is not a report section"):
        section_html(figures, "reviews_typo")
    assert [k for k, _ in SECTIONS][-1] == "methods"


# -- hostile data --------------------------------------------------------------------------------------------------
XSS = ["<script>alert(1)</script>", '<img src=x onerror="alert(2)">', "[c](javascript:alert(3))",
       '"><svg onload=alert(4)>', "&lt;b&gt;entity&lt;/b&gt;", "javascript:alert(5)"]


def _poison(values: pl.Series) -> pl.Series:
    """Each distinct value prefixed with one of the payloads (distinct values stay distinct)."""
    distinct = sorted(values.drop_nulls().unique().to_list())
    mapping = {v: f"{XSS[i % len(XSS)]} {v}" for i, v in enumerate(distinct)}
    return values.replace_strict(mapping, default=None, return_dtype=pl.String)


def test_hostile_text_in_every_column_is_shown_never_run():
    tables = make_shop(800, seed=11).tables()
    tx = tables["transactions"].with_columns(
        *(_poison(tables["transactions"][c]).alias(c) for c in ("product_id", "product_name", "category", "channel")),
        country=pl.lit(XSS[1] + " Atlantis"))
    customers = tables["customers"].with_columns(
        *(_poison(tables["customers"][c]).alias(c) for c in ("gender", "region", "occupation", "acquisition_channel")))
    spend = tables["marketing_spend"].with_columns(_poison(tables["marketing_spend"]["channel"]).alias("channel"))
    events = tables["events"].with_columns(_poison(tables["events"]["channel"]).alias("channel"))
    reviews = tables["reviews"].with_columns(text=pl.lit(XSS[0]))
    clean, quality = clean_transactions(tx)
    spec = check_month(clean, None)
    figures = compute_month({"transactions": clean, "customers": customers, "events": events, "marketing_spend": spend,
                             "reviews": reviews}, month=spec, quality=quality,
                            source={"name": '<img src=x onerror="alert(6)">.csv'})
    for language in ("en", "zh"):
        page = render_html(figures, language=language, run_info={"parameters": {"data": XSS[0]}})
        parsed = parse(page)
        tags = {tag for tag, _ in parsed.tags}
        assert tags <= {"html", "head", "meta", "title", "style", "body", "div", "header", "h1", "h2", "h3", "p", "section",
                        "ol", "li", "nav", "a", "main", "figure", "img", "table", "caption", "thead", "tbody", "tr", "th",
                        "td", "span", "details", "summary", "footer", "dl", "dt", "dd"}, tags
        for tag, attrs in parsed.tags:
            assert not any(name.startswith("on") for name in attrs), (tag, attrs)
            if tag == "img":
                assert attrs["src"].startswith("data:image/png;base64,")
            if tag == "a":
                assert attrs["href"].startswith("#sec-")
        text = visible(page)
        assert "<script>alert(1)</script>" in text  # shown as text
        assert '<img src=x onerror="alert(6)">.csv' in text  # the file name too
        assert "&lt;b&gt;entity" in text  # an entity in the data stays as typed
        assert "alert(1)</script>" not in page.replace("&lt;script&gt;alert(1)&lt;/script&gt;", "")


def test_a_font_subset_is_cut_once_and_read_back(tmp_path, monkeypatch):
    from custlab.report import fonts

    if fonts.cjk_font_path() is None:
        pytest.skip("no CJK font installed")
    chars = frozenset("客户报告二〇一一年")
    monkeypatch.setenv("CUSTLAB_CACHE", str(tmp_path))
    fonts.subset_woff2.cache_clear()
    first = fonts.subset_woff2(chars)
    kept = list((tmp_path / "fonts").glob("*.woff2"))
    assert len(kept) == 1 and kept[0].read_bytes() == first
    cut = []
    monkeypatch.setattr(fonts, "_subset", lambda *args: cut.append(args) or b"")
    fonts.subset_woff2.cache_clear()
    assert fonts.subset_woff2(chars) == first and cut == []  # read back, not cut again
    monkeypatch.setenv("CUSTLAB_CACHE", "off")
    fonts.subset_woff2.cache_clear()
    assert fonts.subset_woff2(chars) == b"" and len(cut) == 1  # the cache off: cut every time
    fonts.subset_woff2.cache_clear()


@pytest.mark.parametrize("language", ["en", "zh"])
def test_rows_left_out_of_a_table_are_said_to_be_in_an_export_only_when_they_are(language):
    from custlab.report.html import table_html
    from custlab.report.parts import Table
    from custlab.report.text import Text

    frame = pl.DataFrame({"group": [f"g{i}" for i in range(15)], "customers": list(range(15))})
    formats = {"group": "data", "customers": "count"}
    hidden = table_html(Table(Text("report.portrait.geo_table", {}), frame, formats, top_n=10), language=language)
    exported = table_html(Table(Text("report.baskets.table", {}), frame, formats, top_n=10, export="rules.csv"),
                          language=language)
    assert hidden.count("<tr>") == exported.count("<tr>") == 11  # the header and ten rows
    assert "exports" not in hidden and "导出" not in hidden and "5" in hidden.split('class="more">')[1]
    assert "exports/rules.csv" in exported
    whole = table_html(Table(Text("report.portrait.geo_table", {}), frame.head(10), formats, top_n=10), language=language)
    assert 'class="more"' not in whole


def test_an_attribute_table_shows_every_value():
    # An attribute has at most 25 values (Ta-Feng's age groups: 11): all are shown, none is "not shown".
    from custlab.report.figures_sales import MOST_GROUPS, attribute_parts, with_shares
    from custlab.report.html import table_html

    table = with_shares(pl.DataFrame({"group": [f"g{i:02d}" for i in range(MOST_GROUPS)],
                                      "customers": list(range(1, MOST_GROUPS + 1)),
                                      "revenue": [float(i) for i in range(1, MOST_GROUPS + 1)]}))
    texts, tables = attribute_parts({"age_band": table})
    page = table_html(tables[0])
    assert len(texts) == 1 and page.count("<tr>") == MOST_GROUPS + 1 and 'class="more"' not in page


def test_the_clv_tile_says_it_is_compared_with_last_months_report(shop_figures, shop_tables):
    # The CLV tile said "no earlier month to compare" on a page with 23 earlier months of data: it is compared with
    # last month's key_figures.json, which was not there.
    alone = render_html(compute_shop(shop_tables, "2024-12"), language="en")
    tile = re.search(r'<div class="tile" id="kpi-clv_total">.*?</div></div>', alone, re.S).group(0)
    assert "no report of last month beside this one to compare" in tile and "no earlier month" not in tile
    second = render_html(shop_figures, language="en")  # November's key figures given
    tile = re.search(r'<div class="tile" id="kpi-clv_total">.*?</div></div>', second, re.S).group(0)
    assert "vs Nov 2024" in tile


def test_a_small_share_in_a_table_keeps_two_significant_digits():
    """Olist's win-back P(alive) of 0.064% read "0.1%", so the row's customers x P(alive) x value x rate was 45.48
    against its impact of 29.14."""
    from custlab.report.html import cell_text

    assert [cell_text(v, "pct") for v in (0.00064, 0.005, 0.0099, 0.01, 0.4567, 0.0)] == \
        ["0.064%", "0.50%", "0.99%", "1.0%", "45.7%", "0.0%"]


@pytest.mark.parametrize(("language", "said"), [("en", "not given"), ("zh", "未填写")])
def test_customers_without_an_attribute_value_are_named_in_its_table(language, said):
    # Ta-Feng's age table ended with an unlabelled "–" row of 554 customers
    from custlab.report.figures_sales import attribute_parts, with_shares
    from custlab.report.html import table_html

    table = with_shares(pl.DataFrame({"group": ["35-39", None], "customers": [5838, 554], "revenue": [22.6, 2.7]}))
    _, tables = attribute_parts({"age_band": table})
    page = table_html(tables[0], language=language)
    assert f"<td>{said}</td>" in page and "<td>–</td>" not in page


def test_places_the_catalogues_name_read_in_the_pages_language():
    # the shop's Chinese page read "销售额最多来自east" beside a table of east, south, north
    from custlab.report.figures_sales import geography_part, with_shares
    from custlab.report.html import table_html
    from custlab.report.text import render

    table = with_shares(pl.DataFrame({"group": ["east", "United Kingdom"], "customers": [10, 5],
                                      "revenue": [100.0, 50.0]}))
    text, shown, _ = geography_part("region", table)
    assert "华东" in render(text, "zh") and "east" not in render(text, "zh")
    page = table_html(shown, language="zh")
    assert "<td>华东</td>" in page and "<td>United Kingdom</td>" in page  # a place it does not name stays as written
