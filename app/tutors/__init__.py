"""Tutor profiles, subjects, credential documents and tutor search."""
