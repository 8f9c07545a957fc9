"""The machine: GPU readings through NVML with a CPU/RAM fallback (`gpus`) and their short history for
sparklines (`gpu_history`). A run's own processes are `tui.run.processes`. Torch- and Textual-free."""
