"""Availability, slots, bookings, session lifecycle, policies and reminders."""
