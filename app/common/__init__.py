"""Plumbing shared by every domain: errors, auth, pagination, time, money, storage."""
