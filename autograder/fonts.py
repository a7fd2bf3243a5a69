"""Figures in the learner's language: Korean text needs a Korean font.

matplotlib's default font (DejaVu Sans) has no Hangul, so a Korean label would be a
row of boxes. For the Korean edition, figures use Nanum Gothic (Debian's
`fonts-nanum`) and fall back to DejaVu Sans for the few glyphs Nanum lacks (the
minus sign of tick labels, some symbols). Nanum comes first because the plain text
around `$math$` in a label is drawn with the first font alone.
"""

from __future__ import annotations

import glob
import sys

FONTS = {"ko": "NanumGothic"}
FILES = {"ko": "/usr/share/fonts/truetype/nanum/NanumGothic*.ttf"}
INSTALL = {"ko": "sudo apt install fonts-nanum"}


def has_font(family: str) -> bool:
    from matplotlib import font_manager

    try:
        font_manager.findfont(family, fallback_to_default=False)
    except ValueError:
        return False
    return True


def use_language(lang: str) -> str | None:
    """Make matplotlib draw `lang`'s text; return a warning when its font is
    missing (None when all is well, or `lang` needs no font of its own)."""
    family = FONTS.get(lang)
    if family is None:
        return None
    import matplotlib
    from matplotlib import font_manager

    if not has_font(family):  # installed after matplotlib cached its font list
        for path in glob.glob(FILES[lang]):
            font_manager.fontManager.addfont(path)
    if not has_font(family):
        return (
            f"no {family} font for the figures' {lang} text: {INSTALL[lang]}, then "
            "restart the kernel"
        )
    matplotlib.rcParams["font.family"] = [family, "DejaVu Sans"]
    return None


def for_notebook(lang: str) -> None:
    """In a kernel that already drew with matplotlib (a notebook's setup cell
    imports pyplot before the checks), set up `lang`'s font; a missing font is
    said once on stderr."""
    if "matplotlib" not in sys.modules:
        return
    warning = use_language(lang)
    if warning:
        print(f"lstm-course: {warning}", file=sys.stderr)
