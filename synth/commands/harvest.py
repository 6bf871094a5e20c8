"""`synth harvest`: run the spiders (filled in by the harvest work)."""

COMMANDS = []
