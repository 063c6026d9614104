"""Product feeds: Google Merchant Center attributes in CSV or JSON Lines, imported by upsert."""
