"""Errors the user caused: each carries one line that names the file, key or value at fault.

The entries print `error: <message>` and exit with status 2 on these, never a traceback.
"""

from __future__ import annotations

USAGE_EXIT = 2


class UserError(Exception):
    """Bad input: a config, an override, a name, a missing dataset."""
