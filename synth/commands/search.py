"""`synth search`, `synth show`, `synth similar`."""

COMMANDS = []
