"""Planar convex hull by a pointer network (Vinyals et al. 2015).

`geometry` and `search` are numpy-only so that the server can import them without torch.
"""
