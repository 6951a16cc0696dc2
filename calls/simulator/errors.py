"""Errors the simulator reports to its clients as 4xx with a reason."""


class SimulatorError(ValueError):
    """Bad input or an action that makes no sense now: HTTP 400 with this message."""

    status = 400


class NotFound(SimulatorError):
    status = 404
