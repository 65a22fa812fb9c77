"""Experience and education entries: a section is cut into entries at the lines that carry a date range.

Resumes put an entry's dates before its title ("2021 – Present / Machine Learning Engineer, OpenAI"),
after it ("Senior Engineer  Jan 2023 - Present / Stripe"), or on a line of their own under a company and
title. The header of an entry is its date line without the dates, plus the short lines right around it;
everything else up to the next entry is its description.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cerebro_serve.parsing.dates import RANGE_SEPARATOR, DateRange, find_ranges, year_pattern

BULLET = re.compile(r"^\s*[•\-*–·▪●◦]\s*")
# Commas as each script writes them (Arabic "،", CJK "，" and "、") part a header too.
HEADER_SEPARATORS = re.compile(r"\s*(?:[,،，、]|\||•|·|\s@\s|\sat\s|\schez\s|\sen\s|\sbei\s|\spresso\s|\s[-–—]\s)\s*")
MAX_HEADER_WORDS = 10


@dataclass(slots=True)
class Entry:
    dates: DateRange | None
    header: list[str]  # header parts, in reading order
    description: str


def _is_header_line(line: str) -> bool:
    stripped = line.strip()
    return (
        bool(stripped)
        and not BULLET.match(line)
        and len(stripped.split()) <= MAX_HEADER_WORDS
        and not stripped.endswith(".")
    )


def _without_dates(line: str, dates: DateRange) -> str:
    start, end = dates.span
    remainder = (line[:start] + " " + line[end:]).strip()
    return re.sub(r"^[\s:;,()\-–—|]+|[\s:;,()\-–—|]+$", "", remainder)


def _parts(line: str) -> list[str]:
    return [part.strip(" ()") for part in HEADER_SEPARATORS.split(line) if part.strip(" ()")]


def _short_lines_above(lines: list[str], index: int, floor: int) -> int:
    """How many (0-2) short header lines stand right above line `index`, not reaching above `floor`."""
    count = 0
    while count < 2 and index - count - 1 >= floor and _is_header_line(lines[index - count - 1]):
        count += 1
    return count


def _join_broken_ranges(lines: list[str], language: str | None) -> list[str]:
    """PDF extraction breaks a range over lines ("2021 –" / "Present", or "07/2017" / "to" / "12/2017"):
    put it back together."""
    year = year_pattern(language)
    open_range = re.compile(rf"{year}{RANGE_SEPARATOR}$", re.IGNORECASE)
    ends_with_year = re.compile(rf"{year}\s*$")
    separator_only = re.compile(rf"^{RANGE_SEPARATOR}$", re.IGNORECASE)
    joined: list[str] = []
    for line in lines:
        previous = joined[-1].rstrip() if joined else ""
        if ends_with_year.search(previous) and separator_only.match(line):
            joined[-1] = f"{previous} {line.strip()}"
            continue
        if open_range.search(previous):
            candidate = f"{previous} {line.strip()}"
            ranges = find_ranges(candidate, language)
            if ranges and ranges[-1].span[1] > len(previous):
                joined[-1] = candidate
                continue
        joined.append(line)
    return joined


def split_entries(lines: list[str], language: str | None = None) -> list[Entry]:
    """Entries of an experience or education section, in order; `language`: the resume's, when told (its
    month names, and the era its years count in)."""
    lines = _join_broken_ranges([line for line in lines if line.strip()], language)
    dated = [
        (index, ranges[0])
        for index, line in enumerate(lines)
        if (ranges := find_ranges(line, language)) and len(line.split()) <= MAX_HEADER_WORDS + 6
    ]
    if not dated:
        return [Entry(None, _parts(lines[0]), "\n".join(lines[1:]))] if lines else []

    # The first entry tells the layout: short lines above its dates mean every header sits above.
    header_above = _short_lines_above(lines, dated[0][0], 0) > 0
    starts = []
    previous = -1
    for index, _ in dated:
        above = _short_lines_above(lines, index, previous + 1) if header_above else 0
        starts.append(index - above)
        previous = index
    entries = []
    for position, (index, dates) in enumerate(dated):
        end = starts[position + 1] if position + 1 < len(dated) else len(lines)
        header_lines = lines[starts[position] : index]
        remainder = _without_dates(lines[index], dates)
        if remainder:
            header_lines.append(remainder)
        body_start = index + 1
        # Dates on a line of their own, or a title with its company on the next line.
        if body_start < end and _is_header_line(lines[body_start]) and len(header_lines) < 2:
            header_lines.append(lines[body_start])
            body_start += 1
        parts = [part for line in header_lines for part in _parts(line)]
        description = "\n".join(BULLET.sub("", line) for line in lines[body_start:end]).strip()
        entries.append(Entry(dates, parts, description))
    return entries
