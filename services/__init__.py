"""Domain services: rules over the database, called by conversations and the CLI; raise domain errors."""
