"""Private conversations, messages, attachments, blocking and their Socket.IO events."""
