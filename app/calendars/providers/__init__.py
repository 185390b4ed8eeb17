"""Calendar providers behind one interface (``base``): Google Calendar and Microsoft Graph (Outlook)."""
