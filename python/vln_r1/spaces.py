"""The observation space of one environment: RGB, optional depth, and the instruction as text."""

import numpy as np
from gymnasium import spaces


def observation_space(episodes, width, height, depth):
    """``Dict(rgb, [depth,] instruction)``. The instruction's character set and length cover every
    instruction of the loaded split, so every observation lies in the space."""
    texts = [instruction for _, instruction in episodes]
    charset = "".join(sorted({c for t in texts for c in t})) or " "
    longest = max((len(t) for t in texts), default=1)
    parts = {
        "rgb": spaces.Box(0, 255, (height, width, 3), np.uint8),
        "instruction": spaces.Text(max_length=max(longest, 1), min_length=0, charset=charset),
    }
    if depth:
        parts["depth"] = spaces.Box(0.0, np.inf, (height, width, 1), np.float32)
    return spaces.Dict(parts)


def as_path(p):
    return None if p is None else str(p)
