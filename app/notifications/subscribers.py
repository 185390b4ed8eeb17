"""Notifications' reactions to other domains' events."""


def register(bus):
    """Nothing yet."""
