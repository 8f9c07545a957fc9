"""Following one run live for the run view: `watch` (the view's worker: status, checkpoints, logs,
processes, one snapshot per change), `loader` (events read by byte offset, a long log backfilled from a
sample), `data` (the folded metrics and progress), `series` (bounded metric series) and `logtail`
(log files tailed with a bounded buffer). Torch- and Textual-free."""
