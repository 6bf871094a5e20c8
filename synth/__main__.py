"""`python -m synth …`: the same CLI as the `synth` script (for environments without the script on PATH)."""

from synth.cli import main

main()
