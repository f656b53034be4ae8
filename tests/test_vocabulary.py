"""One vocabulary (issue 12): every public signature speaks it, so it stays true as the library grows.

Same idea, same name: ``seed`` for randomness, ``freq`` for periods, ``by`` only for grouping columns,
``top_n`` for "how many of the best", ``within`` for windows (read by ``custlab._dates.parse_within``),
``as_of`` for the first instant that is not history (read by ``custlab._dates``). A new argument name
that means one of these fails here; a new ``max_*`` name fails until it is added below with its reason.
"""

from __future__ import annotations

import inspect
import re
import typing
from pathlib import Path

from tests.public_api import public_callables

ROOT = Path(__file__).resolve().parents[1]

#: Argument names that mean something the vocabulary already names, and the name to use.
FORBIDDEN: dict[str, str] = {
    **dict.fromkeys(("random_state", "random_seed", "rng_seed", "seed_value"), "seed"),
    **dict.fromkeys(("every", "period", "interval", "resample", "granularity"), "freq"),
    **dict.fromkeys(("n", "top", "topn", "top_k", "n_top", "head", "max_n", "max_rows", "n_rows",
                     "nrows", "max_items", "max_results", "max_rules", "n_largest", "nlargest"), "top_n"),
    **dict.fromkeys(("window", "window_days", "within_days", "lookback", "lookback_days", "days_window"), "within"),
    **dict.fromkeys(("asof", "as_at", "reference_date", "ref_date", "today", "cutoff", "cutoff_date",
                     "snapshot_date", "analysis_date", "end_date", "observation_date", "until"), "as_of"),
    **dict.fromkeys(("group", "group_by", "groupby", "group_col", "group_column", "split_by", "segment_by",
                     "by_column"), "by"),
}

#: ``max_*`` names that bound a value or guard an input; none of them picks "the best N" (that is top_n).
MAX_ALLOWED: dict[str, str] = {
    "max_len": "the largest itemset size (mlxtend's name)",
    "max_iterations": "an optimiser setting",
    "max_amount": "the largest plausible line amount (a value threshold)",
    "max_frequency": "the largest repeat-purchase count on a matrix axis (lifetimes' name)",
    "max_recency": "the largest recency on a matrix axis (lifetimes' name)",
    "max_days": "the right end of a day axis",
    "max_steps": "the path length where paths are cut (like max_len)",
    "max_periods": "the last period since acquisition kept (a horizon)",
    "max_groups": "a guard: more groups raise an error, nothing is dropped",
    "max_levels": "the most levels a categorical covariate keeps before the rest are pooled (a model setting)",
    "max_features": "the vocabulary size of a text model (scikit-learn's TfidfVectorizer name): a model setting",
    "max_train": "a bound on the training sample, drawn at random (not the best N): a cost guard",
    "max_overdue": "the latest a reminder may come, as a share of the cycle past its due date (a value threshold)",
}

#: Arguments that keep a forbidden name for a reason stated here: (callable, argument) -> reason.
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("custlab.clv.models.base._PurchaseModel.probability_of_purchases", "n"):
        "n is the number of purchases in the formula P(X(t) = n), as in the papers and lifetimes",
    ("custlab.data.report.DataQualityReport.from_counts", "period"):
        "period is the (start, end) span a report covers (its field of that name), not a frequency",
    **{(f"custlab.campaigns.{name}", "group"):
       "group names the treatment-arm column compared with `control` (issue 18's lift(frame, *, group, control, "
       "outcomes) and the campaigns table's `group` column), not columns to aggregate by"
       for name in ("lift.lift", "cuped.cuped", "uplift.uplift_model")},
    ("custlab.synthetic.timeline.check_arguments", "seed"):
        "it checks make_shop's raw arguments, so it takes any object and says what is wrong with it",
}

CALLABLES = public_callables()


def _parameters():
    for qualname, function in CALLABLES:
        for parameter in inspect.signature(function).parameters.values():
            if parameter.name in ("self", "cls") or parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                continue
            yield qualname, function, parameter


def test_the_walk_sees_the_library():
    names = {q for q, _ in CALLABLES}
    for expected in ("custlab.segments.rfm.rfm_table", "custlab.clv.summary.clv_summary", "custlab.cohorts.cohort_retention",
                     "custlab.churn.frames.survival_frame", "custlab.rules.sequential.sequential_rules"):
        assert expected in names
    assert len(CALLABLES) > 150


def test_no_argument_uses_a_name_the_vocabulary_replaces():
    offenders = [
        f"{q}({p.name}=...): use {FORBIDDEN[p.name]}"
        for q, _, p in _parameters()
        if p.name in FORBIDDEN and (q, p.name) not in EXCEPTIONS
    ]
    assert not offenders, "\n".join(offenders)


def test_every_max_argument_bounds_a_value_and_is_listed():
    offenders = [
        f"{q}({p.name}=...): a limit on how many results is top_n; a new bound needs a reason in MAX_ALLOWED"
        for q, _, p in _parameters()
        if p.name.startswith("max_") and p.name not in MAX_ALLOWED
    ]
    assert not offenders, "\n".join(offenders)


def _annotation_text(function, parameter) -> str:
    annotation = parameter.annotation
    if annotation is inspect.Parameter.empty:
        return ""
    try:
        annotation = typing.get_type_hints(function).get(parameter.name, annotation)
    except Exception:
        pass
    return annotation if isinstance(annotation, str) else repr(annotation)


def test_by_is_a_column_name_or_names():
    offenders = [
        f"{q}(by: {_annotation_text(f, p) or 'no annotation'})"
        for q, f, p in _parameters()
        if p.name == "by" and ("str" not in _annotation_text(f, p) or not (p.default is None or isinstance(p.default, str)
                                                                           or p.default is inspect.Parameter.empty))
    ]
    assert not offenders, "\n".join(offenders)


def test_seed_and_top_n_are_integers():
    offenders = [
        f"{q}({p.name}: {_annotation_text(f, p) or 'no annotation'})"
        for q, f, p in _parameters()
        if p.name in ("seed", "top_n") and "int" not in _annotation_text(f, p) and (q, p.name) not in EXCEPTIONS
    ]
    assert not offenders, "\n".join(offenders)


def _module_source(function) -> str:
    """The source of the function's module and of the custlab modules it takes names from (one level)."""
    module = inspect.getmodule(function)
    texts = [inspect.getsource(module)]
    for value in vars(module).values():
        home = inspect.getmodule(value)
        if home is not None and home is not module and home.__name__.startswith("custlab"):
            texts.append(inspect.getsource(home))
    return "\n".join(texts)


def test_within_and_as_of_are_read_by_the_one_parser():
    """A module taking ``within`` reads it with parse_within; one taking ``as_of`` reads it with custlab._dates."""
    offenders = []
    for q, f, p in _parameters():
        if p.name == "within" and "parse_within" not in _module_source(f):
            offenders.append(f"{q}(within=...) without custlab._dates.parse_within in its module")
        if p.name == "as_of":
            text = _annotation_text(f, p)
            if not any(word in text for word in ("DateLike", "date", "datetime", "str")):
                offenders.append(f"{q}(as_of: {text or 'no annotation'}) is not annotated as a date")
            if not re.search(r"custlab\._dates|\bas_of=|as_of\)", _module_source(f)):
                offenders.append(f"{q}(as_of=...) neither parses it with custlab._dates nor passes it on")
    assert not offenders, "\n".join(offenders)


def test_freq_is_a_period_string():
    offenders = [
        f"{q}(freq: {_annotation_text(f, p) or 'no annotation'})"
        for q, f, p in _parameters()
        if p.name == "freq" and not re.search(r"str|Literal|Freq", _annotation_text(f, p))
    ]
    assert not offenders, "\n".join(offenders)


#: Where dates may be parsed from text: the one argument parser, and the readers that parse data columns.
PARSERS = {"custlab/_dates.py", "custlab/data/schema.py", "custlab/data/datasets.py"}
_PARSING = re.compile(r"fromisoformat|strptime|dateutil|str\.to_date|str\.to_datetime|pd\.to_datetime")


def test_one_date_parser():
    offenders = []
    for path in sorted((ROOT / "custlab").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel in PARSERS:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if _PARSING.search(line.split("#", 1)[0]) and ">>>" not in line:
                offenders.append(f"{rel}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)



#: Names of callables that write text for a reader (besides every ``plot_*``).
_WRITES_TEXT = ("describe", "why", "explain", "text", "sentence", "sentences", "narrative")


def test_every_function_that_draws_or_writes_text_takes_language():
    offenders = [
        q for q, f in CALLABLES
        if (q.rsplit(".", 1)[-1] in _WRITES_TEXT or q.rsplit(".", 1)[-1].startswith(("plot_", "describe_")))
        and "language" not in inspect.signature(f).parameters
    ]
    assert not offenders, "\n".join(offenders)
