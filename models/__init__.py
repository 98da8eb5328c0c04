"""Models trained, evaluated and exported by seq2serve, one package per task."""
