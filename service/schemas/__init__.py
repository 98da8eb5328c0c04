"""Request and response models, named by role (HullRequest / HullResponse), one module per task."""
