"""The CJK invoice font, parsed once per process; each document embeds a font of its glyphs.

fpdf2 parses the whole font file given to `add_font` and subsets it again for every document:
for a 5 MB CJK font with ~50 000 glyphs that was about 0.3 s a PDF. Here the font is read
once per process, and each document gets a small font file holding exactly the glyphs of its
text (the same outlines, advance widths, vertical metrics and hinting), which fpdf2 then
embeds as it would have embedded its own subset.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from fontTools.ttLib import TTFont, newTable
from fontTools.ttLib.tables._c_m_a_p import CmapSubtable
from fontTools.ttLib.tables._g_l_y_f import Glyph

# Tables copied whole: global metrics, names and the hinting programs the glyphs refer to.
_GLOBAL_TABLES = ("head", "hhea", "maxp", "OS/2", "name", "cvt ", "fpgm", "prep", "gasp")

# The post table's scalars; its glyph names are written anew for the glyphs kept.
_POST_FIELDS = (
    "italicAngle",
    "underlinePosition",
    "underlineThickness",
    "isFixedPitch",
    "minMemType42",
    "maxMemType42",
    "minMemType1",
    "maxMemType1",
)


class CjkFont:
    """One font of a file (or collection), read once and never modified."""

    def __init__(self, path: Path, number: int = 0) -> None:
        self.path = path
        self._font = TTFont(str(path), fontNumber=number, recalcTimestamp=False)
        self._cmap: dict[int, str] = self._font.getBestCmap()
        self._glyf = self._font["glyf"]
        self._metrics = self._font["hmtx"].metrics
        self._order = {name: i for i, name in enumerate(self._font.getGlyphOrder())}
        self._globals = {tag: self._font[tag] for tag in _GLOBAL_TABLES if tag in self._font}
        source = self._font["post"]
        self._post = {key: getattr(source, key) for key in _POST_FIELDS}
        # A simple glyph's bytes as this font's subset writes them, compiled on first use:
        # a document then embeds the bytes instead of compiling a copy of its outline again
        # (that compile was half of every PDF). Composite glyphs name their components by
        # glyph index, which differs in each subset, so they are copied and compiled anew.
        self._simple: dict[str, bytes] = {}
        # The payment service renders in threads; copying shared glyph objects is guarded.
        self._lock = threading.Lock()

    def _glyph_names(self, codepoints: Iterable[int]) -> list[str]:
        names = {".notdef"} | {self._cmap[cp] for cp in codepoints if cp in self._cmap}
        pending = list(names)
        while pending:  # a composite glyph needs its components
            glyph = self._glyf[pending.pop()]
            if glyph.isComposite():
                for component in glyph.getComponentNames(self._glyf):
                    if component not in names:
                        names.add(component)
                        pending.append(component)
        return sorted(names, key=self._order.__getitem__)

    def _glyph(self, name: str) -> Glyph:
        # Called under the lock. Subsets are saved without recalculating bounding boxes, so
        # a glyph made from bytes is written as those bytes: the same as compiling a copy.
        data = self._simple.get(name)
        if data is None:
            source = self._glyf[name]
            if source.isComposite():
                return copy.deepcopy(source)
            data = self._simple[name] = copy.deepcopy(source).compile(
                self._glyf, recalcBBoxes=False)
        return Glyph(data)

    def subset(self, text: str) -> bytes:
        """A TrueType font with the glyphs `text` needs (and .notdef), as bytes."""
        # U+0000 and the space are the two characters fpdf2 always maps (its SubsetMap).
        codepoints = sorted({ord(char) for char in text} | {0x00, 0x20})
        with self._lock:
            names = self._glyph_names(codepoints)
            # The whole font's bounding box and maxima, as a subset of it keeps them.
            font = TTFont(recalcBBoxes=False, recalcTimestamp=False)
            font.setGlyphOrder(names)
            for tag, table in self._globals.items():
                font[tag] = copy.deepcopy(table)
            glyf = font["glyf"] = newTable("glyf")
            glyf.glyphOrder = names
            glyf.glyphs = {name: self._glyph(name) for name in names}
            font["loca"] = newTable("loca")
            hmtx = font["hmtx"] = newTable("hmtx")
            hmtx.metrics = {name: self._metrics[name] for name in names}
        font["cmap"] = _cmap({cp: self._cmap[cp] for cp in codepoints if cp in self._cmap})
        post = font["post"] = newTable("post")
        post.__dict__.update(self._post)
        post.formatType, post.extraNames, post.mapping = 2.0, [], {}
        out = BytesIO()
        font.save(out)
        return out.getvalue()


def _cmap(mapping: dict[int, str]) -> object:
    table = newTable("cmap")
    table.tableVersion = 0
    bmp = CmapSubtable.newSubtable(4)
    bmp.platformID, bmp.platEncID, bmp.language = 3, 1, 0
    bmp.cmap = {cp: name for cp, name in mapping.items() if cp <= 0xFFFF}
    table.tables = [bmp]
    if any(cp > 0xFFFF for cp in mapping):
        full = CmapSubtable.newSubtable(12)
        full.platformID, full.platEncID, full.language = 3, 10, 0
        full.cmap = dict(mapping)
        table.tables.append(full)
    return table


@lru_cache(maxsize=4)
def cjk_font(path: Path) -> CjkFont:
    """The font at `path`, parsed on first use in this process."""
    return CjkFont(path)
