"""A draft: the document of a workbook still being filled, with 〔待填写〕 where values are missing.

Every value the model refused gets a stand-in the model accepts, so the document can be
validated and rendered; the context then shows 〔待填写〕 at those places and in whatever
is derived from them. A draft never takes an issued file name and never passes verify.
"""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

from opsdoc.contract.conventions import Conventions
from opsdoc.contract.model import SHEET_BY_TITLE, ColumnSpec, Document
from opsdoc.contract.vocabulary import PENDING
from opsdoc.generate.context import Context, build_context
from opsdoc.workbook.reader import Workbook


def _stand_in(column: ColumnSpec) -> Any:
    """A value the model accepts in place of a missing or unreadable one; never printed."""
    if column.choices:
        return column.choices[0]
    return {"date": date(1900, 1, 1), "number": 1}.get(column.kind, PENDING)


def draft(workbook: Workbook, conventions: Conventions) -> tuple[Document, Context]:
    """The document with a stand-in for every value the model refused, and its context marking them."""
    data = copy.deepcopy(workbook.data)
    pending: set[tuple[str, int | None, str]] = set()
    for loc in workbook.invalid:
        spec = SHEET_BY_TITLE[loc[0]]
        if len(loc) == 1:  # a missing sheet or a table without rows: one record of stand-ins
            record = {c.label: _stand_in(c) for c in spec.columns if c.required}
            data[spec.title] = [record] if spec.is_table else record
            pending |= {(spec.name, 0 if spec.is_table else None, c.name) for c in spec.columns if c.required}
            continue
        index = loc[1] if spec.is_table else None
        column = spec.column(loc[-1])
        target = data[spec.title][index] if spec.is_table else data.setdefault(spec.title, {})
        target[column.label] = _stand_in(column)
        pending.add((spec.name, index, column.name))
    document = Document.model_validate(data)
    return document, build_context(document, conventions, draft=True, pending=pending)
