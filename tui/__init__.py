"""torchx-tui: a keyboard-driven manager for torchx runs.

Importing this package is cheap: it pulls in neither torch, lightning nor Textual. The app lives in
`tui.app` with `screens/` and `widgets/`; the logic it drives is plain Python, grouped by what it does:
`run/` (one run: status, processes, files), `table/` (the runs table's scan), `launch/`, `live/` (the
run view's data), `history/` (diff, compare, tidy), `system/` (GPUs), and `text` (every rendering).
"""
