"""`synth screen`: include/exclude decisions."""

COMMANDS = []
