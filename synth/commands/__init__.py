"""CLI commands, one module per concern; each exports COMMANDS (a list of click commands)."""
