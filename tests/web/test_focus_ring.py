"""The focus ring can be seen on every background roi paints (WCAG 1.4.11: 3:1 against what is
next to it). It is two rings, a light one against the element and a dark one around it: on each
background one of them stands out, and the two stand out from each other."""

from __future__ import annotations

import re
from pathlib import Path

CSS = (Path(__file__).resolve().parents[2] / "static" / "roi.css").read_text()
FOCUS_RULE = re.compile(r":focus-visible[^{]*\{([^}]*)\}")
VARIABLE = re.compile(r"(--[\w-]+):\s*(#[0-9a-fA-F]{3,6})\b")
BACKGROUND = re.compile(r"background(?:-color)?:\s*(#[0-9a-fA-F]{3,6}|var\((--[\w-]+)\))")


def colour(value: str, variables: dict[str, str]) -> str:
    """A hex colour, with var(--x) looked up in :root."""
    found = re.fullmatch(r"var\((--[\w-]+)\)", value.strip())
    return variables[found.group(1)] if found else value.strip()


def luminance(hex_colour: str) -> float:
    digits = hex_colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def focus_rings() -> tuple[str, str]:
    """The outline (outer ring) and box-shadow (inner ring) colours of :focus-visible."""
    variables = dict(VARIABLE.findall(CSS))
    rule = FOCUS_RULE.search(CSS)
    assert rule, "no :focus-visible rule"
    outline = re.search(r"outline:\s*\d+px solid ([^;]+);", rule.group(1))
    shadow = re.search(r"box-shadow:\s*0 0 0 \d+px ([^;]+);", rule.group(1))
    assert outline, "the focus ring's outer ring is an outline"
    assert shadow, "the focus ring's inner ring is a box-shadow"
    return colour(outline.group(1), variables), colour(shadow.group(1), variables)


def backgrounds() -> set[str]:
    variables = dict(VARIABLE.findall(CSS))
    found = {colour(match.group(1), variables) for match in BACKGROUND.finditer(CSS)}
    return found | {variables["--paper"], variables["--card"], variables["--ink"]}


def test_the_two_rings_stand_out_from_each_other():
    outer, inner = focus_rings()
    assert contrast(outer, inner) >= 3


def test_one_ring_stands_out_on_every_background():
    outer, inner = focus_rings()
    painted = backgrounds()
    assert len(painted) > 10  # the page, cards, header, buttons, alerts, badges…
    faint = {bg: round(max(contrast(outer, bg), contrast(inner, bg)), 2) for bg in painted}
    assert {bg: ratio for bg, ratio in faint.items() if ratio < 3} == {}


def test_the_old_yellow_alone_would_fail():
    """The check can fail: yellow #f2b705 alone on white is about 1.8:1."""
    assert contrast("#f2b705", "#ffffff") < 2
