"""synth: living evidence for realist reviews of youth peer support in mental health."""

__version__ = "0.1.0"
