"""`synth demo`: the whole pipeline on the bundled sample, offline."""

COMMANDS = []
