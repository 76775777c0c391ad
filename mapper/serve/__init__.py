"""`mapper serve`: live webhook intake — verify, store durably in an inbox, map through sync."""
