"""`synth index` and `synth check`: embeddings in Chroma, kept in step with the store."""

COMMANDS = []
