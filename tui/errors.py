"""The one error a user action on a run raises: a launch, stop, kill or resume that could not be done.

Every backend and the process helpers raise it with a one-line reason; the screens show that line.
"""


class LaunchError(Exception):
    """A launch, stop, kill or resume that could not be done, with a one-line reason."""
