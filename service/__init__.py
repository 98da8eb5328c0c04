"""seq2serve: a REST inference service for attention-based sequence models."""

__version__ = "0.1.0"
