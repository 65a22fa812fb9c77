"""Server-drawn charts: each says its figures in words (accessible name, hidden table) besides drawing them."""

from __future__ import annotations

import re

from cerebro_serve.web.plots import Series, bar_chart, confusion_matrix, line_chart


def test_a_line_chart_draws_each_series_and_names_its_figures() -> None:
    chart = str(
        line_chart(
            [Series("Training", [(1, 0.9), (2, 0.5), (3, 0.3)]), Series("Validation", [(1, 0.95), (2, 0.7)])],
            title="Log loss",
            x_label="Iteration",
            y_label="Loss",
        )
    )
    assert chart.count("<polyline") == 2 and chart.count("<circle") == 5  # few points: each one marked
    label = re.search(r'aria-label="([^"]*)"', chart).group(1)
    assert "Training" in label and "Validation" in label and "0.3" in label
    assert "<caption>Log loss</caption>" in chart and chart.count("<tr>") >= 6


def test_one_point_is_still_visible_and_long_series_are_not_dotted() -> None:
    assert "<circle" in str(line_chart([Series("Requests", [(0, 4)])], title="t", x_label="x", y_label="y"))
    long = [(float(x), float(x)) for x in range(100)]
    assert "<circle" not in str(line_chart([Series("ROC", long)], title="t", x_label="x", y_label="y"))


def test_bars_and_a_confusion_matrix_carry_their_numbers() -> None:
    bars = str(bar_chart([("positive", 24), ("negative", 7)], title="Labels", value_label="pairs"))
    assert bars.count("<rect") >= 2 and "24" in bars and "7" in bars
    matrix = str(
        confusion_matrix(
            [[5, 1], [2, 8]],
            title="Confusion",
            classes=("negative", "positive"),
            actual="Actual",
            predicted="Predicted",
        )
    )
    for count in ("5", "1", "2", "8"):
        assert f">{count}<" in matrix
