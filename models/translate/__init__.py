"""German->English attention seq2seq with a copy mechanism (Multi30k task 1).

`vocab` and `search` are numpy-only so that the server can import them without torch.
"""
