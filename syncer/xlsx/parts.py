"""The fixed parts of a workbook: styles, content types, relationships, the workbook, the
comments of marked cells (with the VML drawing Excel needs to show them) and the Summary sheet.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "STATUS_STYLE",
    "STYLE",
    "comments_xml",
    "escape",
    "package",
    "summary_xml",
    "vml_drawing",
]

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
#: characters XML 1.0 cannot hold, and CR (XML reads it as LF): Excel writes them as _xHHHH_
SPECIAL_CHARS = [chr(c) for c in (*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x0D)]
SPECIAL_CHARS += ["\ufffe", "\uffff"]
#: text that looks like Excel's own escape gets its underscore escaped: _x005F_xHHHH_
EXCEL_ESCAPE = r"_(x[0-9A-Fa-f]{4}_)"

# -------------------------------------------------------------------------------- styles
#: fills (ARGB)
_FILLS = {"good": "FFC6EFCE", "bad": "FFFFC7CE", "warn": "FFFFEB9C", "grey": "FFD9D9D9"}
_FILLS |= {"ready": "FFDDEBF7", "header": "FFF2F2F2"}
#: fonts: (bold, ARGB colour or None)
_FONTS = {"plain": (False, None), "bold": (True, None), "good": (False, "FF006100")}
_FONTS |= {"bad": (False, "FF9C0006"), "warn": (False, "FF9C5700")}
#: status -> (fill, font) of its cell: Excel's own "Good", "Bad" and "Neutral" colours
STATUS_STYLE = {
    "succeeded": ("good", "good"),
    "unchanged": ("good", "good"),
    "ready": ("ready", "plain"),
    "duplicate": ("grey", "plain"),
    "invalid": ("bad", "bad"),
    "failed": ("bad", "bad"),
    "not_attempted": ("warn", "warn"),
}
_NUM_FMTS = {"date": (164, "yyyy-mm-dd"), "datetime": (165, "yyyy-mm-dd hh:mm:ss")}
#: cell kinds; each has a plain style and a marked one (the "bad" fill)
KINDS = ("text", "quoted", "number", "date", "datetime", "bool")


@dataclass(frozen=True, slots=True)
class _Xf:
    num_fmt: int = 0
    font: str = "plain"
    fill: str | None = None
    quote: bool = False


def _styles() -> tuple[list[_Xf], dict[object, int]]:
    """Every cell format, and its index by key: (kind, marked), "header", ("status", name)."""
    xfs = [_Xf()]
    index: dict[object, int] = {}
    for kind in KINDS:
        fmt = _NUM_FMTS[kind][0] if kind in _NUM_FMTS else 0
        for marked in (False, True):
            xf = _Xf(fmt, "plain", "bad" if marked else None, kind == "quoted")
            if xf not in xfs:
                xfs.append(xf)
            index[(kind, marked)] = xfs.index(xf)
    xfs.append(_Xf(0, "bold", "header"))
    index["header"] = len(xfs) - 1
    for status, (fill, font) in STATUS_STYLE.items():
        xfs.append(_Xf(0, font, fill))
        index[("status", status)] = len(xfs) - 1
    return xfs, index


_XFS, STYLE = _styles()


def _styles_xml() -> str:
    fills = list(_FILLS)
    fonts = list(_FONTS)
    fmts = "".join(f'<numFmt numFmtId="{i}" formatCode="{c}"/>' for i, c in _NUM_FMTS.values())
    font_xml = "".join(
        "<font>"
        + ("<b/>" if bold else "")
        + '<sz val="11"/>'
        + (f'<color rgb="{colour}"/>' if colour else "")
        + '<name val="Calibri"/><family val="2"/></font>'
        for bold, colour in _FONTS.values()
    )
    fill_xml = '<fill><patternFill patternType="none"/></fill>'
    fill_xml += '<fill><patternFill patternType="gray125"/></fill>'  # the two every file has
    fill_xml += "".join(
        f'<fill><patternFill patternType="solid"><fgColor rgb="{_FILLS[f]}"/>'
        '<bgColor indexed="64"/></patternFill></fill>'
        for f in fills
    )
    xf_xml = ""
    for xf in _XFS:
        fill = fills.index(xf.fill) + 2 if xf.fill else 0
        attrs = f'numFmtId="{xf.num_fmt}" fontId="{fonts.index(xf.font)}" fillId="{fill}"'
        attrs += ' borderId="0" xfId="0"'
        attrs += ' applyNumberFormat="1"' if xf.num_fmt else ""
        attrs += ' applyFont="1"' if xf.font != "plain" else ""
        attrs += ' applyFill="1"' if fill else ""
        attrs += ' quotePrefix="1"' if xf.quote else ""
        xf_xml += f"<xf {attrs}/>"
    return (
        f'{HEAD}<styleSheet xmlns="{NS}">'
        f'<numFmts count="{len(_NUM_FMTS)}">{fmts}</numFmts>'
        f'<fonts count="{len(fonts)}">{font_xml}</fonts>'
        f'<fills count="{len(fills) + 2}">{fill_xml}</fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
        "</cellStyleXfs>"
        f'<cellXfs count="{len(_XFS)}">{xf_xml}</cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    )


# -------------------------------------------------------------------------------- text


def column_letter(index: int) -> str:
    """``0`` -> ``A``, ``26`` -> ``AA``."""
    out = ""
    n = index + 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def escape(text: str) -> str:
    """``text`` as the content of an element or a double-quoted attribute."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = text.replace('"', "&quot;")
    if "_x" in text:
        text = re.sub(EXCEL_ESCAPE, r"_x005F_\1", text)
    for ch in SPECIAL_CHARS:
        if ch in text:
            text = text.replace(ch, f"_x{ord(ch):04X}_")
    return text


def text_cell(ref: str, text: str, style: int = 0) -> str:
    """One text cell (``ref`` like ``B3``), built in Python: headers and the Summary sheet."""
    s = f' s="{style}"' if style else ""
    return f'<c r="{ref}"{s} t="inlineStr"><is><t xml:space="preserve">{escape(text)}</t></is></c>'


# -------------------------------------------------------------------------------- parts


def package(names: Sequence[str], comments: bool) -> dict[str, str]:
    """The workbook's fixed parts for sheets ``names`` (the first may have comments)."""
    n = len(names)
    sheets = "".join(
        f'<sheet name="{escape(name)}" sheetId="{i}" r:id="rId{i}"/>'
        for i, name in enumerate(names, 1)
    )
    sheet_rels = "".join(
        f'<Relationship Id="rId{i}" Type="{REL_NS}/worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, n + 1)
    )
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
        f'ContentType="{_SHEET_TYPE}.worksheet+xml"/>'
        for i in range(1, n + 1)
    )
    if comments:
        overrides += (
            f'<Override PartName="/xl/comments1.xml" ContentType="{_SHEET_TYPE}.comments+xml"/>'
        )
    shared = f"{_SHEET_TYPE}.sharedStrings+xml"
    overrides += f'<Override PartName="/xl/sharedStrings.xml" ContentType="{shared}"/>'
    parts = {
        "[Content_Types].xml": (
            f'{HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Default Extension="vml" '
            'ContentType="application/vnd.openxmlformats-officedocument.vmlDrawing"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_SHEET_TYPE}.sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{_SHEET_TYPE}.styles+xml"/>'
            f"{overrides}</Types>"
        ),
        "_rels/.rels": (
            f'{HEAD}<Relationships xmlns="{_PKG_REL}">'
            f'<Relationship Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            f'{HEAD}<workbook xmlns="{NS}" xmlns:r="{REL_NS}">'
            '<bookViews><workbookView activeTab="0"/></bookViews>'
            f"<sheets>{sheets}</sheets></workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            f'{HEAD}<Relationships xmlns="{_PKG_REL}">{sheet_rels}'
            f'<Relationship Id="rId{n + 1}" Type="{REL_NS}/styles" Target="styles.xml"/>'
            f'<Relationship Id="rId{n + 2}" Type="{REL_NS}/sharedStrings" '
            'Target="sharedStrings.xml"/></Relationships>'
        ),
        "xl/styles.xml": _styles_xml(),
    }
    if comments:
        parts["xl/worksheets/_rels/sheet1.xml.rels"] = (
            f'{HEAD}<Relationships xmlns="{_PKG_REL}">'
            f'<Relationship Id="rId1" Type="{REL_NS}/comments" Target="../comments1.xml"/>'
            f'<Relationship Id="rId2" Type="{REL_NS}/vmlDrawing" '
            'Target="../drawings/vmlDrawing1.vml"/></Relationships>'
        )
    return parts


#: the legacyDrawing element a sheet with comments ends with (rId2 in its relationships)
LEGACY_DRAWING = '<legacyDrawing r:id="rId2"/>'


def comments_xml(body: str) -> str:
    """The comments part around ``body`` (``<comment>`` elements, author 0)."""
    return (
        f'{HEAD}<comments xmlns="{NS}"><authors><author>syncer</author></authors>'
        f"<commentList>{body}</commentList></comments>"
    )


#: one comment: its cell reference and text (already escaped)
COMMENT = (
    '<comment ref="{}" authorId="0"><text><r><t xml:space="preserve">{}</t></r></text></comment>'
)
#: one note's shape in the VML drawing: its id, then the cell's 0-based row and column
#: (the shape openpyxl writes)
SHAPE = (
    '<v:shape id="_x0000_s{}" type="#_x0000_t202" style="position:absolute;margin-left:59.25pt;'
    'margin-top:1.5pt;width:216pt;height:72pt;z-index:1;visibility:hidden" fillcolor="#ffffe1" '
    'o:insetmode="auto"><v:fill color2="#ffffe1"/><v:shadow color="black" obscured="t"/>'
    '<v:path o:connecttype="none"/><v:textbox style="mso-direction-alt:auto">'
    '<div style="text-align:left"></div></v:textbox><x:ClientData ObjectType="Note">'
    "<x:MoveWithCells/><x:SizeWithCells/><x:AutoFill>False</x:AutoFill><x:Row>{}</x:Row>"
    "<x:Column>{}</x:Column></x:ClientData></v:shape>"
)
#: the first shape id (as openpyxl numbers them)
FIRST_SHAPE = 1026


def vml_drawing(shapes: str) -> str:
    """The VML drawing Excel needs to show the comments (one :data:`SHAPE` each)."""
    return (
        '<xml xmlns:v="urn:schemas-microsoft-com:vml" '
        'xmlns:o="urn:schemas-microsoft-com:office:office" '
        'xmlns:x="urn:schemas-microsoft-com:office:excel">'
        '<o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="1"/></o:shapelayout>'
        '<v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202" '
        'path="m,l,21600r21600,l21600,xe"><v:stroke joinstyle="miter"/>'
        '<v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>'
        f"{shapes}</xml>"
    )


def shared_strings(values: Sequence[str]) -> str:
    """The shared strings part (cells of ``t="s"`` point into it by position)."""
    items = "".join(f'<si><t xml:space="preserve">{escape(v)}</t></si>' for v in values)
    n = len(values)
    return f'{HEAD}<sst xmlns="{NS}" count="{n}" uniqueCount="{n}">{items}</sst>'


def summary_xml(rows: Sequence[tuple[str, object]]) -> str:
    """A two-column sheet of ``(label, value)`` rows (numbers as numbers); a label with no
    value is a heading (bold)."""
    body = ""
    for i, (label, value) in enumerate(rows, 1):
        heading = value is None or value == ""
        cells = text_cell(f"A{i}", label, STYLE["header"] if heading else 0)
        if isinstance(value, int | float) and not isinstance(value, bool):
            cells += f'<c r="B{i}"><v>{value}</v></c>'
        elif not heading:
            cells += text_cell(f"B{i}", str(value))
        body += f'<row r="{i}">{cells}</row>'
    return (
        f'{HEAD}<worksheet xmlns="{NS}" xmlns:r="{REL_NS}">'
        '<cols><col min="1" max="1" width="32" customWidth="1"/>'
        '<col min="2" max="2" width="60" customWidth="1"/></cols>'
        f"<sheetData>{body}</sheetData></worksheet>"
    )


def sheet_head(columns: Sequence[str], rows: int, widths: Sequence[float]) -> str:
    """A data sheet up to its first data row: the dimension, the frozen header row, the
    column widths and the header cells (bold, grey)."""
    last = f"{column_letter(max(len(columns), 1) - 1)}{rows + 1}"
    cols = "".join(
        f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>' for i, w in enumerate(widths, 1)
    )
    header = "".join(
        text_cell(f"{column_letter(j)}1", name, STYLE["header"]) for j, name in enumerate(columns)
    )
    return (
        f'{HEAD}<worksheet xmlns="{NS}" xmlns:r="{REL_NS}">'
        f'<dimension ref="A1:{last}"/>'
        '<sheetViews><sheetView workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
        "</sheetView></sheetViews>"
        '<sheetFormatPr defaultRowHeight="15"/>'
        + (f"<cols>{cols}</cols>" if cols else "")
        + f'<sheetData><row r="1">{header}</row>\n'
    )


def sheet_tail(comments: bool) -> str:
    """A data sheet after its last row."""
    tail = '</sheetData><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" '
    tail += 'header="0.3" footer="0.3"/>'
    return tail + (LEGACY_DRAWING if comments else "") + "</worksheet>"
