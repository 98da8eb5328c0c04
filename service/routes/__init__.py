"""HTTP routes every task shares: system routes (health, readiness, models, metrics) and the KServe v2
surface. Each task's own route is in models/<task>/route.py."""
