"""What every model's training shares (checkpoint files, where the data is), and `python -m models.training
<task>`: a task's training recipe as the task registry lists it. Torch lives here and in each task's own
`training` package; the server imports neither (tests/unit/test_layers.py)."""
