"""Sweeps: many runs of one config over a space of overrides, chosen by Optuna and run by the queue.

`space` (parse `key=1e-3,3e-4`, `key=loguniform(1e-5,1e-2)`, `key=uniform(a,b)`, `key=int(a,b)`; the
grid and the points a launch check must see), `spec` (`save/.sweeps/<sweep>/sweep.json`: what the sweep
wants; which runs are its trials), `trials` (the pure rule that says what to do with one trial given its
run), `study` (Optuna: the journal, the samplers, the pruner, ask and tell), `driver` (the runner's part:
ask when a device frees, report each epoch, prune, tell) and `cli` (`torchx-tui sweep …`).

Optuna is imported only by `study`, `driver` and the commands that need it: `space` and `spec` stay
Optuna-free, so the TUI and the queue can list sweeps without paying for it. Torch- and Textual-free.
"""
