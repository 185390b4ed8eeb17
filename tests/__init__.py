"""Tests: a developer's .env never leaks into them (config reads it on import unless TUTORHUB_DOTENV=0)."""
import os

os.environ.setdefault("TUTORHUB_DOTENV", "0")
