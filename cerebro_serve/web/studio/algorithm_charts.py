"""A version's metrics as charts (ROC curve, loss per iteration, score distributions, confusion matrix,
the release gate's impact ratios), in the admin's language, from the metrics a training stored."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from cerebro_serve.web.i18n import translator
from cerebro_serve.web.plots import Series, bar_chart, confusion_matrix, histogram, line_chart


def version_charts(version: dict[str, Any], lang: str) -> list[Markup]:
    """The charts of one version with training metrics, validation pairs first (what the gate judged)."""
    _ = translator(lang).gettext
    metrics, number = version["metrics"], version["version"]
    validation = metrics.get("validation") or {}
    charts = []
    if validation.get("roc_curve"):
        charts.append(
            _roc_chart(
                [_roc(_("Version {version}", version=number), validation)],
                _("ROC curve of version {version} on the validation pairs", version=number),
                lang,
                caption=_("AUC {auc}; the dotted diagonal is chance.", auc=_number(validation.get("auc"))),
            )
        )
    curve = metrics.get("loss_curve") or []
    if curve:
        charts.append(
            line_chart(
                [
                    Series(_("Training"), [(p["iteration"], p["train_loss"]) for p in curve]),
                    Series(_("Validation"), [(p["iteration"], p["validation_loss"]) for p in curve]),
                ],
                title=_("Log loss per iteration of version {version}", version=number),
                x_label=_("Iteration"),
                y_label=_("Log loss"),
                series_label=_("Series"),
            )
        )
    distribution = validation.get("score_distribution")
    if distribution:
        charts.append(
            histogram(
                distribution["bins"],
                (_("Positives"), distribution["positives"]),
                (_("Negatives"), distribution["negatives"]),
                title=_("Scores of positive and negative validation pairs, version {version}", version=number),
                x_label=_("Score"),
                y_label=_("Pairs"),
            )
        )
    if validation.get("confusion_matrix"):
        charts.append(
            confusion_matrix(
                validation["confusion_matrix"],
                title=_("Confusion matrix of version {version} at 0.5", version=number),
                classes=(_("negative"), _("positive")),
                actual=_("Actual"),
                predicted=_("Predicted"),
            )
        )
    ratios = (version.get("review") or {}).get("impact_ratios") or {}
    if ratios:
        charts.append(
            bar_chart(
                list(ratios.items()),
                title=_("Lowest impact ratio per attribute, version {version}", version=number),
                value_label=_("Impact ratio"),
                top=max(1.2, *ratios.values()),
                caption=_("From the release gate's fairness audit; under 0.8 fails the four-fifths rule."),
            )
        )
    return charts


def comparison_chart(pair: list[dict[str, Any]], lang: str) -> Markup | None:
    """Both versions' ROC curves on the validation pairs, on one chart."""
    _ = translator(lang).gettext
    series = [
        _roc(_("Version {version}", version=v["version"]), (v["metrics"] or {}).get("validation") or {}) for v in pair
    ]
    if not any(s.points for s in series):
        return None
    return _roc_chart(series, _("ROC curves of versions {a} and {b}", a=pair[0]["version"], b=pair[1]["version"]), lang)


def _roc_chart(series: list[Series], title: str, lang: str, caption: str = "") -> Markup:
    _ = translator(lang).gettext
    return line_chart(
        series,
        title=title,
        x_label=_("False positive rate"),
        y_label=_("True positive rate"),
        x_range=(0.0, 1.0),
        y_range=(0.0, 1.0),
        diagonal=True,
        series_label=_("Series"),
        caption=caption,
    )


def _roc(name: str, part: dict[str, Any]) -> Series:
    curve = part.get("roc_curve") or {"fpr": [], "tpr": []}
    return Series(name, list(zip(curve["fpr"], curve["tpr"], strict=False)))


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
