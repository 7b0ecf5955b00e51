"""coder: a local-first terminal coding assistant on llama.cpp."""

__version__ = "0.1.0"
