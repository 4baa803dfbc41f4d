"""Results and failures workbooks (.xlsx), written as SpreadsheetML by polars expressions.

- :mod:`.sheet`: :class:`Sheet` and :func:`write_workbook` (the data sheet, a chunk of rows at
  a time)
- :mod:`.parts`: styles, relationships, comments, the Summary sheet
- :mod:`.zipstream`: the zip container, deflated with ISA-L
"""

from syncer.xlsx.sheet import MAX_ROWS, Sheet, TooLarge, write_workbook

__all__ = ["MAX_ROWS", "Sheet", "TooLarge", "write_workbook"]
