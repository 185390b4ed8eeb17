"""Downloads of stored files through signed, expiring URLs."""
