"""HTTP routes: one module per task, plus system routes (health, readiness, models, metrics)."""
