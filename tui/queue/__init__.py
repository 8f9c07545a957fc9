"""Many runs, few devices: the save dir's queue of runs waiting for their devices. `store` (a queued run is
a reserved run directory whose `run.json` holds the request: queue, list, move, remove, pause), `devices`
(which devices are free, and the pure rule that hands them to queued runs in order), `runner` (the one
detached process per save dir, behind a lock file, that launches queued runs as devices free), `cli`
(`torchx-tui queue`) and `sweeps` (trials of one config chosen by Optuna, asked and told by the runner,
each run through the queue; `torchx-tui sweep`). Everything is on disk, so a killed runner loses
nothing. Torch- and Textual-free; Optuna is loaded by the sweeps' driver and commands only."""
