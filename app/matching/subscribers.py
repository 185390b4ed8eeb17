"""Matching's reactions: committed new weights clear this process's weights cache."""
from app.matching import services


def forget_cached_weights(**_change):
    services.clear_weights_cache()


def register(bus):
    bus.subscribe("matching.weights_changed", forget_cached_weights)
