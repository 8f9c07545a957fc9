"""The runs table: one row per directory of the save dir, updated cell by cell from scan results, showing
the rows that match the filter in the chosen order (`tui.table.query`)."""

from __future__ import annotations

import functools
from collections.abc import Callable

from rich.markup import escape
from textual._two_way_dict import TwoWayDict
from textual.binding import Binding
from textual.events import Resize
from textual.geometry import Size
from textual.widgets import DataTable
from textual.widgets._data_table import ColumnKey, Row, RowKey

from tui.run.status import ACTIVE, IN_QUEUE
from tui.table.query import SORT_KEYS, Order, Query, sort_rows
from tui.table.rows import RunRow
from tui.text import COLUMN_WIDTHS, COLUMNS, NAME_WIDTH, STATUS_STYLES, name_text, row_cells
from tui.widgets.cell_table import repaint_cell

STATUS_COLUMN = COLUMNS.index("status")
MARK = "●"


@functools.cache
def _fast_add() -> bool:
    """Whether this Textual is the major version `_add_rows` and `_clear_rows` were written against;
    asked on first use, since `textual.__version__` imports importlib.metadata (~13 ms of start-up)."""
    from textual import __version__

    return __version__.split(".")[0] == "8"


class NameCell(str):
    """The name column's cell: shows the (possibly clipped) name, sorts by the full one."""

    run_name: str

    def __new__(cls, text: str, run_name: str) -> NameCell:
        cell = super().__new__(cls, text)
        cell.run_name = run_name
        return cell


class RunsTable(DataTable[str]):
    """Keeps the last `RunRow` per name (shown or filtered out) so a scan result repaints only what
    changed. `home`/`end` go to the first/last run (DataTable's scroll sideways)."""

    BINDINGS = [Binding("home", "scroll_top", "First", show=False),
                Binding("end", "scroll_bottom", "Last", show=False)]

    def __init__(self, clock: Callable[[], float], **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)  # type: ignore[arg-type]
        self.clock = clock
        self.runs: dict[str, RunRow] = {}
        self.run_filter = Query("")
        self.order = Order()
        self.shown: set[str] = set()
        self._cells: dict[str, tuple[str, ...]] = {}
        self.marked: dict[str, None] = {}
        """Names marked with `space` (for diff and compare), in the order they were marked."""
        self._entries: dict[str, tuple[RowKey, dict[ColumnKey, str], Row]] = {}
        """DataTable's own records of each row, kept while valid: re-filtering 10,000 rows then neither
        escapes nor allocates them again (`update_cell` edits the shown rows' dicts in place)."""
        self._height = 0

    def on_mount(self) -> None:
        for column, width in zip(COLUMNS, COLUMN_WIDTHS, strict=True):
            self.add_column(column, key=column, width=width)

    def on_resize(self, event: Resize) -> None:
        """Keep the selected row in view when the table gets shorter (the screen's detail line appears
        under it, the terminal shrinks); a Resize that only changes the virtual size is none of that."""
        height, self._height = self._height, event.size.height
        if event.size.height < height and self.row_count:
            self.call_after_refresh(self.move_cursor, row=self.cursor_row)

    def update_cell(self, row_key: RowKey | str, column_key: ColumnKey | str, value: str, *,
                    update_width: bool = False) -> None:
        """Repaints only the cell (Textual's repaints the whole table); every column has a fixed width."""
        if update_width or not _fast_add():
            super().update_cell(row_key, column_key, value, update_width=update_width)
        else:
            repaint_cell(self, row_key, column_key, value)

    @property
    def selected_name(self) -> str | None:
        if not self.row_count:
            return None
        try:
            return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)
        except Exception:
            return None

    def apply(self, changed: list[RunRow], removed: list[str]) -> None:
        """Add, update and remove rows; a row that starts or stops matching the filter appears or goes.
        Re-sorts when a row was added, or when a shown row moved in a sort other than the default."""
        now, selected, added, was_empty = self.clock(), self.selected_name, [], not self.shown
        resort = False
        for name in removed:
            if self.runs.pop(name, None) is not None:
                self._cells.pop(name, None)
                self.marked.pop(name, None)
                self._entries.pop(name, None)
                self._hide(name)
        for row in changed:
            cells, before = row_cells(row, now), self.runs.get(row.name)
            self.runs[row.name] = row
            if row.name in self.shown and self.run_filter.matches(row):
                self._update(row, cells)
                resort = resort or self._moved(before, row)
                continue
            self._cells[row.name] = cells
            self._entries.pop(row.name, None)
            if not self.run_filter.matches(row):
                self._hide(row.name)
            else:
                added.append(row)
        if added:
            added = sort_rows(added, self.order)
            self._add_rows(added)
            self.shown.update(r.name for r in added)
        if (added and not was_empty) or resort:  # rows added to an empty table are in order already
            self._sort()
        if added or resort:
            self._restore(selected)

    def set_view(self, query: Query, order: Order) -> None:
        """Show the rows matching `query` in `order`, keeping the selected run selected if shown."""
        selected = self.selected_name
        self.run_filter, self.order = query, order
        rows = sort_rows([r for r in self.runs.values() if query.matches(r)] if query else self.runs.values(),
                         order)
        self._clear_rows()
        self.shown = {r.name for r in rows}
        self._add_rows(rows)
        self._restore(selected)

    def tick(self) -> None:
        """Repaint the clock-dependent cells of shown rows: an active run's ETA and time, how long a
        queued one has waited."""
        now = self.clock()
        for name in self.shown:
            row = self.runs[name]
            if row.status in ACTIVE or row.status == IN_QUEUE:
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
        self._entries.pop(name, None)  # its cached cells carry the old mark
        if row is not None and cells is not None and name in self.shown:
            self.update_cell(name, "name", self._styled(row, cells)[0])

    def _hide(self, name: str) -> None:
        if name in self.shown:
            self.shown.discard(name)
            self.remove_row(name)

    def _moved(self, before: RunRow | None, row: RunRow) -> bool:
        if self.order == Order() or before is None:
            return False  # newest first: a run's start time never changes
        key = SORT_KEYS[self.order.column]
        return key(before) != key(row)

    def _sort(self) -> None:
        rank = {r.name: i for i, r in enumerate(sort_rows((self.runs[n] for n in self.shown), self.order))}
        self.sort("name", key=lambda cell: rank[cell.run_name])

    def _update(self, row: RunRow, cells: tuple[str, ...]) -> None:
        old = self._cells.get(row.name)
        self._cells[row.name] = cells
        styled = self._styled(row, cells)
        for i, column in enumerate(COLUMNS):
            if old is None or old[i] != cells[i]:
                self.update_cell(row.name, column, styled[i])

    def _entry(self, row: RunRow, columns: list[ColumnKey]) -> tuple[RowKey, dict[ColumnKey, str], Row]:
        entry = self._entries.get(row.name)
        if entry is None:
            key, cells = RowKey(row.name), self._styled(row, self._cells[row.name])
            data = dict(zip(columns, cells, strict=True))
            entry = self._entries[row.name] = (key, data, Row(key, 1, None, False))
        return entry

    def _styled(self, row: RunRow, cells: tuple[str, ...]) -> tuple[str, ...]:
        """Escaped markup strings: the table turns them into Text only for the rows on screen, and a
        directory called `[x]` shows as such."""
        styled = [escape(cell) if "[" in cell else cell for cell in cells]  # escape: 0.1 s per 10,000 rows
        style = STATUS_STYLES.get(row.status)
        if style:
            styled[STATUS_COLUMN] = f"[{style}]{styled[STATUS_COLUMN]}[/]"
        if row.name in self.marked:  # the symbol keeps a mark visible without colour (NO_COLOR)
            styled[0] = f"[bold yellow]{MARK}[/] {escape(name_text(row, NAME_WIDTH - 2))}"
        styled[0] = NameCell(styled[0], row.name)
        return tuple(styled)

    def _add_rows(self, rows: list[RunRow]) -> None:
        """`add_row` for many rows with its per-row bookkeeping done once: its reactive cursor update
        per row is most of the time a 10,000-row fill takes. The names are new (checked by `apply`).

        Written against Textual 8's DataTable internals; other versions take the public path.
        """
        if not _fast_add():
            for row in rows:
                self.add_row(*self._styled(row, self._cells[row.name]), key=row.name)
            return
        first, start = not self.rows, len(self.rows)
        columns = [c.key for c in self.ordered_columns]
        entries = [self._entry(row, columns) for row in rows]
        if first:
            self._row_locations = TwoWayDict({key: i for i, (key, _, _) in enumerate(entries)})
        else:
            for i, (key, _, _) in enumerate(entries, start):
                self._row_locations[key] = i
        self._data.update((key, data) for key, data, _ in entries)
        self.rows.update((key, row) for key, _, row in entries)
        self._new_rows.update(key for key, _, _ in entries)
        self._require_update_dimensions = True
        self.cursor_coordinate = self.cursor_coordinate
        if first and rows and self.show_cursor and self.cursor_type != "none":
            self._highlight_cursor()
        self._update_count += 1
        if first:  # in order already: what `ordered_rows` and `_y_offsets` would recompute row by row
            ordered = list(self.rows.values())
            self._ordered_row_cache[(len(ordered), self._update_count)] = ordered
            self._offset_cache[self._update_count] = [(row.key, 0) for row in ordered]
        self.check_idle()

    def _clear_rows(self) -> None:
        """`clear()` without its recomputation of every row's offset just before it drops them."""
        if not _fast_add():
            self.clear()
            return
        self._clear_caches()
        self._data, self.rows, self._row_locations = {}, {}, TwoWayDict({})
        self._new_rows.clear()
        self._require_update_dimensions = True
        self._update_count += 1
        self.refresh()

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
        if name is not None and name in self.shown:
            self.move_cursor(row=self.get_row_index(name))
        elif self.row_count:
            self.move_cursor(row=0)
