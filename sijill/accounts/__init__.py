"""Staff accounts: roles, administrative areas, login throttling."""
