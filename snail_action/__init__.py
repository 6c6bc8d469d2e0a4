"""snail-images-action: the client half (planning, checks, sync) and the embedded backend."""

__version__ = "0.1.0"
