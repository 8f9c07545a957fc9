"""The runs table: one row per directory of the save dir, updated cell by cell from scan results."""

from __future__ import annotations

from collections.abc import Callable

from rich.markup import escape
from textual import __version__ as textual_version
from textual.geometry import Size
from textual.widgets import DataTable
from textual.widgets._data_table import Row, RowKey

from tui.runs import ACTIVE, COLUMN_WIDTHS, COLUMNS, NAME_WIDTH, RunRow, clip, row_cells

STATUS_STYLES = {
    "starting": "green", "running": "bold green", "finished": "cyan", "failed": "bold red",
    "stopped": "yellow", "lost": "bold magenta", "pending": "blue", "cancelled": "dark_orange",
    "empty": "dim",
    "not a run": "dim", "damaged": "red",
}
STATUS_COLUMN = COLUMNS.index("status")
_FAST_ADD = textual_version.split(".")[0] == "8"
CLOCK_COLUMNS = tuple(COLUMNS.index(c) for c in ("ETA", "time"))
MARK = "●"


class NameCell(str):
    """The name column's cell: shows the (possibly clipped) name, sorts by the full one."""

    run_name: str

    def __new__(cls, text: str, run_name: str) -> NameCell:
        cell = super().__new__(cls, text)
        cell.run_name = run_name
        return cell


class RunsTable(DataTable[str]):
    """Keeps the last `RunRow` per name so a scan result repaints only what changed."""

    def __init__(self, clock: Callable[[], float], **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)  # type: ignore[arg-type]
        self.clock = clock
        self.runs: dict[str, RunRow] = {}
        self._cells: dict[str, tuple[str, ...]] = {}
        self.marked: dict[str, None] = {}
        """Names marked with `space` (for diff and compare), in the order they were marked."""

    def on_mount(self) -> None:
        for column, width in zip(COLUMNS, COLUMN_WIDTHS, strict=True):
            self.add_column(column, key=column, width=width)

    @property
    def selected_name(self) -> str | None:
        if not self.row_count:
            return None
        try:
            return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)
        except Exception:
            return None

    def apply(self, changed: list[RunRow], removed: list[str]) -> None:
        """Add, update and remove rows; re-sort only when a row was added."""
        now, selected, added, was_empty = self.clock(), self.selected_name, [], not self.runs
        for name in removed:
            if self.runs.pop(name, None) is not None:
                self._cells.pop(name, None)
                self.marked.pop(name, None)
                self.remove_row(name)
        for row in changed:
            cells = row_cells(row, now)
            if row.name in self.runs:
                self._update(row, cells)
            else:
                added.append(row)
                self._cells[row.name] = cells
            self.runs[row.name] = row
        if added:
            added.sort(key=lambda r: r.sort_key)
            self._add_rows([(r.name, self._styled(r, self._cells[r.name])) for r in added])
            if not was_empty:  # rows added to an empty table are in order already
                self.sort("name", key=lambda cell: self.runs[cell.run_name].sort_key)
            self._restore(selected)

    def tick(self) -> None:
        """Repaint the clock-dependent cells (ETA, time) of active rows."""
        now = self.clock()
        for row in self.runs.values():
            if row.status in ACTIVE:
                self._update(row, row_cells(row, now))

    def toggle_mark(self, name: str) -> None:
        if name in self.marked:
            del self.marked[name]
        else:
            self.marked[name] = None
        self._repaint_name(name)

    def clear_marks(self) -> None:
        names, self.marked = list(self.marked), {}
        for name in names:
            self._repaint_name(name)

    def _repaint_name(self, name: str) -> None:
        row, cells = self.runs.get(name), self._cells.get(name)
        if row is not None and cells is not None:
            self.update_cell(name, "name", self._styled(row, cells)[0])

    def _update(self, row: RunRow, cells: tuple[str, ...]) -> None:
        old = self._cells.get(row.name)
        self._cells[row.name] = cells
        styled = self._styled(row, cells)
        for i, column in enumerate(COLUMNS):
            if old is None or old[i] != cells[i]:
                self.update_cell(row.name, column, styled[i])

    def _styled(self, row: RunRow, cells: tuple[str, ...]) -> tuple[str, ...]:
        """Escaped markup strings: the table turns them into Text only for the rows on screen, and a
        directory called `[x]` shows as such."""
        styled = [escape(cell) if "[" in cell else cell for cell in cells]  # escape: 0.1 s per 10,000 rows
        style = STATUS_STYLES.get(row.status)
        if style:
            styled[STATUS_COLUMN] = f"[{style}]{styled[STATUS_COLUMN]}[/]"
        if row.name in self.marked:  # the symbol keeps a mark visible without colour (NO_COLOR)
            styled[0] = f"[bold yellow]{MARK}[/] {escape(clip(row.name, NAME_WIDTH - 2, middle=True))}"
        styled[0] = NameCell(styled[0], row.name)
        return tuple(styled)

    def _add_rows(self, rows: list[tuple[str, tuple[str, ...]]]) -> None:
        """`add_row` for many rows with its per-row bookkeeping done once: its reactive cursor update
        per row is most of the time a 10,000-row fill takes. The names are new (checked by `apply`).

        Written against Textual 8's DataTable internals; other versions take the public path.
        """
        if not _FAST_ADD:
            for name, cells in rows:
                self.add_row(*cells, key=name)
            return
        keys = [column.key for column in self.ordered_columns]
        first = not self.rows
        for name, cells in rows:
            row_key = RowKey(name)
            self._row_locations[row_key] = len(self.rows)
            self._data[row_key] = dict(zip(keys, cells, strict=True))
            self.rows[row_key] = Row(row_key, 1, None, False)
            self._new_rows.add(row_key)
        self._require_update_dimensions = True
        self.cursor_coordinate = self.cursor_coordinate
        if first and rows and self.show_cursor and self.cursor_type != "none":
            self._highlight_cursor()
        self._update_count += 1
        self.check_idle()

    def _update_dimensions(self, new_rows: object) -> None:
        """Every column has a fixed width and every row one line, so nothing needs measuring.

        DataTable measures each cell of each new row here, which takes seconds for 10,000 runs; this
        sets the virtual size it would have computed. Falls back to Textual's own if its internals move.
        """
        try:
            width = sum(c.get_render_width(self) for c in self.columns.values())
            header = self.header_height if self.show_header else 0
            size = Size(width + self._row_label_column_width, self._total_row_height + header)
        except AttributeError:
            super()._update_dimensions(new_rows)  # type: ignore[arg-type]
            return
        self.virtual_size = size

    def _restore(self, name: str | None) -> None:
        if name is not None and name in self.runs:
            self.move_cursor(row=self.get_row_index(name))
        elif self.row_count:
            self.move_cursor(row=0)
