"""`synth import`: database export files (RIS, MEDLINE, BibTeX, CSV, JSONL)."""

COMMANDS = []
