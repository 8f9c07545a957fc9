"""The runs table's data: `scanner` follows every run directory of a save dir (one event tailer and
summary per run, folded incrementally), `rows` is what a row shows, `row_cache` keeps settled rows
between sessions, `fold_workers` reads a large save dir's first fill in worker processes, `query` is
the filter language and the sort orders. Torch- and Textual-free: the runs screen runs it in a worker."""
