"""Handlers: the per-model contract between HTTP and graphs (validate -> batch predict -> respond)."""
