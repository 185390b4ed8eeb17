"""Outbox of outbound messages (email, SMS) and their delivery channels."""
