"""`synth report`: the self-contained HTML evidence report."""

COMMANDS = []
