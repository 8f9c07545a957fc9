"""Looking back over finished runs: `diff` (two runs' configs, code snapshots and git state), `compare`
(several runs' metrics side by side) and `tidy` (sizes, the trash, delete, prune, undo). The filter's
run facts are in `tui.run.files`. Torch- and Textual-free."""
