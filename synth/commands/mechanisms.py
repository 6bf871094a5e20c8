"""`synth theory`, `synth mechanisms`, `synth evidence`, `synth code`."""

COMMANDS = []
