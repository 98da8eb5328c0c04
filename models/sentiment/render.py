"""An SVG drawing of a labelled tree: one coloured circle per node (red negative, grey neutral, green
positive, darker = stronger), its class inside, the words along the bottom."""

from __future__ import annotations

from html import escape

from models.sentiment.trees import Tree

COLORS = ("#b03a2e", "#e59866", "#d5d8dc", "#82e0aa", "#1e8449")
DX, DY, R = 46, 44, 12


def tree_svg(tree: Tree, labels: list[int]) -> str:
    """labels: per node in post-order (Tree.nodes())."""
    nodes = tree.nodes()
    label_of = {id(n): lab for n, lab in zip(nodes, labels, strict=True)}
    pos: dict[int, tuple[float, float]] = {}
    depth = {id(tree): 0}
    for n in reversed(nodes):  # parents before children: depths top-down
        for ch in n.children:
            depth[id(ch)] = depth[id(n)] + 1
    leaf_x = 0
    for n in nodes:  # post-order: leaves left to right, parents after their children
        if n.is_leaf:
            x, leaf_x = DX / 2 + leaf_x * DX, leaf_x + 1
        else:
            x = sum(pos[id(ch)][0] for ch in n.children) / len(n.children)
        pos[id(n)] = (x, R + 8 + depth[id(n)] * DY)
    width, bottom = leaf_x * DX, max(y for _, y in pos.values())
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{bottom + 40:.0f}" '
             f'font-family="sans-serif" font-size="11" text-anchor="middle">']  # fmt: skip
    for n in nodes:
        x, y = pos[id(n)]
        parts += [f'<line x1="{x:.1f}" y1="{y:.1f}" x2="{pos[id(ch)][0]:.1f}" y2="{pos[id(ch)][1]:.1f}" stroke="#888"/>'
                  for ch in n.children]  # fmt: skip
    for n in nodes:
        x, y = pos[id(n)]
        lab = label_of[id(n)]
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{R}" fill="{COLORS[lab]}" stroke="#444"/>'
                     f'<text x="{x:.1f}" y="{y + 4:.1f}">{lab}</text>')  # fmt: skip
        if n.is_leaf:
            parts.append(f'<text x="{x:.1f}" y="{y + R + 14:.1f}">{escape(n.word or "")}</text>')
    parts.append("</svg>")
    return "".join(parts)
