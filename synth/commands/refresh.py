"""`synth refresh`, `synth status`, `synth new`, `synth quarantine`."""

COMMANDS = []
