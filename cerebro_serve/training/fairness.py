"""Group fairness of scores and labels, as NYC Local Law 144 and the EEOC read it, as data ready to plot.

Rates per group: the scoring rate (share of the group scoring above the whole sample's median), the
selection rate when decisions are given, the positive-label rate for the data a training learns from.
Each group's impact ratio is its rate over the highest rate among the groups that count; a ratio under
four fifths is flagged, beside Fisher's exact test against that best group (a small group's low ratio
may be chance). Groups that count are known and hold at least 2% of the sample: LL144 lets smaller
categories be left out of the ratio with a reason, and asks for unknowns to be reported, so both stay in
the tables, marked, with the reason they do not count. The gaps a classifier's fairness is judged by
(demographic parity and equalized odds differences) come from fairlearn. Ranked lists are judged by
exposure: the share of the top-k slots, and of its position-discounted attention, each group gets
against its share of the list's pool.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import msgspec
import numpy as np
from fairlearn import metrics as fairlearn_metrics
from scipy import stats

ATTRIBUTES = ("gender", "ethnicity", "age_band", "location")
INTERSECTION = "gender×ethnicity"  # LL144 asks for sex and race/ethnicity crossed
FOUR_FIFTHS = 0.8
SIGNIFICANCE = 0.05
SMALL_SHARE = 0.02
UNKNOWN = "unknown"
SMALL_REASON = "under 2% of the sample"
UNKNOWN_REASON = "attribute unknown"
EXPOSURE_DEPTH = 10


class GroupRate(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One group's row: `impact_ratio` is against `reference` of its table; `excluded` says why the group
    does not count towards the table's lowest ratio (None: it counts)."""

    group: str
    n: int
    share: float
    rate: float
    impact_ratio: float | None = None
    four_fifths_flag: bool = False
    p_value: float | None = None  # Fisher's exact test against the reference group, two-sided
    small: bool = False
    unknown: bool = False
    excluded: str | None = None
    true_positive_rate: float | None = None
    false_positive_rate: float | None = None


class RateTable(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One attribute, one rate: `rate` names it (scoring_rate, selection_rate or positive_label_rate)."""

    attribute: str
    rate: str
    reference: str | None  # the group with the highest rate among those that count
    groups: list[GroupRate]
    min_impact_ratio: float | None = None
    flagged: list[str] = msgspec.field(default_factory=list)
    demographic_parity_difference: float | None = None
    equalized_odds_difference: float | None = None


class FairnessReport(msgspec.Struct, kw_only=True, omit_defaults=True):
    """`min_impact_ratio`: attribute → the lowest impact ratio of the primary rate (scoring rate for
    scores, positive-label rate for labels) among the groups that count; an attribute with fewer than two
    such groups, or where none of them has a positive rate, is absent."""

    count: int
    median_score: float | None = None
    min_impact_ratio: dict[str, float]
    tables: list[RateTable]


class ExposureShare(msgspec.Struct, kw_only=True):
    """`ratio`: the discounted share of attention over the share of the pool (1 is proportional)."""

    group: str
    pool_share: float
    top_k_share: float
    discounted_share: float
    ratio: float | None


class ListExposure(msgspec.Struct, kw_only=True):
    key: str
    pool: int
    groups: list[ExposureShare]


class ExposureReport(msgspec.Struct, kw_only=True):
    """Per attribute: each list's shares, and their means over the lists (`groups`)."""

    attribute: str
    k: int
    groups: list[ExposureShare]
    lists: list[ListExposure]


def model_fairness(
    scores: np.ndarray,
    attributes: Mapping[str, Sequence[str | None]],
    labels: np.ndarray | None = None,
    selected: np.ndarray | None = None,
) -> FairnessReport:
    """Scoring rates above the sample's median per group of each attribute (and gender × ethnicity), with
    demographic parity of that above-median decision; with `labels` (1 a good match), equalized odds and
    each group's true and false positive rates; with `selected` (the decisions taken), selection rates."""
    scores = np.asarray(scores, dtype=float)
    columns = _columns(attributes, len(scores))
    labels = None if labels is None else _binary(labels, len(scores))
    median = float(np.median(scores)) if len(scores) else None
    above = scores > median if median is not None else np.zeros(0, dtype=bool)
    tables = [_table(name, "scoring_rate", above, values, labels) for name, values in columns.items()]
    if selected is not None:
        decisions = _binary(selected, len(scores)).astype(bool)
        tables += [_table(name, "selection_rate", decisions, values, labels) for name, values in columns.items()]
    return FairnessReport(
        count=len(scores), median_score=median, min_impact_ratio=_lowest(tables[: len(columns)]), tables=tables
    )


def data_fairness(labels: np.ndarray, attributes: Mapping[str, Sequence[str | None]]) -> FairnessReport:
    """The positive-label rate per group of the pairs a training learns from (disparate impact in the
    data, before any model), with its impact ratios and demographic parity difference."""
    positive = _binary(labels, len(labels)).astype(bool)
    columns = _columns(attributes, len(positive))
    tables = [_table(name, "positive_label_rate", positive, values, None) for name, values in columns.items()]
    return FairnessReport(count=len(positive), min_impact_ratio=_lowest(tables), tables=tables)


def ranked_exposure(
    rankings: Mapping[str, Sequence[int]], attributes: Mapping[str, Sequence[str | None]], k: int = EXPOSURE_DEPTH
) -> list[ExposureReport]:
    """For each ranked list (key → item indices, best first, the whole pool it ranked): the share of its
    top-k slots and of the attention 1/log2(1 + rank) over those slots each group gets, against the
    group's share of the list's pool; unknowns are a group of their own."""
    columns = _columns(attributes, len(next(iter(attributes.values()), ())))
    reports = []
    for name, values in columns.items():
        lists = [_list_exposure(key, np.asarray(order, dtype=int), values, k) for key, order in rankings.items()]
        reports.append(ExposureReport(attribute=name, k=k, groups=_mean_exposure(lists), lists=lists))
    return reports


def _columns(attributes: Mapping[str, Sequence[str | None]], count: int) -> dict[str, np.ndarray]:
    """Each attribute as an array of group names (unknowns named so), and gender × ethnicity when both
    are given: known only when both parts are."""
    columns: dict[str, np.ndarray] = {}
    for name, values in attributes.items():
        if len(values) != count:
            raise ValueError(f"{name} has {len(values)} values for {count} items")
        columns[name] = np.array([value if value else UNKNOWN for value in values], dtype=object)
    if "gender" in attributes and "ethnicity" in attributes:
        columns[INTERSECTION] = np.array(
            [f"{g}×{e}" if g and e else UNKNOWN for g, e in zip(attributes["gender"], attributes["ethnicity"])],
            dtype=object,
        )
    return columns


def _binary(values: np.ndarray, count: int) -> np.ndarray:
    array = np.asarray(values).astype(int)
    if array.shape != (count,) or not np.isin(array, (0, 1)).all():
        raise ValueError(f"expected {count} values of 0 or 1")
    return array


def _table(attribute: str, rate: str, positive: np.ndarray, groups: np.ndarray, labels: np.ndarray | None) -> RateTable:
    count = len(positive)
    names = sorted(set(groups.tolist()), key=lambda g: (g == UNKNOWN, g))
    sizes = {g: int((groups == g).sum()) for g in names}
    hits = {g: int(positive[groups == g].sum()) for g in names}
    excluded = {g: _exclusion(g, sizes[g], count) for g in names}
    counted = [g for g in names if excluded[g] is None]
    reference = max(counted, key=lambda g: hits[g] / sizes[g], default=None)
    best = hits[reference] / sizes[reference] if reference is not None else 0.0
    by_group = _error_rates(positive, groups, labels) if labels is not None else {}
    rows = []
    for g in names:
        own = hits[g] / sizes[g]
        ratio = own / best if best > 0 else None
        p_value = None
        if reference is not None and g != reference:
            contingency = [[hits[g], sizes[g] - hits[g]], [hits[reference], sizes[reference] - hits[reference]]]
            p_value = float(stats.fisher_exact(contingency).pvalue)
        rows.append(
            GroupRate(
                group=g,
                n=sizes[g],
                share=sizes[g] / count,
                rate=own,
                impact_ratio=ratio,
                four_fifths_flag=ratio is not None and ratio < FOUR_FIFTHS,
                p_value=p_value,
                small=sizes[g] / count < SMALL_SHARE,
                unknown=g == UNKNOWN,
                excluded=excluded[g],
                **by_group.get(g, {}),
            )
        )
    table = RateTable(attribute=attribute, rate=rate, reference=reference, groups=rows)
    if len(counted) < 2:
        return table
    ratios = [row.impact_ratio for row in rows if row.excluded is None and row.impact_ratio is not None]
    table.min_impact_ratio = min(ratios, default=None)
    table.flagged = [row.group for row in rows if row.excluded is None and row.four_fifths_flag]
    keep = np.isin(groups, counted)
    table.demographic_parity_difference = _gap(
        fairlearn_metrics.demographic_parity_difference, positive, groups, keep, labels
    )
    if labels is not None:
        table.equalized_odds_difference = _gap(
            fairlearn_metrics.equalized_odds_difference, positive, groups, keep, labels
        )
    return table


def _exclusion(group: str, size: int, count: int) -> str | None:
    if group == UNKNOWN:
        return UNKNOWN_REASON
    return SMALL_REASON if size / count < SMALL_SHARE else None


def _gap(
    metric: Callable[..., float], positive: np.ndarray, groups: np.ndarray, keep: np.ndarray, labels: np.ndarray | None
) -> float | None:
    """A fairlearn difference over the groups that count (unknown and small groups would add noise)."""
    truth = labels[keep] if labels is not None else positive[keep]
    value = float(metric(truth, positive[keep].astype(int), sensitive_features=groups[keep].astype(str)))
    return None if np.isnan(value) else value


def _error_rates(positive: np.ndarray, groups: np.ndarray, labels: np.ndarray) -> dict[str, dict[str, float | None]]:
    """True and false positive rates of the decision per group (fairlearn's MetricFrame); None where a
    group has no pair of that label."""
    frame = fairlearn_metrics.MetricFrame(
        metrics={
            "true_positive_rate": fairlearn_metrics.true_positive_rate,
            "false_positive_rate": fairlearn_metrics.false_positive_rate,
        },
        y_true=labels,
        y_pred=positive.astype(int),
        sensitive_features=groups.astype(str),
    )
    rates: dict[str, dict[str, float | None]] = {}
    for group, row in frame.by_group.iterrows():
        has = {1: bool((labels[groups == group] == 1).any()), 0: bool((labels[groups == group] == 0).any())}
        rates[str(group)] = {
            "true_positive_rate": float(row["true_positive_rate"]) if has[1] else None,
            "false_positive_rate": float(row["false_positive_rate"]) if has[0] else None,
        }
    return rates


def _lowest(tables: list[RateTable]) -> dict[str, float]:
    return {table.attribute: table.min_impact_ratio for table in tables if table.min_impact_ratio is not None}


def _list_exposure(key: str, order: np.ndarray, groups: np.ndarray, k: int) -> ListExposure:
    pool = groups[order]
    top = pool[:k]
    discount = 1.0 / np.log2(np.arange(2, len(top) + 2))
    shares = []
    for g in sorted(set(pool.tolist()), key=lambda g: (g == UNKNOWN, g)):
        pool_share = float((pool == g).mean())
        attention = float(discount[top == g].sum() / discount.sum()) if len(top) else 0.0
        shares.append(
            ExposureShare(
                group=g,
                pool_share=pool_share,
                top_k_share=float((top == g).mean()) if len(top) else 0.0,
                discounted_share=attention,
                ratio=attention / pool_share,
            )
        )
    return ListExposure(key=key, pool=len(order), groups=shares)


def _mean_exposure(lists: list[ListExposure]) -> list[ExposureShare]:
    """Each group's shares averaged over the lists (a list without the group counts as a share of 0)."""
    names = sorted({share.group for item in lists for share in item.groups}, key=lambda g: (g == UNKNOWN, g))
    means = []
    for g in names:
        rows = [next((s for s in item.groups if s.group == g), None) for item in lists]
        pool = float(np.mean([s.pool_share if s else 0.0 for s in rows]))
        discounted = float(np.mean([s.discounted_share if s else 0.0 for s in rows]))
        means.append(
            ExposureShare(
                group=g,
                pool_share=pool,
                top_k_share=float(np.mean([s.top_k_share if s else 0.0 for s in rows])),
                discounted_share=discounted,
                ratio=discounted / pool if pool else None,
            )
        )
    return means
