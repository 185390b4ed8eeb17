"""Calendar feeds (ICS) and calendar sync: Google (and Outlook) connections, sessions pushed out, busy time pulled in."""
