"""Outgoing webhooks: integrators register a URL and the events they want; signed deliveries, retried by RQ."""
