"""Calendar feeds (ICS); Google/Outlook sync lands here later."""
