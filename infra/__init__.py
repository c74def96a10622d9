"""Infrastructure below the rules: settings, database, models and migrations, i18n, the inbox, locks and outage handling."""
