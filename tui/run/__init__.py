"""One run as its directory and the machine show it: its status (`status`, the only place a status is
decided), its processes (`processes`: find, signal, wait, sample) and every file of its directory but
the event log (`files`: run.json, config.yaml, ckpt/, src/, meta.yaml). Every other package reads a run
through these. Torch- and Textual-free."""
