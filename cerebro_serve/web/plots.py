"""Charts drawn on the server as inline SVG, so pages need no script and nothing from elsewhere to show them.

Every chart is a `<figure class="chart">`: an `<svg role="img">` whose accessible name carries the
figures, a `<figcaption>`, a legend in text when there are several series, and a visually-hidden table
of the data for screen readers. Colours are the Okabe-Ito palette's darker members, each at least 3:1
against white, and series also differ by dash pattern so colour is never the only cue. Callers pass
titles and labels already translated."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

COLOURS = ("#0b5fa5", "#b45309", "#047857", "#a21caf", "#374151")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "1 2")
MARKED_POINTS = 24  # a line of this many points or fewer also shows each point as a dot
WIDTH, HEIGHT = 480, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 44
DESCRIBED_POINTS = 6  # how many points of each series the accessible name reads out


@dataclass(frozen=True)
class Series:
    """One named line: its (x, y) points in drawing order."""

    name: str
    points: Sequence[tuple[float, float]]


@dataclass(frozen=True)
class Frame:
    """The plotting area and the data ranges it maps, so every chart places values the same way."""

    x_range: tuple[float, float]
    y_range: tuple[float, float]
    width: int = WIDTH
    height: int = HEIGHT

    def x(self, value: float) -> float:
        low, high = self.x_range
        return LEFT + (value - low) / ((high - low) or 1.0) * (self.width - LEFT - RIGHT)

    def y(self, value: float) -> float:
        low, high = self.y_range
        return self.height - BOTTOM - (value - low) / ((high - low) or 1.0) * (self.height - TOP - BOTTOM)


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    x_label: str,
    y_label: str,
    caption: str = "",
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
    diagonal: bool = False,
    series_label: str = "Series",
) -> Markup:
    """Lines over shared axes (ROC curves, loss per iteration, requests over time). `diagonal` draws the
    chance line of a ROC plot. Ranges default to the data's, with y starting at zero when all are positive."""
    drawn = [s for s in series if s.points]
    xs = [x for s in drawn for x, _ in s.points] or [0.0, 1.0]
    ys = [y for s in drawn for _, y in s.points] or [0.0, 1.0]
    frame = Frame(x_range or (min(xs), max(xs)), y_range or (min(0.0, min(ys)), max(ys) or 1.0))
    shapes = _axes(frame, x_label, y_label)
    if diagonal:
        shapes.append(
            f'<line x1="{frame.x(frame.x_range[0]):.1f}" y1="{frame.y(frame.y_range[0]):.1f}" '
            f'x2="{frame.x(frame.x_range[1]):.1f}" y2="{frame.y(frame.y_range[1]):.1f}" stroke="#6b7280" '
            'stroke-dasharray="3 3"/>'
        )
    for number, line in enumerate(drawn):
        path = " ".join(f"{frame.x(x):.1f},{frame.y(y):.1f}" for x, y in line.points)
        dash = DASHES[number % len(DASHES)]
        shapes.append(
            f'<polyline points="{path}" fill="none" stroke="{COLOURS[number % len(COLOURS)]}" stroke-width="2"'
            + (f' stroke-dasharray="{dash}"' if dash else "")
            + "/>"
        )
        if len(line.points) <= MARKED_POINTS:
            colour = COLOURS[number % len(COLOURS)]
            shapes.extend(
                f'<circle cx="{frame.x(x):.1f}" cy="{frame.y(y):.1f}" r="3" fill="{colour}"/>' for x, y in line.points
            )
    described = "; ".join(f"{s.name}: {_sample(s.points)}" for s in drawn) or "–"
    rows = [(s.name, f"{_number(x)}", f"{_number(y)}") for s in drawn for x, y in s.points]
    table = _table(title, [series_label, x_label, y_label], rows)
    return _figure(title, f"{title} ({x_label} / {y_label}). {described}", frame, shapes, caption, drawn, table)


def bar_chart(
    bars: Sequence[tuple[str, float]], *, title: str, value_label: str, caption: str = "", top: float | None = None
) -> Markup:
    """Vertical bars, one per named value (counts per class, per role, requests per route)."""
    frame = Frame((0.0, float(max(len(bars), 1))), (0.0, top or max([v for _, v in bars] or [1.0]) or 1.0))
    shapes = _axes(frame, "", value_label, x_ticks=False)
    slot = (frame.width - LEFT - RIGHT) / max(len(bars), 1)
    for number, (name, value) in enumerate(bars):
        x, y = frame.x(number) + slot * 0.15, frame.y(value)
        shapes.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{frame.y(0) - y:.1f}" '
            f'fill="{COLOURS[0]}"/>'
        )
        shapes.append(
            f'<text x="{x + slot * 0.35:.1f}" y="{frame.height - BOTTOM + 16}" text-anchor="middle">'
            f"{escape(name[:14])}</text>"
        )
        shapes.append(f'<text x="{x + slot * 0.35:.1f}" y="{y - 4:.1f}" text-anchor="middle">{_number(value)}</text>')
    described = ", ".join(f"{name} {_number(value)}" for name, value in bars) or "–"
    table = _table(title, ["", value_label], [(name, _number(value)) for name, value in bars])
    return _figure(title, f"{title} ({value_label}): {described}", frame, shapes, caption, [], table)


def histogram(
    edges: Sequence[float],
    first: tuple[str, Sequence[int]],
    second: tuple[str, Sequence[int]],
    *,
    title: str,
    x_label: str,
    y_label: str,
    caption: str = "",
) -> Markup:
    """Two distributions over the same bins side by side (scores of positives against negatives), so
    their overlap shows how well a version separates the classes."""
    counts = [*first[1], *second[1]]
    frame = Frame((edges[0], edges[-1]), (0.0, float(max(counts or [1]) or 1)))
    shapes = _axes(frame, x_label, y_label)
    for number, (_, values) in enumerate((first, second)):
        for low, high, count in zip(edges, edges[1:], values, strict=False):
            half = (frame.x(high) - frame.x(low)) / 2
            x, y = frame.x(low) + half * number, frame.y(count)
            shapes.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(half - 1, 0.5):.1f}" height="{frame.y(0) - y:.1f}" '
                f'fill="{COLOURS[number]}"/>'
            )
    legend = [Series(first[0], []), Series(second[0], [])]
    described = "; ".join(
        f"{name}: Σ {sum(values)}, mode {_busiest(edges, values)}" for name, values in (first, second)
    )
    rows = [
        (f"{_number(low)}–{_number(high)}", str(a), str(b))
        for low, high, a, b in zip(edges, edges[1:], first[1], second[1], strict=False)
    ]
    table = _table(title, [x_label, first[0], second[0]], rows)
    return _figure(title, f"{title} ({x_label}). {described}", frame, shapes, caption, legend, table, bars=True)


def confusion_matrix(
    matrix: Sequence[Sequence[int]],
    *,
    title: str,
    classes: tuple[str, str],
    actual: str,
    predicted: str,
    caption: str = "",
) -> Markup:
    """A 2×2 grid of counts, actual class by row and predicted class by column, shaded by share."""
    size, cell = 300, 110
    total = sum(sum(row) for row in matrix) or 1
    shapes = [
        f'<text x="{60 + cell}" y="14" text-anchor="middle">{escape(predicted)}</text>',
        f'<text x="14" y="{40 + cell}" text-anchor="middle" transform="rotate(-90 14 {40 + cell})">'
        f"{escape(actual)}</text>",
    ]
    for column, name in enumerate(classes):
        shapes.append(f'<text x="{60 + cell * column + cell / 2}" y="32" text-anchor="middle">{escape(name)}</text>')
    for row, values in enumerate(matrix):
        shapes.append(
            f'<text x="52" y="{40 + cell * row + cell / 2 + 4}" text-anchor="end">{escape(classes[row])}</text>'
        )
        for column, count in enumerate(values):
            share = count / total
            ink = "#ffffff" if share > 0.45 else "#1b1b1f"
            shapes.append(
                f'<rect x="{60 + cell * column}" y="{40 + cell * row}" width="{cell}" height="{cell}" '
                f'fill="{COLOURS[0]}" fill-opacity="{0.1 + 0.9 * share:.2f}" stroke="#ffffff"/>'
                f'<text x="{60 + cell * column + cell / 2}" y="{40 + cell * row + cell / 2 + 5}" '
                f'text-anchor="middle" font-size="16" fill="{ink}">{count}</text>'
            )
    described = ", ".join(
        f"{actual} {classes[row]} / {predicted} {classes[column]}: {count}"
        for row, values in enumerate(matrix)
        for column, count in enumerate(values)
    )
    rows = [(classes[row], *(str(count) for count in values)) for row, values in enumerate(matrix)]
    table = _table(title, [f"{actual} \\ {predicted}", *classes], rows)
    frame = Frame((0, 1), (0, 1), width=size, height=40 + 2 * cell + 10)
    return _figure(title, f"{title}. {described}", frame, shapes, caption, [], table)


def _axes(frame: Frame, x_label: str, y_label: str, *, x_ticks: bool = True) -> list[str]:
    """Both axes with five ticks each and their names."""
    bottom, left = frame.height - BOTTOM, LEFT
    shapes = [
        f'<line x1="{left}" y1="{TOP}" x2="{left}" y2="{bottom}" stroke="#1b1b1f"/>',
        f'<line x1="{left}" y1="{bottom}" x2="{frame.width - RIGHT}" y2="{bottom}" stroke="#1b1b1f"/>',
    ]
    for step in range(5):
        y_value = frame.y_range[0] + (frame.y_range[1] - frame.y_range[0]) * step / 4
        y = frame.y(y_value)
        shapes.append(f'<line x1="{left}" y1="{y:.1f}" x2="{frame.width - RIGHT}" y2="{y:.1f}" stroke="#e5e7eb"/>')
        shapes.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{_number(y_value)}</text>')
        if x_ticks:
            x_value = frame.x_range[0] + (frame.x_range[1] - frame.x_range[0]) * step / 4
            shapes.append(
                f'<text x="{frame.x(x_value):.1f}" y="{bottom + 14}" text-anchor="middle">{_number(x_value)}</text>'
            )
    shapes.append(
        f'<text x="{(left + frame.width - RIGHT) / 2}" y="{frame.height - 6}" text-anchor="middle">'
        f"{escape(x_label)}</text>"
    )
    shapes.append(
        f'<text x="12" y="{(TOP + bottom) / 2}" text-anchor="middle" transform="rotate(-90 12 {(TOP + bottom) / 2})">'
        f"{escape(y_label)}</text>"
    )
    return shapes


def _figure(
    title: str,
    label: str,
    frame: Frame,
    shapes: Sequence[str],
    caption: str,
    legend: Sequence[Series],
    table: str,
    *,
    bars: bool = False,
) -> Markup:
    keys = ""
    if len(legend) > 1:
        items = "".join(_legend_item(number, s.name, bars) for number, s in enumerate(legend))
        keys = f'<ul class="legend" aria-hidden="true">{items}</ul>'
    svg = (
        f'<svg role="img" aria-label="{escape(label)}" width="{frame.width}" height="{frame.height}" '
        f'viewBox="0 0 {frame.width} {frame.height}" xmlns="http://www.w3.org/2000/svg" font-size="11" '
        f'fill="#1b1b1f"><title>{escape(title)}</title>{"".join(shapes)}</svg>'
    )
    text = escape(caption or title)
    return Markup(f'<figure class="chart">{svg}{keys}<figcaption>{text}</figcaption>{table}</figure>')


def _legend_item(number: int, name: str, bars: bool) -> str:
    colour = COLOURS[number % len(COLOURS)]
    dash = "" if bars else DASHES[number % len(DASHES)]
    mark = (
        f'<rect width="18" height="10" y="1" fill="{colour}"/>'
        if bars
        else f'<line x1="0" y1="6" x2="22" y2="6" stroke="{colour}" stroke-width="3"'
        + (f' stroke-dasharray="{dash}"' if dash else "")
        + "/>"
    )
    return f'<li><svg width="24" height="12" aria-hidden="true">{mark}</svg> {escape(name)}</li>'


def _table(caption: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """The data behind a chart, for screen readers; the first column heads its row. Hidden by its wrapper:
    a table grows to its rows whatever height it is given, and would lengthen the page."""
    head = "".join(f'<th scope="col">{escape(cell)}</th>' for cell in header)
    body = "".join(
        f'<tr><th scope="row">{escape(row[0])}</th>{"".join(f"<td>{escape(c)}</td>" for c in row[1:])}</tr>'
        for row in rows
    )
    return (
        f'<div class="visually-hidden"><table><caption>{escape(caption)}</caption><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def _sample(points: Sequence[tuple[float, float]]) -> str:
    """A few evenly spaced points, always the first and the last, so the name stays short."""
    if not points:
        return "–"
    step = max(1, (len(points) - 1) // (DESCRIBED_POINTS - 1))
    picked = list(points[::step])
    if picked[-1] != points[-1]:
        picked.append(points[-1])
    return ", ".join(f"({_number(x)}, {_number(y)})" for x, y in picked)


def _busiest(edges: Sequence[float], values: Sequence[int]) -> str:
    if not values or not any(values):
        return "–"
    top = max(range(len(values)), key=lambda i: values[i])
    return f"{_number(edges[top])}–{_number(edges[top + 1])}"


def _number(value: float) -> str:
    if float(value).is_integer() and abs(value) >= 1:
        return str(int(value))
    return f"{value:.3g}"
