"""A copilot's text stays readable whatever brand colours its owner picks."""

from __future__ import annotations

import pytest

from cerebro_serve.web.copilot_visit import readable_on


@pytest.mark.parametrize(
    ("colour", "text"),
    [
        ("#1d4ed8", "#ffffff"),
        ("#000000", "#ffffff"),
        ("#ffffff", "#1b1b1f"),
        ("#fde047", "#1b1b1f"),
        ("#7c2d12", "#ffffff"),
    ],
)
def test_text_on_a_brand_colour_is_whichever_of_near_black_and_white_contrasts_more(colour: str, text: str) -> None:
    assert readable_on(colour) == text
