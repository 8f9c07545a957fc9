"""torchx-tui: a keyboard-driven manager for torchx runs.

Importing this package is cheap: it pulls in neither torch, lightning nor Textual. The app itself lives in
`tui.app`; the logic it drives (`runs`, `launcher`, `gpus`, `configs`) is plain Python.
"""
