"""The serving engine: runtimes run graphs, batchers group requests, the registry holds models."""
