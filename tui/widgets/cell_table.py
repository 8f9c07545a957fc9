"""A DataTable whose `update_cell` repaints only that cell.

Textual's `update_cell` repaints the whole table: over SSH a table of live runs rewrote every row
each time one number changed. Here a cell's new value repaints its own region; `update_width=True`
(the column may have to grow) takes Textual's path.
"""

from __future__ import annotations

from typing import TypeVar

from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets._data_table import CellDoesNotExist, ColumnKey, RowKey

CellType = TypeVar("CellType")


def repaint_cell(table: DataTable[CellType], row_key: RowKey | str, column_key: ColumnKey | str,
                 value: CellType) -> None:
    """`table.update_cell(...)` (`update_width=False`) that repaints only the cell's region."""
    row_key = RowKey(row_key) if isinstance(row_key, str) else row_key
    column_key = ColumnKey(column_key) if isinstance(column_key, str) else column_key
    row, column = table._row_locations.get(row_key), table._column_locations.get(column_key)
    if row is None or column is None:
        raise CellDoesNotExist(f"No cell exists for row_key={row_key!r}, column_key={column_key!r}.")
    table._data[row_key][column_key] = value
    table._update_count += 1  # the rendered-line caches are keyed by it
    table.refresh_coordinate(Coordinate(row, column))


class CellTable(DataTable[CellType]):
    def update_cell(self, row_key: RowKey | str, column_key: ColumnKey | str, value: CellType, *,
                    update_width: bool = False) -> None:
        if update_width:
            super().update_cell(row_key, column_key, value, update_width=True)
        else:
            repaint_cell(self, row_key, column_key, value)
