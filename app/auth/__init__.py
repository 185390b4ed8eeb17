"""Signup, login, refresh, logout, MFA, email confirmation, password reset."""
