"""A browser's User-Agent in a few words ("Chrome on Android") for "Your sessions".

A handful of rules, not a User-Agent database: the page only has to let a person recognise their
own devices, and a wrong guess costs nothing.
"""

from __future__ import annotations

from roi.i18n import N_, Message

#: (marker in the User-Agent, name), first match wins: Edge and Opera also say "Chrome", Chrome
#: also says "Safari"
BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
#: Android and iOS before Linux and macOS: phones also say "Linux" or "like Mac OS X"
SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("CrOS", "ChromeOS"),
    ("Windows", "Windows"),
    ("Macintosh", "macOS"),
    ("Linux", "Linux"),
)


def describe(user_agent: str | None) -> str:
    """The browser and system a User-Agent names, e.g. "Firefox on Windows"."""
    text = user_agent or ""
    browser = next((name for marker, name in BROWSERS if marker in text), None)
    system = next((name for marker, name in SYSTEMS if marker in text), None)
    if browser and system:
        return Message("%(browser)s on %(system)s", browser=browser, system=system)
    return browser or system or N_("Unknown device")
