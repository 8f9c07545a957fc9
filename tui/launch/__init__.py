"""Starting runs: `request` (what a launch asks for, reserving the directory, `run.json`), the two
backends `local` (a detached process group) and `slurm` (sbatch, squeue, scancel), `backends` (the
dispatch by `run.json`: launch, resume, stop/kill handles), `checks` (the launch dialog's config
validation) and `fork` (the dialog prefilled from a run). Torch- and Textual-free."""
