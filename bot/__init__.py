"""The application: app factory, runner, jobs, CLI and demo (the top layer)."""
