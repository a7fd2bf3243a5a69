"""Figures in the learner's language: Korean text needs a Korean font.

matplotlib's default font (DejaVu Sans) has no Hangul, so a Korean label would be a
row of boxes. The Korean edition draws with Nanum Gothic (Debian's `fonts-nanum`),
falling back to DejaVu Sans for the symbols Nanum lacks. Nanum must come first: the
plain text around `$math$` in a label, and the ticks of a log axis ($10^{-3}$), are
drawn with the first font alone. Nanum has no minus sign (U+2212), which those ticks
need, so the font used is a local copy of Nanum Gothic whose minus is its en dash,
made once per user with fontTools, matplotlib's own dependency, and kept in the
course's cache (a sealed kernel gets a copy). Nanum's arrows have hairline shafts
that vanish at a figure's size ("8 → 1" reads "8 ›1"), so the copy draws its
arrows (U+2190–U+21FF) with DejaVu Sans's, which matplotlib ships. Nothing is
downloaded or committed.
"""

from __future__ import annotations

import glob
import sys
from pathlib import Path

from autograder.settings import CACHE

SOURCES = {"ko": "/usr/share/fonts/truetype/nanum/NanumGothic.ttf"}
INSTALL = {"ko": "sudo apt install fonts-nanum"}
FAMILY = "Course Gothic"  # the local copy's name (a modified font takes its own)
MINUS, EN_DASH = 0x2212, 0x2013
ARROWS = range(0x2190, 0x2200)  # drawn with DejaVu Sans's glyphs in the local copy
VERSION = 2  # of the local copy: a change to what it holds makes a new one
COPIES = CACHE / "fonts"  # the local copies


def arrow_donor() -> Path:
    """DejaVu Sans, as matplotlib ships it: the arrows of the local copy."""
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"


def borrow_arrows(font, donor_path: Path) -> None:
    """Replace the outlines of `font`'s arrows by `donor_path`'s, scaled to its em."""
    from fontTools.pens.recordingPen import DecomposingRecordingPen
    from fontTools.pens.transformPen import TransformPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import TTFont

    donor = TTFont(donor_path)
    scale = font["head"].unitsPerEm / donor["head"].unitsPerEm
    theirs, glyphs = donor.getBestCmap(), donor.getGlyphSet()
    for code, name in font.getBestCmap().items():
        if code not in ARROWS or code not in theirs:
            continue
        outline = DecomposingRecordingPen(glyphs)
        glyphs[theirs[code]].draw(outline)
        pen = TTGlyphPen(None)
        outline.replay(TransformPen(pen, (scale, 0, 0, scale, 0, 0)))
        glyph = pen.glyph()
        glyph.recalcBounds(font["glyf"])
        font["glyf"][name] = glyph
        advance = round(donor["hmtx"][theirs[code]][0] * scale)
        font["hmtx"][name] = (advance, getattr(glyph, "xMin", 0))


def course_copy(source: Path) -> Path:
    """A copy of `source` under FAMILY that draws U+2212 with its en dash and its
    arrows with DejaVu Sans's, made once (VERSION names what it holds)."""
    target = COPIES / f"{source.stem}-v{VERSION}.ttf"
    if target.is_file() and target.stat().st_mtime >= source.stat().st_mtime:
        return target
    from fontTools.ttLib import TTFont

    font = TTFont(source)
    glyph = font.getBestCmap()[EN_DASH]
    for table in font["cmap"].tables:
        if table.isUnicode():
            table.cmap.setdefault(MINUS, glyph)
    borrow_arrows(font, arrow_donor())
    for record in font["name"].names:
        if record.nameID in (1, 4, 16):  # family, full name, typographic family
            record.string = FAMILY
        elif record.nameID == 6:  # PostScript name
            record.string = FAMILY.replace(" ", "")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    font.save(partial)
    partial.replace(target)  # whole or not at all, should two kernels race
    return target


def copies(lang: str | None) -> list[Path]:
    """The local copies `lang`'s figures draw with, made now where missing: none
    where it needs no font of its own, or its font is not installed."""
    found = glob.glob(SOURCES[lang]) if lang in SOURCES else []
    return [course_copy(Path(found[0]))] if found else []


def use_language(lang: str) -> str | None:
    """Make matplotlib draw `lang`'s text; return a warning when its font is
    missing (None when all is well, or `lang` needs no font of its own)."""
    if lang not in SOURCES:
        return None
    drawn = copies(lang)
    if not drawn:
        return (
            f"no Korean font ({SOURCES[lang]}) for the figures: {INSTALL[lang]}, "
            "then restart the kernel"
        )
    import matplotlib
    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(drawn[0]))
    matplotlib.rcParams["font.family"] = [FAMILY, "DejaVu Sans"]
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
