"""The monthly customer report: every section computed from the data, in English or Chinese.

:class:`MonthlyReport` holds the cleaned tables of one analysis month and
builds the sections of the report the source documents describe: data
sources and methods; customer portrait; value tiers and segments; behaviour
(funnel, repurchase cycles, churn warning); demand associations; channel
effectiveness; problems found; recommendations with action lists; and, when
last month's key figures are at hand, the changes since then. Each section is
a :class:`Section` that renders itself in Jupyter (heading, sentences,
tables, figures); every figure quoted in a sentence is computed here, and the
headline numbers are collected in :attr:`MonthlyReport.key_figures`, written
to ``key_figures.json`` for next month's comparison.

A section whose table is absent (no events, no marketing spend, no reviews)
says so in one line.

The month ``M`` (``"2011-11"``) is analysed at ``as_of`` = the first day of
the following month: all orders before ``as_of`` are history, orders in ``M``
are "this month".
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import polars as pl

from custlab.clean import DataQualityReport, clean_transactions
from custlab.exceptions import CustlabError

Language = Literal["en", "zh"]

#: Settings of the methods, quoted in the "data sources and methods" section.
METHODS = {
    "dormant_days": 60,
    "inactivity_days": 90,
    "clv_months": 12,
    "annual_discount_rate": 0.10,
    "rules_min_support": 0.01,
    "rules_min_confidence": 0.3,
    "warning_days": 30,
    "funnel_steps": ("exposure", "click", "cart", "pay"),
}

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Customer analysis report, {month}",
        "sources": "Data sources and methods",
        "portrait": "Customer portrait",
        "segments": "Value tiers and segments",
        "behaviour": "Behaviour: funnel, repurchase cycles and churn warning",
        "associations": "Demand associations",
        "channels": "Channel effectiveness",
        "problems": "Problems found",
        "recommendations": "Recommendations and action lists",
        "changes": "Changes since last month",
        "source_line": "Source: {source}. Analysis date {as_of} (orders before it are history; orders in {month} are this month).",
        "sampled": "Analysed a random sample of {n:,} customers (seed {seed}) out of {total:,}.",
        "cleaning": "Cleaning kept {kept:,} of {rows:,} order lines; {removed:,} were removed: {reasons}.",
        "absent_tables": "Tables not in the data: {tables}; the sections that need them say so.",
        "later_lines": "{n:,} order lines dated on or after {as_of} belong to later months and are not used.",
        "methods": (
            "Methods: value tiers from RFM scores (quintiles; dormant = no purchase for {dormant_days}+ days); "
            "customer lifetime value from BG/NBD (Pareto/NBD when BG/NBD does not converge) and Gamma-Gamma over {clv_months} months at a {rate:.0%} annual "
            "discount rate; churn = {inactivity_days} days without a purchase; association rules with support of "
            "at least {support:.0%} of baskets and confidence of at least {confidence:.0%}; ordered funnel per session."
        ),
        "month_kpis": "In {month}: revenue {revenue}, {orders:,} orders, {active:,} active customers "
                      "({new:,} of them new), average order value {aov}.",
        "no_customers_table": "No customers table: demographics are not available.",
        "demo_line": "By {attribute}: the largest group is {top} ({cust} of customers, {rev} of revenue).",
        "segment_line": "{segment}: {customers:,} customers ({share}), {rev_share} of revenue.",
        "concentration": "The top {top} of customers bring 50% of revenue.",
        "clv_line": "Expected value of the current customers over the next {months} months: {total} "
                    "(mean {mean} per customer; {model} with {params}, and Gamma-Gamma spend).",
        "clv_failed": "The CLV model could not be fitted on these data: {error}",
        "no_events": "No events table: the funnel is not available.",
        "no_funnel_steps": "The events hold fewer than two of the funnel steps ({steps}): the funnel is not available.",
        "funnel_line": "Funnel ({scope}): {steps}. The largest loss is between {worst_from} and {worst_to} "
                       "({drop} drop off).",
        "funnel_scope_month": "sessions in {month}",
        "funnel_scope_all": "all sessions up to {as_of}",
        "cycle_line": "Repurchase cycles: {cycles}.",
        "no_category": "No category column: repurchase cycles are shown for all purchases together.",
        "churn_line": "Of customers silent for {days} days, {never} never bought again; {early} of churned "
                      "customers made their last purchase within 30 days of their first. Best day to reach out "
                      "after a first purchase: day {day}.",
        "churn_short": "The data do not yet cover enough time after first purchases to measure churn after "
                       "{days} days of silence.",
        "warning_line": "{high:,} active customers have a high risk (at least 50%) of churning in the next {days} "
                        "days; the early-warning list ranks all {n:,} active customers.",
        "peak_line": "Busiest times: {peaks}.",
        "rules_line": "{n:,} rules found. Strongest: {examples}.",
        "rule_example": "{conf} of baskets with {a} also hold {b} (lift {lift:.1f})",
        "no_rules": "No rules reach support {support:.1%} and confidence {confidence:.0%} in these baskets.",
        "cross_sell_line": "Cross-sell suggestions for {n:,} customers are in the exports.",
        "no_spend": "No marketing spend table: channel ROI and CAC are not available.",
        "channels_full": "Channels are measured on all customers, not the sample, since the spend is the whole budget.",
        "channel_line": "{channel}: ROI {roi}, CAC {cac}, {new:,} new customers.",
        "realloc_line": "Moving {share} of the {src} budget to {dst} would have returned {gain} more at the "
                        "observed rates (observed ROI is an average, not the return of the next unit of spend).",
        "problem_dormant": "{share} of customers are dormant (no purchase for {days}+ days).",
        "problem_early": "Churn comes early: {share} of churned customers never came back after their first month.",
        "problem_funnel": "The funnel loses {drop} of sessions between {a} and {b}.",
        "problem_roi": "Channel {channel} returns only {roi}.",
        "problem_reviews": "{share} of reviews are negative (rating 2 or less); most named issue: {topic}.",
        "problem_revenue": "Revenue fell {change} against last month.",
        "problem_concentration": "Revenue is concentrated: the top {top} of customers bring half of it.",
        "no_problems": "No problem crossed the report's thresholds this month.",
        "rec_line": "{segment}: {action} ({n:,} customers).",
        "rec_early": "Reach new customers around day {day} after their first purchase, before the early churn.",
        "rec_channel": "Review the budget of {channel} (ROI {roi}); shift spend towards {best} (ROI {best_roi}).",
        "exports_line": "Customer lists for the CRM: {files}.",
        "no_previous": "No key figures of the previous month were found ({path}); changes appear from next month on.",
        "other_previous": "Last month's key figures come from other data ({before}, sample {before_n}) than this "
                          "month's ({now}, sample {now_n}), so they are not compared.",
        "change_line": "{figure}: {now} against {before} ({change}).",
        "migration_caption": "Segment migration into {month} (rows: last month, columns: this month)",
        "moved": "{up:,} customers moved up a tier, {down:,} slipped, {react:,} came back after {days}+ days "
                 "without a purchase, {new:,} are new.",
        "reviews_absent": "No reviews table: review sentiment is not available.",
        "table_segments": "Segments", "table_clv": "CLV by segment", "table_funnel": "Funnel",
        "table_cycles": "Days between repurchases", "table_rules": "Top rules", "table_channels": "Channels",
        "table_realloc": "Budget reallocation at observed ROI", "table_actions": "Action lists",
        "table_changes": "Key figures", "table_tables": "Tables", "table_cleaning": "Cleaning",
        "table_warning": "Early-warning list (top 10)",
    },
    "zh": {
        "title": "{month} 客户分析报告",
        "sources": "数据来源与方法",
        "portrait": "客户画像",
        "segments": "价值分层与客户分群",
        "behaviour": "行为分析：转化漏斗、复购周期与流失预警",
        "associations": "需求关联",
        "channels": "渠道效果",
        "problems": "发现的问题",
        "recommendations": "建议与行动清单",
        "changes": "环比变化",
        "source_line": "数据来源：{source}。分析日期 {as_of}（此前的订单为历史数据，{month} 的订单为本月数据）。",
        "sampled": "随机抽取 {n:,} 位客户进行分析（随机种子 {seed}），总客户数 {total:,}。",
        "cleaning": "数据清洗保留了 {rows:,} 行订单中的 {kept:,} 行，删除 {removed:,} 行：{reasons}。",
        "absent_tables": "数据中没有以下表：{tables}；相关章节会单独说明。",
        "later_lines": "{n:,} 行订单日期在 {as_of} 及之后，属于后续月份，未纳入分析。",
        "methods": (
            "方法：价值分层基于 RFM 评分（五分位；沉睡 = {dormant_days} 天以上未购买）；客户终身价值采用 BG/NBD（不收敛时改用 Pareto/NBD）与 "
            "Gamma-Gamma 模型，预测 {clv_months} 个月，年折现率 {rate:.0%}；流失 = 连续 {inactivity_days} 天未购买；"
            "关联规则要求支持度不低于 {support:.0%}、置信度不低于 {confidence:.0%}；漏斗按会话有序统计。"
        ),
        "month_kpis": "{month}：销售额 {revenue}，订单 {orders:,} 笔，活跃客户 {active:,} 位（其中新客 {new:,} 位），客单价 {aov}。",
        "no_customers_table": "没有客户表，无法给出人口属性画像。",
        "demo_line": "按{attribute}：最大群体为 {top}（占客户 {cust}，贡献销售额 {rev}）。",
        "segment_line": "{segment}：{customers:,} 位客户（{share}），贡献销售额 {rev_share}。",
        "concentration": "前 {top} 的客户贡献了 50% 的销售额。",
        "clv_line": "现有客户未来 {months} 个月的预期价值合计 {total}（人均 {mean}；{model}：{params}；消费额采用 Gamma-Gamma 模型）。",
        "clv_failed": "CLV 模型无法在这些数据上拟合：{error}",
        "no_events": "没有行为事件表，无法给出转化漏斗。",
        "no_funnel_steps": "行为事件中漏斗步骤（{steps}）不足两个，无法给出转化漏斗。",
        "funnel_line": "转化漏斗（{scope}）：{steps}。流失最多的环节是 {worst_from} 到 {worst_to}（流失 {drop}）。",
        "funnel_scope_month": "{month} 的会话",
        "funnel_scope_all": "截至 {as_of} 的全部会话",
        "cycle_line": "复购周期：{cycles}。",
        "no_category": "没有品类字段，复购周期按全部购买合并计算。",
        "churn_line": "连续 {days} 天未购买的客户中，{never} 再也没有回购；已流失客户中 {early} 在首单后 30 天内完成最后一次购买。"
                      "首单后的最佳干预时间：第 {day} 天。",
        "churn_short": "首购后的观察时间还不够长，尚无法测量连续 {days} 天未购买后的流失情况。",
        "warning_line": "{high:,} 位活跃客户在未来 {days} 天内流失的概率较高（至少 50%）；预警清单对全部 {n:,} 位活跃客户排序。",
        "peak_line": "销售高峰：{peaks}。",
        "rules_line": "共发现 {n:,} 条规则。最强的规则：{examples}。",
        "rule_example": "含 {a} 的订单中有 {conf} 同时包含 {b}（提升度 {lift:.1f}）",
        "no_rules": "在支持度 {support:.1%}、置信度 {confidence:.0%} 的门槛下没有发现规则。",
        "cross_sell_line": "已为 {n:,} 位客户生成交叉销售推荐，见导出文件。",
        "no_spend": "没有营销费用表，无法计算渠道 ROI 与获客成本。",
        "channels_full": "营销费用是全部预算，因此渠道指标按全部客户而非抽样客户计算。",
        "channel_line": "{channel}：ROI {roi}，获客成本 {cac}，新客 {new:,} 位。",
        "realloc_line": "若将 {src} 预算的 {share} 转投 {dst}，按观测到的 ROI 可多带来 {gain}（观测 ROI 是平均值，并非边际回报）。",
        "problem_dormant": "{share} 的客户处于沉睡状态（{days} 天以上未购买）。",
        "problem_early": "流失集中在早期：{share} 的已流失客户在首月之后再未回购。",
        "problem_funnel": "漏斗在 {a} 到 {b} 之间流失了 {drop} 的会话。",
        "problem_roi": "渠道 {channel} 的 ROI 仅为 {roi}。",
        "problem_reviews": "{share} 的评价为差评（评分不高于 2 分）；最常见的问题：{topic}。",
        "problem_revenue": "销售额环比下降 {change}。",
        "problem_concentration": "销售额高度集中：前 {top} 的客户贡献了一半销售额。",
        "no_problems": "本月没有指标超出报告阈值。",
        "rec_line": "{segment}：{action}（{n:,} 位客户）。",
        "rec_early": "在新客首单后第 {day} 天左右进行触达，赶在早期流失之前。",
        "rec_channel": "重新评估 {channel} 的预算（ROI {roi}）；向 {best}（ROI {best_roi}）倾斜。",
        "exports_line": "供 CRM 使用的客户清单：{files}。",
        "no_previous": "未找到上月的关键指标（{path}）；环比变化将从下个月开始显示。",
        "other_previous": "上月关键指标来自不同的数据（{before}，抽样 {before_n}），与本月（{now}，抽样 {now_n}）不可比，未做比较。",
        "change_line": "{figure}：{now}，上月 {before}（{change}）。",
        "migration_caption": "进入 {month} 的客户分群迁移（行：上月，列：本月）",
        "moved": "{up:,} 位客户升级，{down:,} 位降级，{react:,} 位在 {days} 天以上未购买后回归，{new:,} 位为新客。",
        "reviews_absent": "没有评价表，无法给出评价情感分析。",
        "table_segments": "客户分群", "table_clv": "各分群 CLV", "table_funnel": "转化漏斗",
        "table_cycles": "复购间隔天数", "table_rules": "主要关联规则", "table_channels": "渠道",
        "table_realloc": "按观测 ROI 的预算再分配", "table_actions": "行动清单",
        "table_changes": "关键指标", "table_tables": "数据表", "table_cleaning": "数据清洗",
        "table_warning": "流失预警清单（前 10 位）",
    },
}

#: Names of cleaning reasons and customer attributes in the report's sentences.
REASONS = {
    "en": {r: r.replace("_", " ") for r in ("cancelled", "returned", "missing_customer", "missing_value",
                                             "non_positive_price", "non_product", "duplicate")},
    "zh": {"cancelled": "取消订单", "returned": "退货", "missing_customer": "缺少客户编号", "missing_value": "缺少日期或金额",
           "non_positive_price": "价格非正", "non_product": "非商品行", "duplicate": "重复行"},
}
ATTRIBUTES = {
    "en": {},
    "zh": {"age_group": "年龄段", "gender": "性别", "city_tier": "城市等级", "occupation": "职业", "region": "地区"},
}

MODEL_NAMES = {"BetaGeo": "BG/NBD", "ParetoNBD": "Pareto/NBD", "ModifiedBetaGeo": "MBG/NBD"}

#: Key figures compared month over month, with their labels.
COMPARED = {
    "revenue": ("Revenue", "销售额"),
    "orders": ("Orders", "订单数"),
    "active_customers": ("Active customers", "活跃客户"),
    "new_customers": ("New customers", "新客户"),
    "aov": ("Average order value", "客单价"),
    "top_share_50": ("Share of customers bringing half of revenue", "贡献一半销售额的客户占比"),
    "clv_total": ("Expected value of current customers", "现有客户预期价值"),
    "silent_never_return_share": ("Silent customers who never return", "沉默后未回购的客户占比"),
    "early_churn_share": ("Churn within 30 days of a first purchase", "首单 30 天内流失占比"),
}
_SHARES = {"top_share_50", "silent_never_return_share", "early_churn_share"}

_COMPLAINTS = {
    "size": ("size", "fit", "small", "large", "big", "尺码", "大小"),
    "logistics": ("delivery", "shipping", "logistics", "late", "courier", "arrived", "物流", "快递", "发货"),
    "customer service": ("service", "support", "reply", "refund", "rude", "客服", "退款"),
    "quality": ("quality", "broken", "damaged", "fake", "质量", "破损"),
}
_COMPLAINTS_ZH = {"size": "尺码", "logistics": "物流", "customer service": "客服", "quality": "质量"}


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1%}"


def _money(x: float | None) -> str:
    return "n/a" if x is None else f"{x:,.0f}"


def parse_month(month: str) -> dt.date:
    """First day of a ``YYYY-MM`` month; a clear error for anything else."""
    if not isinstance(month, str) or not re.fullmatch(r"\d{4}-\d{2}", month) or not 1 <= int(month[5:]) <= 12:
        raise CustlabError(f"month must look like 2011-11 (YYYY-MM), got {month!r}.")
    return dt.date(int(month[:4]), int(month[5:]), 1)


def next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def previous_month(day: dt.date) -> dt.date:
    return dt.date(day.year - (day.month == 1), (day.month - 2) % 12 + 1, 1)


@dataclass
class Section:
    """One section of the report: a heading, sentences, captioned tables and figures."""

    key: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[tuple[str, pl.DataFrame]] = field(default_factory=list)
    figures: list[Any] = field(default_factory=list)
    language: Language = "en"

    def text(self) -> str:
        """The section as Markdown text (heading and sentences)."""
        return "\n\n".join([f"## {self.title}", *self.paragraphs])

    def _ipython_display_(self) -> None:  # pragma: no cover - exercised through the notebooks
        from IPython.display import HTML, Markdown, display

        display(Markdown(self.text()))
        for caption, table in self.tables:
            display(HTML(f"<p><b>{html.escape(caption)}</b></p>" + table_html(table, language=self.language)))
        for fig in self.figures:
            display(HTML(figure_html(fig, alt=self.title)))


#: Columns shown as percentages in report tables (by a part of their name).
_PERCENT_PARTS = ("share", "rate", "p_alive", "p_churn", "confidence", "support", "change")


def _cell(value: Any, column: str) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " + ".join(map(str, value))
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return ""
        if any(part in column for part in _PERCENT_PARTS) and abs(value) <= 10:
            return f"{value:.1%}"
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, (dt.date, dt.datetime)):
        return f"{value:%Y-%m-%d}"
    return str(value)


#: Chinese headers of the columns report tables show most.
HEADERS_ZH = {
    "customers": "客户数", "customer_share": "客户占比", "revenue": "销售额", "revenue_share": "销售额占比",
    "segment": "客户分群", "orders": "订单数", "avg_order_value": "客单价", "median_recency": "最近购买天数中位数",
    "median_frequency": "购买次数中位数", "revenue_per_customer": "人均销售额", "clv_total": "CLV 合计",
    "clv_mean": "人均 CLV", "p_alive": "存活概率", "step": "步骤", "units": "数量", "rate_from_previous": "环节转化率",
    "rate_from_start": "累计转化率", "drop_off": "流失数", "drop_off_rate": "流失率", "category": "品类",
    "median_days": "间隔天数中位数", "q1_days": "下四分位天数", "q3_days": "上四分位天数", "mean_days": "平均天数",
    "gaps": "复购次数", "rank": "排名", "customer_id": "客户编号", "last_purchase": "最近购买", "days_since_last": "未购天数",
    "churn_date": "预计流失日期", "p_churn_next": "近期流失概率", "risk_band": "风险等级", "antecedent": "前项",
    "consequent": "后项", "support": "支持度", "confidence": "置信度", "lift": "提升度", "channel": "渠道",
    "spend": "投入", "roi_label": "ROI", "cac": "获客成本", "new_customers": "新客数", "action": "行动",
    "figure": "指标", "this_month": "本月", "last_month": "上月", "change": "变化", "table": "数据表", "rows": "行数",
    "columns": "列数", "reason": "原因", "share": "占比", "amount": "金额", "age_group": "年龄段", "gender": "性别",
    "city_tier": "城市等级", "occupation": "职业", "region": "地区",
}


def table_html(table: pl.DataFrame, *, max_rows: int = 25, language: Language = "en") -> str:
    """A report table as plain HTML: readable headers (Chinese with ``language="zh"``), percentages, thousands."""
    shown = table.head(max_rows)
    names = {c: (HEADERS_ZH.get(c, c) if language == "zh" else c).replace("_", " ") for c in shown.columns}
    head = "".join(f"<th>{html.escape(names[c])}</th>" for c in shown.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(v, c))}</td>" for c, v in zip(shown.columns, row)) + "</tr>"
        for row in shown.iter_rows()
    )
    more = f"<p><i>{table.height - max_rows:,} more rows in the exports.</i></p>" if table.height > max_rows else ""
    return f'<table class="custlab"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}'


def figure_html(fig: Any, *, alt: str) -> str:
    """A matplotlib figure as an inline PNG image with alternative text; the figure is closed."""
    import base64
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    axes_titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    label = html.escape(axes_titles[0] if axes_titles else alt, quote=True)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{label}" style="max-width:100%">'


class MonthlyReport:
    """The analyses of one month, section by section.

    Parameters
    ----------
    tables
        Canonical tables by name (``transactions`` required; ``customers``,
        ``events``, ``marketing_spend``, ``reviews`` may be None).
    month
        ``"YYYY-MM"``; it must hold orders.
    language
        ``"en"`` or ``"zh"``: headings, sentences, segment names and plot labels.
    out_dir
        Folder for ``key_figures.json`` and ``exports/``.
    previous
        Key figures of the month before (a dict, or the path of its JSON file).
    sample_size
        Analyse a seeded random sample of at most this many customers (0: all).
    seed
        Seed of the sample and of the models.
    source
        How the report names the data source.
    """

    def __init__(
        self,
        tables: Mapping[str, pl.DataFrame | None],
        *,
        month: str,
        language: Language = "en",
        out_dir: str | Path = ".",
        previous: Mapping | str | Path | None = None,
        sample_size: int = 0,
        seed: int = 0,
        source: str = "",
    ) -> None:
        if language not in TEXT:
            raise CustlabError(f"language must be 'en' or 'zh', got {language!r}.")
        if tables.get("transactions") is None:
            raise CustlabError("The monthly report needs a transactions table.")
        self.language = language
        self.t = TEXT[language]
        self.month = month
        self.month_start = parse_month(month)
        self.as_of = next_month(self.month_start)
        self.seed = seed
        self.source = source or "data"
        self.out_dir = Path(out_dir)
        self.tables = {k: (v.collect() if isinstance(v, pl.LazyFrame) else v) for k, v in tables.items()}
        tx = self.tables["transactions"]
        check_month_in_data(tx, month)
        self.total_customers = int(tx["customer_id"].drop_nulls().n_unique())
        self.sampled = bool(sample_size) and self.total_customers > sample_size
        self.full_tables = self.tables
        if self.sampled:
            keep = tx["customer_id"].drop_nulls().unique().sort().sample(sample_size, seed=seed).implode()
            # lines without a customer stay, so that cleaning counts them
            self.tables = {
                k: (v.filter(pl.col("customer_id").is_in(keep) | pl.col("customer_id").is_null())
                    if v is not None and "customer_id" in v.columns else v)
                for k, v in self.tables.items()
            }
        self.sample_size = sample_size if self.sampled else 0
        self.clean, self.quality = clean_transactions(self.tables["transactions"], as_of=self.as_of)
        self.this_month = self.clean.filter(pl.col("order_date") >= dt.datetime.combine(self.month_start, dt.time()))
        if isinstance(previous, (str, Path)):
            path = Path(previous)
            previous = json.loads(path.read_text()) if path.exists() else None
        self.previous: dict | None = dict(previous) if previous else None
        self.key_figures: dict[str, Any] = {"month": month, "as_of": self.as_of.isoformat(), "language": language,
                                            "source": self.source, "sampled": self.sampled,
                                            "sample_size": self.sample_size}
        self._cache: dict[str, Any] = {}

    def _section(self, key: str, paragraphs: list[str], tables=(), figures=()) -> Section:
        return Section(key, self.t[key], list(paragraphs), list(tables), list(figures), language=self.language)

    # -- shared results -------------------------------------------------------------------------
    def _get(self, name: str, build):
        if name not in self._cache:
            self._cache[name] = build()
        return self._cache[name]

    def segments_table(self) -> pl.DataFrame:
        """Value tiers of every customer at ``as_of`` (RFM with the documents' tiers)."""
        from custlab import rfm

        def build():
            scores = rfm.rfm_scores(rfm.rfm_table(self.clean, as_of=self.as_of))
            return rfm.rfm_segments(scores, rules=rfm.value_tier_rules(dormant_days=METHODS["dormant_days"]),
                                    language=self.language)

        return self._get("segments", build)

    def clv_table(self) -> pl.DataFrame | None:
        """Discounted CLV per customer (BG/NBD + Gamma-Gamma), or None when the models cannot be fitted."""
        from custlab import clv

        def build():
            # clv's as_of is the last day included: the month's last day
            summary = clv.clv_summary(self.clean, as_of=self.as_of - dt.timedelta(days=1))
            errors = []
            for model in (clv.BetaGeo, clv.ParetoNBD):  # Pareto/NBD when BG/NBD does not converge
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", clv.CLVWarning)
                        purchases = model().fit(summary)
                        spend = clv.GammaGamma().fit(summary.filter(
                            (pl.col("frequency") == 0) | (pl.col("monetary_value") > 0)))
                except CustlabError as err:
                    errors.append(f"{model.__name__}: {err}")
                    continue
                self._cache["purchase_model"] = purchases
                return clv.predict_clv(summary, purchases, spend, months=METHODS["clv_months"],
                                       annual_discount_rate=METHODS["annual_discount_rate"])
            self._cache["clv_error"] = " ".join(errors)
            return None

        return self._get("clv", build)

    def actions(self) -> pl.DataFrame:
        from custlab import rfm

        return self._get("actions", lambda: rfm.action_lists(self.segments_table(), language=self.language))

    def early_warning(self) -> pl.DataFrame:
        from custlab import churn

        def build():
            frame = churn.repurchase_frame(self.clean, as_of=self.as_of)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", churn.ChurnDataWarning)
                model = churn.RepurchaseModel().fit(frame)
            return model.early_warning(frame, inactivity_days=METHODS["inactivity_days"],
                                       days=METHODS["warning_days"], language=self.language)

        return self._get("warning", build)

    def rules(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Association rules on the last twelve months of baskets, and the baskets."""
        from custlab import rules

        def build():
            item = "product_name" if "product_name" in self.clean.columns else "product_id"
            if item not in self.clean.columns:
                return pl.DataFrame(), pl.DataFrame()
            start = dt.datetime.combine(self.as_of.replace(year=self.as_of.year - 1), dt.time())
            recent = self.clean.filter(pl.col("order_date") >= start, pl.col(item).is_not_null())
            baskets = rules.baskets(recent, item=item)
            itemsets = rules.frequent_itemsets(baskets, min_support=METHODS["rules_min_support"], max_len=3)
            found = rules.association_rules(itemsets, min_confidence=METHODS["rules_min_confidence"])
            return found.sort("lift", descending=True), baskets

        return self._get("rules", build)

    def cross_sell(self) -> pl.DataFrame | None:
        """Top three items per customer suggested by the rules, or None without rules."""
        from custlab import rules

        def build():
            found, baskets = self.rules()
            if found.height == 0 or "customer_id" not in baskets.columns:
                return None
            return rules.cross_sell(found, baskets.select("customer_id", "item"), top_n=3)

        return self._get("cross_sell", build)

    # -- sections -------------------------------------------------------------------------------
    def title(self) -> str:
        return f"# {self.t['title'].format(month=self.month)}"

    def sources(self) -> Section:
        from custlab import quality

        t, q = self.t, self.quality
        removed = q.removed.filter(pl.col("rows") > 0, pl.col("reason") != "after_as_of")
        reasons = ", ".join(f"{REASONS[self.language].get(r['reason'], r['reason'])} {r['rows']:,}"
                            for r in removed.iter_rows(named=True))
        later = int(q.removed.filter(pl.col("reason") == "after_as_of")["rows"].sum())
        absent = [name for name, frame in self.tables.items() if frame is None]
        paragraphs = [t["source_line"].format(source=self.source, as_of=self.as_of.isoformat(), month=self.month)]
        if self.sampled:
            paragraphs.append(t["sampled"].format(n=self.sample_size, seed=self.seed, total=self.total_customers))
        paragraphs.append(t["cleaning"].format(kept=q.rows_kept, rows=q.rows_in - later,
                                               removed=q.rows_removed - later, reasons=reasons or "-"))
        if later:
            paragraphs.append(t["later_lines"].format(n=later, as_of=self.as_of.isoformat()))
        if absent:
            paragraphs.append(t["absent_tables"].format(tables=", ".join(absent)))
        paragraphs.append(t["methods"].format(dormant_days=METHODS["dormant_days"], clv_months=METHODS["clv_months"],
                                              rate=METHODS["annual_discount_rate"],
                                              inactivity_days=METHODS["inactivity_days"],
                                              support=METHODS["rules_min_support"],
                                              confidence=METHODS["rules_min_confidence"]))
        self.key_figures["lines_in"] = q.rows_in
        self.key_figures["lines_kept"] = q.rows_kept
        overview = quality.table_overview(self.tables).filter(pl.col("present")).drop("present")
        return self._section("sources", paragraphs,
                       [(t["table_tables"], overview), (t["table_cleaning"], q.removed.drop("description"))])

    def portrait(self) -> Section:
        t = self.t
        month = self.this_month
        orders = month["order_id"].n_unique()
        revenue = float(month["amount"].sum())
        first = self.clean.group_by("customer_id").agg(pl.col("order_date").min().alias("first"))
        new = first.filter(pl.col("first") >= dt.datetime.combine(self.month_start, dt.time())).height
        figures = {
            "revenue": revenue, "orders": orders, "active_customers": month["customer_id"].n_unique(),
            "new_customers": new, "aov": revenue / orders if orders else None,
            "customers_to_date": self.clean["customer_id"].n_unique(),
        }
        self.key_figures.update(figures)
        paragraphs = [t["month_kpis"].format(month=self.month, revenue=_money(revenue), orders=orders,
                                             active=figures["active_customers"], new=new, aov=_money(figures["aov"]))]
        tables = []
        customers = self.tables.get("customers")
        if customers is None:
            paragraphs.append(t["no_customers_table"])
        else:
            revenue_by_customer = self.clean.group_by("customer_id").agg(revenue=pl.col("amount").sum())
            people = customers.join(revenue_by_customer, on="customer_id", how="inner")
            if "age" in people.columns:
                people = people.with_columns(age_group=_age_groups(pl.col("age")))
            for attribute in ("age_group", "gender", "city_tier", "occupation", "region"):
                if attribute not in people.columns:
                    continue
                table = (
                    people.group_by(attribute)
                    .agg(customers=pl.len(), revenue=pl.col("revenue").sum())
                    .with_columns(customer_share=pl.col("customers") / pl.col("customers").sum(),
                                  revenue_share=pl.col("revenue") / pl.col("revenue").sum())
                    .sort("customers", descending=True)
                )
                name = ATTRIBUTES[self.language].get(attribute, attribute.replace("_", " "))
                known = table.filter(pl.col(attribute).is_not_null())
                if known.height:
                    top = known.row(0, named=True)
                    paragraphs.append(t["demo_line"].format(attribute=name, top=top[attribute],
                                                            cust=_pct(top["customer_share"]), rev=_pct(top["revenue_share"])))
                tables.append((name, table.sort(attribute, nulls_last=True)))
        return self._section("portrait", paragraphs, tables)

    def segments(self) -> Section:
        from custlab import rfm

        t = self.t
        seg = self.segments_table()
        summary = rfm.segment_summary(seg).filter(pl.col("customers") > 0)
        paragraphs = [
            t["segment_line"].format(segment=r["segment"], customers=r["customers"], share=_pct(r["customer_share"]),
                                     rev_share=_pct(r["revenue_share"]))
            for r in summary.iter_rows(named=True)
        ]
        top = rfm.top_share(seg)
        paragraphs.append(t["concentration"].format(top=_pct(top)))
        self.key_figures["top_share_50"] = top
        self.key_figures["segments"] = {
            r["segment"]: {"customers": r["customers"], "customer_share": r["customer_share"],
                           "revenue_share": r["revenue_share"]}
            for r in summary.iter_rows(named=True)
        }
        tables = [(t["table_segments"], summary)]
        figures = [rfm.plot_segment_shares(summary, language=self.language)]
        values = self.clv_table()
        if values is None:
            paragraphs.append(t["clv_failed"].format(error=self._cache.get("clv_error", "")))
            self.key_figures["clv_total"] = None
        else:
            model = self._cache["purchase_model"]
            params = ", ".join(f"{k}={v:.3f}" for k, v in model.params_.items())
            total = float(values["clv"].sum())
            paragraphs.append(t["clv_line"].format(months=METHODS["clv_months"], total=_money(total),
                                                   mean=_money(values["clv"].mean()),
                                                   model=MODEL_NAMES[type(model).__name__], params=params))
            self.key_figures["clv_total"] = total
            by_segment = (
                values.join(seg.select("customer_id", "segment"), on="customer_id")
                .group_by("segment").agg(customers=pl.len(), clv_total=pl.col("clv").sum(), clv_mean=pl.col("clv").mean(),
                                         p_alive=pl.col("p_alive").mean())
                .sort("clv_total", descending=True)
            )
            tables.append((t["table_clv"], by_segment))
        return self._section("segments", paragraphs, tables, figures)

    def behaviour(self) -> Section:
        from custlab import behaviour, churn

        t = self.t
        paragraphs, tables, figures = [], [], []
        events = self.tables.get("events")
        if events is None:
            paragraphs.append(t["no_events"])
            self.key_figures["funnel"] = None
        else:
            in_month = events.filter(pl.col("event_time") >= dt.datetime.combine(self.month_start, dt.time()),
                                     pl.col("event_time") < dt.datetime.combine(self.as_of, dt.time()))
            scope = t["funnel_scope_month"].format(month=self.month)
            steps = [s for s in METHODS["funnel_steps"] if s in set(in_month["event"].unique())]
            if len(steps) < 2:  # too few events this month: the funnel of the whole history
                in_month = events.filter(pl.col("event_time") < dt.datetime.combine(self.as_of, dt.time()))
                scope = t["funnel_scope_all"].format(as_of=self.as_of.isoformat())
                steps = [s for s in METHODS["funnel_steps"] if s in set(in_month["event"].unique())]
        if events is not None and len(steps) < 2:
            paragraphs.append(t["no_funnel_steps"].format(steps=", ".join(METHODS["funnel_steps"])))
            self.key_figures["funnel"] = None
        elif events is not None:
            table = behaviour.funnel(in_month, steps)
            later = table.filter(pl.col("step_number") > 1)
            worst = later.sort("drop_off_rate", descending=True).row(0, named=True)
            previous_step = table.filter(pl.col("step_number") == worst["step_number"] - 1)["step"].item()
            paragraphs.append(t["funnel_line"].format(
                scope=scope,
                steps=", ".join(f"{r['step']} {_pct(r['rate_from_previous'])}" for r in later.iter_rows(named=True)),
                worst_from=previous_step, worst_to=worst["step"], drop=_pct(worst["drop_off_rate"])))
            self.key_figures["funnel"] = {r["step"]: r["rate_from_previous"] for r in later.iter_rows(named=True)}
            self._cache["funnel_worst"] = (previous_step, worst["step"], worst["drop_off_rate"])
            tables.append((t["table_funnel"], table))
            figures.append(behaviour.plot_funnel(table, language=self.language))
        by = "category" if "category" in self.clean.columns else None
        if by is None:
            paragraphs.append(t["no_category"])
        cycles = churn.repurchase_cycles(self.clean, by=by, as_of=self.as_of)
        if cycles.height:
            label = by or "all"
            top = cycles.sort("gaps", descending=True).head(6)
            paragraphs.append(t["cycle_line"].format(cycles=", ".join(
                f"{r.get(label, label)} {r['median_days']:.0f} d" for r in top.iter_rows(named=True))))
            tables.append((t["table_cycles"], cycles))
        diag = churn.churn_diagnostics(self.clean, as_of=self.as_of, inactivity_days=METHODS["inactivity_days"])
        self.key_figures["silent_never_return_share"] = diag.silent_never_return_share
        self.key_figures["early_churn_share"] = diag.early_churn_share
        self.key_figures["intervention_day"] = diag.intervention_day
        if diag.silent_never_return_share is None or diag.early_churn_share is None or diag.intervention_day is None:
            paragraphs.append(t["churn_short"].format(days=METHODS["inactivity_days"]))
        else:
            paragraphs.append(t["churn_line"].format(days=METHODS["inactivity_days"],
                                                     never=_pct(diag.silent_never_return_share),
                                                     early=_pct(diag.early_churn_share), day=diag.intervention_day))
        warning = self.early_warning()
        high = warning.filter(pl.col("p_churn_next") >= 0.5).height
        self.key_figures["early_warning_high"] = high
        paragraphs.append(t["warning_line"].format(high=high, days=METHODS["warning_days"], n=warning.height))
        tables.append((t["table_warning"], warning.head(10).select(
            "rank", "customer_id", "last_purchase", "days_since_last", "churn_date", "p_churn_next", "risk_band")))
        figures.append(churn.plot_risk_distribution(warning))
        hours = behaviour.weekday_hour(self.clean, measure="orders", by=by, language=self.language)
        peaks = behaviour.peak_times(hours, language=self.language)
        if peaks.height:
            name = by or None
            paragraphs.append(t["peak_line"].format(peaks="; ".join(
                (f"{r[name]}: " if name else "") + r["summary"] for r in peaks.head(6).iter_rows(named=True))))
        return self._section("behaviour", paragraphs, tables, figures)

    def associations(self) -> Section:
        from custlab import rules as rules_module

        t = self.t
        found, baskets = self.rules()
        paragraphs, tables, figures = [], [], []
        self.key_figures["rules"] = found.height
        if found.height == 0:
            paragraphs.append(t["no_rules"].format(support=METHODS["rules_min_support"],
                                                   confidence=METHODS["rules_min_confidence"]))
            return self._section("associations", paragraphs)
        examples = [
            t["rule_example"].format(conf=_pct(r["confidence"]), a=" + ".join(r["antecedent"]),
                                     b=" + ".join(r["consequent"]), lift=r["lift"])
            for r in found.head(3).iter_rows(named=True)
        ]
        paragraphs.append(t["rules_line"].format(n=found.height, examples="; ".join(examples)))
        self.key_figures["top_rule"] = " + ".join(found["antecedent"][0]) + " => " + " + ".join(found["consequent"][0])
        suggestions = self.cross_sell()
        if suggestions is not None:
            paragraphs.append(t["cross_sell_line"].format(n=suggestions["customer_id"].n_unique()))
        tables.append((t["table_rules"], found.head(15).select("antecedent", "consequent", "support", "confidence", "lift")))
        figures.append(rules_module.plot_rules(found, language=self.language))
        return self._section("associations", paragraphs, tables, figures)

    def channels(self) -> Section:
        from custlab import behaviour

        t = self.t
        spend = self.tables.get("marketing_spend")
        if spend is None:
            self.key_figures["channels"] = None
            return self._section("channels", [t["no_spend"]])
        spend = spend.filter(pl.col("month") < self.as_of)
        paragraphs = []
        if self.sampled:  # spend is the whole budget: set it against all customers, not the sample
            transactions = clean_transactions(self.full_tables["transactions"], as_of=self.as_of)[0]
            customers, clv = self.full_tables.get("customers"), None
            paragraphs.append(t["channels_full"])
        else:
            values = self.clv_table()
            transactions, customers = self.clean, self.tables.get("customers")
            clv = values.select("customer_id", "clv") if values is not None else None
        perf = behaviour.channel_performance(spend, transactions, customers=customers, clv=clv, language=self.language)
        paid = perf.filter(pl.col("roi").is_not_null()).sort("roi", descending=True)
        paragraphs += [
            t["channel_line"].format(channel=r["channel"], roi=r["roi_label"], cac=_money(r["cac"]), new=r["new_customers"])
            for r in paid.iter_rows(named=True)
        ]
        self.key_figures["channels"] = {r["channel"]: r["roi"] for r in paid.iter_rows(named=True)}
        tables = [(t["table_channels"], perf)]
        if paid.height >= 2:
            moves = behaviour.reallocation(perf, language=self.language)
            tables.append((t["table_realloc"], moves))
            best, worst = paid.row(0, named=True), paid.row(-1, named=True)
            gain = (best["roi"] - worst["roi"]) * worst["spend"] * 0.25
            paragraphs.append(t["realloc_line"].format(share="25%", src=worst["channel"], dst=best["channel"],
                                                       gain=_money(gain)))
        return self._section("channels", paragraphs, tables, [behaviour.plot_channel_roi(perf, language=self.language)])

    def review_issues(self) -> tuple[float, str] | None:
        """Share of negative reviews (rating <= 2) and the complaint named most often in their texts."""
        reviews = self.tables.get("reviews")
        if reviews is None or reviews.height == 0:
            return None
        reviews = reviews.filter(pl.col("review_date") < dt.datetime.combine(self.as_of, dt.time()))
        if reviews.height == 0:
            return None
        negative = reviews.filter(pl.col("rating") <= 2)
        share = negative.height / reviews.height
        topic = "-"
        if "text" in negative.columns and negative.height:
            text = negative["text"].fill_null("").str.to_lowercase()
            counts = {name: int(text.str.contains("|".join(map(re.escape, words))).sum())
                      for name, words in _COMPLAINTS.items()}
            topic = max(counts, key=counts.get)
            if self.language == "zh":
                topic = _COMPLAINTS_ZH[topic]
        return share, topic

    def problems(self) -> Section:
        t, k = self.t, self.key_figures
        found = []
        dormant = next((v["customer_share"] for name, v in (k.get("segments") or {}).items()
                        if name in ("Dormant", "沉睡客户")), None)
        if dormant is not None and dormant >= 0.3:
            found.append(t["problem_dormant"].format(share=_pct(dormant), days=METHODS["dormant_days"]))
        if (k.get("early_churn_share") or 0) >= 0.5:
            found.append(t["problem_early"].format(share=_pct(k["early_churn_share"])))
        worst = self._cache.get("funnel_worst")
        if worst and worst[2] >= 0.7:
            found.append(t["problem_funnel"].format(a=worst[0], b=worst[1], drop=_pct(worst[2])))
        from custlab.behaviour import roi_label

        for channel, roi in (k.get("channels") or {}).items():
            if roi is not None and roi < 2:
                found.append(t["problem_roi"].format(channel=channel, roi=roi_label(roi, language=self.language)))
        issues = self.review_issues()
        if issues is None:
            found.append(t["reviews_absent"])
        elif issues[0] >= 0.1:
            found.append(t["problem_reviews"].format(share=_pct(issues[0]), topic=issues[1]))
        if issues is not None:
            k["negative_review_share"] = issues[0]
        before = (self.previous or {}).get("revenue")
        if before and k.get("revenue") is not None and k["revenue"] < before:
            found.append(t["problem_revenue"].format(change=_pct((before - k["revenue"]) / before)))
        if (k.get("top_share_50") or 1) <= 0.2:
            found.append(t["problem_concentration"].format(top=_pct(k["top_share_50"])))
        return self._section("problems", [f"- {line}" for line in found] or [t["no_problems"]])

    def recommendations(self) -> Section:
        from custlab.behaviour import roi_label

        t, k = self.t, self.key_figures
        actions = self.actions()
        counts = actions.group_by("segment", "action").agg(customers=pl.len()).sort("customers", descending=True)
        paragraphs = [f"- {t['rec_line'].format(segment=r['segment'], action=r['action'], n=r['customers'])}"
                      for r in counts.iter_rows(named=True)]
        if (k.get("early_churn_share") or 0) >= 0.5 and k.get("intervention_day") is not None:
            paragraphs.append(f"- {t['rec_early'].format(day=k['intervention_day'])}")
        channels = {c: r for c, r in (k.get("channels") or {}).items() if r is not None}
        if len(channels) >= 2:
            best = max(channels, key=channels.get)
            worst = min(channels, key=channels.get)
            if channels[worst] < 2:
                paragraphs.append("- " + t["rec_channel"].format(channel=worst, roi=roi_label(channels[worst], language=self.language),
                                                                 best=best, best_roi=roi_label(channels[best], language=self.language)))
        files = self._cache.get("exported")
        if files:
            paragraphs.append(t["exports_line"].format(files=", ".join(files)))
        return self._section("recommendations", paragraphs, [(t["table_actions"], counts)])

    def changes(self) -> Section:
        t, k = self.t, self.key_figures
        if not self.previous:
            path = self.out_dir.parent / previous_month(self.month_start).strftime("%Y-%m") / "key_figures.json"
            return self._section("changes", [t["no_previous"].format(path=path)])
        same = {key: self.previous.get(key) for key in ("source", "sample_size")} == {
            "source": k["source"], "sample_size": k["sample_size"]}
        if not same:
            return self._section("changes", [t["other_previous"].format(
                before=self.previous.get("source"), before_n=self.previous.get("sample_size") or 0,
                now=k["source"], now_n=k["sample_size"])])
        rows, paragraphs = [], []
        for key, labels in COMPARED.items():
            now, before = k.get(key), self.previous.get(key)
            if now is None or before is None:
                continue
            label = labels[self.language == "zh"]
            if key in _SHARES:  # shares change by percentage points
                change, fmt = now - before, _pct
                text = f"{change * 100:+.1f} pp"
            else:
                change = (now - before) / before if before else None
                fmt = lambda x: _money(x) if isinstance(x, float) else f"{x:,}"  # noqa: E731
                text = "n/a" if change is None else f"{change:+.1%}"
            rows.append({"figure": label, "this_month": float(now), "last_month": float(before), "change": change})
            paragraphs.append("- " + t["change_line"].format(figure=label, now=fmt(now), before=fmt(before), change=text))
        tables = [(t["table_changes"], pl.DataFrame(rows, schema={"figure": pl.String, "this_month": pl.Float64,
                                                                  "last_month": pl.Float64, "change": pl.Float64}))]
        from custlab import rfm

        migration = rfm.segment_migration(self.clean, freq="1mo", language=self.language,
                                          dormant_days=METHODS["dormant_days"])
        last = migration.summary.row(-1, named=True)
        paragraphs.append(t["moved"].format(up=last.get("moved_up", 0), down=last.get("slipped", 0),
                                            days=METHODS["dormant_days"],
                                            react=last.get("reactivated", 0), new=last.get("new", 0)))
        tables.append((t["migration_caption"].format(month=self.month), migration.matrix()))
        return self._section("changes", paragraphs, tables, [rfm.plot_migration(migration)])

    # -- outputs --------------------------------------------------------------------------------
    def sections(self) -> list[Section]:
        """All sections in report order (problems and recommendations read the figures of the others)."""
        order = [self.sources, self.portrait, self.segments, self.behaviour, self.associations, self.channels,
                 self.problems, self.recommendations, self.changes]
        return [build() for build in order]

    def export(self, *, format: Literal["csv", "parquet"] = "csv") -> list[str]:
        """Write the customer lists for the CRM under ``out_dir/exports``; return the file names."""
        from custlab import rfm

        folder = self.out_dir / "exports"
        folder.mkdir(parents=True, exist_ok=True)
        written = rfm.export_action_lists(self.actions(), folder / "actions", format=format)
        files = [f"actions/{Path(p).name}" for p in written["path"].to_list()] if "path" in written.columns else []
        segments = self.segments_table()
        (segments.write_csv if format == "csv" else segments.write_parquet)(folder / f"segments.{format}")
        files.append(f"segments.{format}")
        warning = self.early_warning()
        (warning.write_csv if format == "csv" else warning.write_parquet)(folder / f"early_warning.{format}")
        files.append(f"early_warning.{format}")
        suggestions = self.cross_sell()
        if suggestions is not None:
            flat = suggestions.with_columns(pl.col("antecedent").list.join(" + "), pl.col("consequent").list.join(" + "))
            (flat.write_csv if format == "csv" else flat.write_parquet)(folder / f"cross_sell.{format}")
            files.append(f"cross_sell.{format}")
        self._cache["exported"] = [f"exports/{f}" for f in files]
        return self._cache["exported"]

    def write_key_figures(self) -> Path:
        """Write :attr:`key_figures` to ``out_dir/key_figures.json``."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.out_dir / "key_figures.json"
        path.write_text(json.dumps(self.key_figures, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
        return path


def _age_groups(age: pl.Expr) -> pl.Expr:
    return (
        pl.when(age < 25).then(pl.lit("<25"))
        .when(age < 30).then(pl.lit("25-29"))
        .when(age < 35).then(pl.lit("30-34"))
        .when(age < 40).then(pl.lit("35-39"))
        .when(age < 50).then(pl.lit("40-49"))
        .when(age.is_not_null()).then(pl.lit("50+"))
    )


def check_month_in_data(transactions: pl.DataFrame | pl.LazyFrame, month: str) -> None:
    """Raise unless ``month`` holds orders in the transactions (before any report runs)."""
    start = parse_month(month)
    span = transactions.lazy().select(first=pl.col("order_date").min(), last=pl.col("order_date").max(),
                                      in_month=(pl.col("order_date").dt.strftime("%Y-%m") == month).sum()).collect().row(0, named=True)
    if not span["in_month"]:
        raise CustlabError(
            f"month {month} is outside the data: orders run from {span['first']:%Y-%m-%d} to {span['last']:%Y-%m-%d}. "
            f"Choose a month between {span['first']:%Y-%m} and {span['last']:%Y-%m}."
        )
    del start


def open_report(
    data: str | Path | None = None,
    *,
    columns: Mapping[str, str] | None = None,
    month: str = "",
    language: Language = "en",
    out_dir: str | Path = ".",
    n_customers: int = 5000,
    seed: int = 0,
    sample_size: int = 0,
    messy: float = 0.0,
) -> MonthlyReport:
    """Load the data (a file, a folder of tables, or the synthetic shop) and open the report of ``month``.

    ``month`` "" means the last month of the data. The previous month's key
    figures are read from ``out_dir/../<previous month>/key_figures.json``
    when that file exists.
    """
    from custlab.datasets import load_tables

    tables = load_tables(data or None, columns=dict(columns) if columns else None, n_customers=n_customers,
                         seed=seed, messy=messy)
    if not month:
        month = latest_month(tables["transactions"])
    out_dir = Path(out_dir)
    previous = out_dir.parent / previous_month(parse_month(month)).strftime("%Y-%m") / "key_figures.json"
    source = Path(str(data)).name if data else f"synthetic shop ({n_customers:,} customers, seed {seed})"
    return MonthlyReport(tables, month=month, language=language, out_dir=out_dir, previous=previous,
                         sample_size=sample_size, seed=seed, source=source)


def latest_month(transactions: pl.DataFrame | pl.LazyFrame) -> str:
    """The last complete month of the data, as ``YYYY-MM``.

    The data are taken to cover the month of their last order when that order
    falls in the month's last three days; when they stop earlier (Online
    Retail ends on 2011-12-09) the month before is the last complete one.
    """
    first, last = transactions.lazy().select(first=pl.col("order_date").min(), last=pl.col("order_date").max()).collect().row(0)
    month = dt.date(last.year, last.month, 1)
    days_left = (next_month(month) - last.date()).days - 1
    if days_left > 3 and month > dt.date(first.year, first.month, 1):
        month = previous_month(month)
    return f"{month:%Y-%m}"
