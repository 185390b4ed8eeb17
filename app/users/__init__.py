"""Profiles, preferences, avatars, and admin user management."""
