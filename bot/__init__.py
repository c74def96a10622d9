"""The bot: configuration, database, persistence, i18n glue, application factory and CLI."""
