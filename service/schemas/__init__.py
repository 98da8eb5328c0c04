"""Schemas every endpoint shares (errors, health, the model list, uploads) and the KServe v2 bodies.

Each task keeps its own request and response schemas in models/<task>/schemas.py."""
