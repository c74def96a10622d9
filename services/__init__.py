"""Domain services: the rules over the database that conversations and the CLI call."""
