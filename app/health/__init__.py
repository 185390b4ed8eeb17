"""Liveness and dependency status."""
