"""A fairness audit's report as one self-contained HTML page a customer can hand to an auditor: inline CSS,
bar charts drawn as inline SVG, no script and nothing fetched. Every chart repeats its figures in its
accessible name, and every table has a caption and scoped headers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from cerebro_serve.training.fairness import FOUR_FIFTHS

CSS = """
body { font: 15px/1.5 system-ui, sans-serif; color: #1b1b1b; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ccc; } h3 { margin-top: 1.6rem; }
table { border-collapse: collapse; margin: .6rem 0 1rem; }
caption { text-align: left; font-weight: 600; padding-bottom: .3rem; }
th, td { border: 1px solid #bbb; padding: .2rem .6rem; text-align: right; }
th[scope=row], td.text { text-align: left; } thead th { background: #eee; }
tr.flag td, tr.flag th { background: #fde2e1; }
.note { color: #555; } svg { display: block; margin: .4rem 0 1.2rem; }
dt { font-weight: 600; } dd { margin: 0 0 .5rem 1.2rem; }
"""
BAR_WIDTH = 360
ROW_HEIGHT = 22
LABEL_WIDTH = 170


def render_html(report: dict[str, Any]) -> str:
    """The page for a succeeded audit's report (the JSON `GET /v1/algorithm/audit` answers with)."""
    title = f"Fairness audit of {report['algorithm_key']}, version {report['version']}"
    audit_set, validation = report["audit_set"], report["validation"]
    parts = [
        f"<h1>{escape(title)}</h1>",
        _summary(report),
        "<h2>Audit set: scores the version gives</h2>",
        _coverage(audit_set["coverage"], "audit set"),
        _report(audit_set.get("model"), "Scoring rate", "no (profile, job) pair could be scored"),
        "<h2>Exposure in each job's top-" + str(audit_set["top_k"]) + "</h2>",
        *(_exposure(item) for item in audit_set.get("exposure", [])),
        "<h2>Validation data</h2>",
        _validation(validation),
        _probes(report.get("bias_probes")),
        "<h2>Method</h2>",
        _method(report["method"]),
    ]
    body = "\n".join(part for part in parts if part)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def _summary(report: dict[str, Any]) -> str:
    audit_set = report["audit_set"]
    coverage = audit_set["coverage"]
    dates = coverage["date_range"]
    lowest = (audit_set.get("model") or {}).get("min_impact_ratio", {})
    rows = [[escape(name), _number(ratio), "yes" if ratio < FOUR_FIFTHS else "no"] for name, ratio in lowest.items()]
    lines = [
        f"<p>Generated {escape(report['generated_at'])}. The audit set: {audit_set['jobs']} job(s) of board(s) "
        f"{_keys(audit_set['board_keys'])} ranking {coverage['profiles']} profile(s) of source(s) "
        f"{_keys(audit_set['source_keys'])} ({coverage['pairs']} pairs), profiles created "
        f"{_dates(dates)}.</p>",
    ]
    if rows:
        lines.append(
            _table(
                "Lowest impact ratio per attribute (groups that count)",
                ["Attribute", "Lowest impact ratio", f"Under {FOUR_FIFTHS}"],
                rows,
                flagged=[row[2] == "yes" for row in rows],
            )
        )
        lines.append(_bars("Lowest impact ratio per attribute", [(name, ratio) for name, ratio in lowest.items()]))
    return "\n".join(lines)


def _coverage(coverage: dict[str, Any] | None, what: str) -> str:
    if not coverage:
        return ""
    left_out = coverage["left_out"]
    if not left_out:
        return f"<p>No profile of the {what} was left out.</p>"
    rows = [[escape(reason), str(count)] for reason, count in left_out.items()]
    return _table(f"Profiles of the {what} left out, by reason", ["Reason", "Profiles"], rows)


def _report(report: dict[str, Any] | None, rate_name: str, empty: str) -> str:
    if not report:
        return f"<p class=note>Nothing to measure: {escape(empty)}.</p>"
    parts = []
    if report.get("median_score") is not None:
        parts.append(f"<p>Median score of the audited pairs: {_number(report['median_score'])}.</p>")
    for table in report["tables"]:
        parts.append(_rate_table(table, rate_name))
    return "\n".join(parts)


def _rate_table(table: dict[str, Any], rate_name: str) -> str:
    attribute = table["attribute"]
    labels = {
        "scoring_rate": rate_name,
        "positive_label_rate": "Positive-label rate",
        "selection_rate": "Selection rate",
    }
    name = labels.get(table["rate"], table["rate"])
    header = ["Group", "Pairs", "Share", name, "Impact ratio", "Four-fifths flag", "Fisher p-value"]
    with_errors = any("true_positive_rate" in group or "false_positive_rate" in group for group in table["groups"])
    if with_errors:
        header += ["True positive rate", "False positive rate"]
    header.append("Counts towards the lowest ratio")
    rows, flagged = [], []
    for group in table["groups"]:
        row = [
            escape(group["group"]),
            str(group["n"]),
            _percent(group["share"]),
            _percent(group["rate"]),
            _number(group.get("impact_ratio")),
            "flagged" if group.get("four_fifths_flag") else "",
            _number(group.get("p_value"), 4),
        ]
        if with_errors:
            row += [_percent(group.get("true_positive_rate")), _percent(group.get("false_positive_rate"))]
        row.append("yes" if group.get("excluded") is None else f"no: {escape(group['excluded'])}")
        rows.append(row)
        flagged.append(bool(group.get("four_fifths_flag")))
    gaps = [
        f"{label} {_number(table[field])}"
        for field, label in (
            ("demographic_parity_difference", "demographic parity difference"),
            ("equalized_odds_difference", "equalized odds difference"),
        )
        if table.get(field) is not None
    ]
    reference = f"reference group {escape(table['reference'])}" if table.get("reference") else "no reference group"
    caption = f"{name} by {escape(attribute)} ({reference}{'; ' if gaps else ''}{'; '.join(gaps)})"
    chart = _bars(
        f"Impact ratio of the {name.lower()} by {attribute}",
        [(group["group"], group.get("impact_ratio")) for group in table["groups"]],
    )
    return f"<h3>{escape(name)} by {escape(attribute)}</h3>\n{_table(caption, header, rows, flagged)}\n{chart}"


def _exposure(item: dict[str, Any]) -> str:
    rows = [
        [
            escape(group["group"]),
            _percent(group["pool_share"]),
            _percent(group["top_k_share"]),
            _percent(group["discounted_share"]),
            _number(group.get("ratio")),
        ]
        for group in item["groups"]
    ]
    caption = f"Exposure by {escape(item['attribute'])}, averaged over {len(item['lists'])} job(s)"
    header = ["Group", "Share of the ranked profiles", f"Share of top-{item['k']}", "Discounted share", "Ratio"]
    return f"<h3>By {escape(item['attribute'])}</h3>\n{_table(caption, header, rows)}"


def _validation(validation: dict[str, Any]) -> str:
    if validation.get("skipped"):
        return f"<p class=note>{escape(validation['skipped'])}.</p>"
    coverage = validation.get("coverage") or {}
    dates = coverage.get("date_range") or {"start": None, "end": None}
    parts = [
        f"<p>The feedback of training {escape(validation.get('training_key') or '')}: {coverage.get('pairs', 0)} "
        f"labelled pair(s) of {coverage.get('profiles', 0)} profile(s), given {_dates(dates)}.</p>",
        _coverage(coverage, "validation data"),
        "<h3>Data fairness: the labels the training learnt from</h3>",
        _report(validation.get("data"), "Positive-label rate", "no labelled pair has attributes"),
        "<h3>Model fairness on the validation pairs</h3>",
        _report(validation.get("model"), "Scoring rate", "no validation pair could be scored"),
    ]
    return "\n".join(part for part in parts if part)


def _probes(probes: dict[str, Any] | None) -> str:
    """The stereotype probe's effect per edit and the overload probe's concentration and drift."""
    if probes is None:
        return ""
    parts = ["<h2>Bias probes</h2>"]
    parts += [f"<p class=note>Not run: {escape(reason)}.</p>" for reason in probes.get("skipped", [])]
    stereotype = probes.get("stereotype")
    if stereotype:
        rows = [
            [
                escape(f"{effect['edit']}: {effect['baseline']} → {effect['counterfactual']}"),
                str(effect["profiles"]),
                str(effect["comparisons"]),
                _number(effect.get("mean_abs_delta"), 4),
                _number(effect.get("p99_abs_delta"), 4),
                _percent(effect.get("top_k_flips")),
                _number(effect.get("mean_rank_shift"), 2),
            ]
            for effect in stereotype["effects"]
        ]
        caption = (
            f"Stereotype bias: counterfactual copies of {stereotype['profiles']} profile(s) against "
            f"{stereotype['jobs']} job(s), top-{stereotype['top_k']} (names: {escape(stereotype['names_source'])})"
        )
        header = ["Edit", "Profiles", "Comparisons", "Mean |Δscore|", "p99 |Δscore|", "Top-k flips", "Mean rank shift"]
        parts.append(_table(caption, header, rows))
    overload = probes.get("overload")
    if overload:
        parts.append(
            f"<p>Overload bias over {overload['jobs']} job(s) and {overload['pool_size']} profile(s): the top "
            f"{overload['top_profiles']} profile(s) take {_percent(overload['top_share'])} of the "
            f"{overload['slots']} top-{overload['top_k']} slots; Gini of exposure {_number(overload['gini'])} "
            f"(position-discounted {_number(overload['gini_discounted'])}).</p>"
        )
        rows = [
            [_percent(drift["fraction"]), str(drift["pool_size"]), _number(drift["mean"]), _number(drift["p90"])]
            for drift in overload["drift"]
        ]
        header = ["Share of the pool", "Profiles", "Mean top-k score", "p90 top-k score"]
        parts.append(_table("Top-k scores as the pool grows", header, rows))
    return "\n".join(parts)


def _method(method: dict[str, str]) -> str:
    items = "".join(
        f"<dt>{escape(name.replace('_', ' '))}</dt><dd>{escape(text)}</dd>" for name, text in method.items()
    )
    return f"<dl>{items}</dl>"


def _table(caption: str, header: Sequence[str], rows: Iterable[Sequence[str]], flagged: Sequence[bool] = ()) -> str:
    """Cells arrive escaped; the first column heads its row."""
    head = "".join(f'<th scope="col">{escape(cell)}</th>' for cell in header)
    lines = []
    for number, row in enumerate(rows):
        mark = ' class="flag"' if number < len(flagged) and flagged[number] else ""
        cells = "".join(f"<td>{cell}</td>" for cell in row[1:])
        lines.append(f'<tr{mark}><th scope="row">{row[0]}</th>{cells}</tr>')
    return f"<table><caption>{caption}</caption><thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>"


def _bars(title: str, values: Sequence[tuple[str, float | None]]) -> str:
    """Horizontal bars of ratios on a 0..max(1.2, largest) scale, with the four-fifths line dashed."""
    if not values:
        return ""
    top = max([1.2, *(value for _, value in values if value is not None)])
    width, height = LABEL_WIDTH + BAR_WIDTH + 60, ROW_HEIGHT * len(values) + 24
    threshold = LABEL_WIDTH + BAR_WIDTH * FOUR_FIFTHS / top
    shapes = []
    for number, (label, value) in enumerate(values):
        y = number * ROW_HEIGHT + 4
        shapes.append(f'<text x="{LABEL_WIDTH - 6}" y="{y + 14}" text-anchor="end">{escape(label[:28])}</text>')
        if value is None:
            shapes.append(f'<text x="{LABEL_WIDTH + 4}" y="{y + 14}">n/a</text>')
            continue
        length = BAR_WIDTH * value / top
        colour = "#c0392b" if value < FOUR_FIFTHS else "#2e6da4"
        shapes.append(
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}" height="{ROW_HEIGHT - 6}" fill="{colour}"/>'
        )
        shapes.append(f'<text x="{LABEL_WIDTH + length + 4:.1f}" y="{y + 14}">{value:.2f}</text>')
    bottom = height - 18
    shapes.append(
        f'<line x1="{threshold:.1f}" y1="0" x2="{threshold:.1f}" y2="{bottom}" stroke="#333" stroke-dasharray="4 3"/>'
    )
    shapes.append(f'<text x="{threshold:.1f}" y="{height - 4}" text-anchor="middle">{FOUR_FIFTHS}</text>')
    described = ", ".join(f"{label} {'n/a' if value is None else f'{value:.2f}'}" for label, value in values)
    label = escape(f"{title}: {described}; the dashed line marks {FOUR_FIFTHS}")
    return (
        f'<svg role="img" aria-label="{label}" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg" font-size="12"><title>{escape(title)}</title>{"".join(shapes)}</svg>'
    )


def _keys(keys: Sequence[str]) -> str:
    return ", ".join(f"<code>{escape(key)}</code>" for key in keys)


def _dates(dates: dict[str, str | None]) -> str:
    if not dates.get("start"):
        return "(no dates: nothing audited)"
    return f"from {escape(dates['start'] or '')} to {escape(dates['end'] or '')}"


def _number(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"
