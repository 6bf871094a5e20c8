"""`synth table`: CMOC review tables."""

COMMANDS = []
