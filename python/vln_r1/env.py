"""``VlnCeEnv``: one VLN-CE environment as a Gymnasium 1.x ``Env``."""

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from . import _native
from .spaces import as_path, observation_space


class VlnCeEnv(gym.Env):
    """A VLN-CE episode replayed in the Rust simulator.

    ``dataset`` / ``scenes``: a VLN-CE dataset directory (``{split}/{split}.json.gz`` [+ ``_gt``]) and the
    directory its ``scene_id`` paths are relative to; ``None``: the shipped world (16 procedural houses,
    560 episodes). Actions are Habitat's ids: 0 STOP, 1 MOVE_FORWARD (0.25 m), 2 TURN_LEFT, 3 TURN_RIGHT.
    ``reset(options={"episode_id": ID})`` picks an episode; otherwise the env's seeded ``np_random`` does.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(
        self,
        dataset=None,
        split="val_unseen",
        scenes=None,
        agent="r2r",
        width=224,
        height=224,
        hfov=90,
        depth=False,
        max_steps=500,
        render_mode="rgb_array",
    ):
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode {render_mode!r}: only 'rgb_array' is supported")
        self._native = _native.NativeEnv(
            as_path(dataset), split, as_path(scenes), agent, int(width), int(height),
            float(hfov), bool(depth), int(max_steps),
        )
        self._episodes = self._native.episodes()
        self._index = {eid: i for i, (eid, _) in enumerate(self._episodes)}
        self.observation_space = observation_space(self._episodes, int(width), int(height), depth)
        self.action_space = spaces.Discrete(4)
        self.render_mode = render_mode
        self._depth = bool(depth)
        self._rgb = None

    @property
    def episode_ids(self):
        """The ids of the split's episodes, in dataset order."""
        return [eid for eid, _ in self._episodes]

    def _observation(self, rgb, depth, instruction):
        self._rgb = rgb
        obs = {"rgb": rgb, "instruction": instruction}
        if self._depth:
            obs["depth"] = depth
        return obs

    def _pick(self, options):
        if options and options.get("episode_id") is not None:
            key = str(options["episode_id"])
            if key not in self._index:
                raise ValueError(f"reset: no episode with id {key!r} in this split")
            return self._index[key]
        return int(self.np_random.integers(len(self._episodes)))

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        if self._native is None:
            raise ValueError("reset: the environment is closed")
        rgb, depth, instruction, info = self._native.reset(self._pick(options))
        return self._observation(rgb, depth, instruction), info

    def step(self, action):
        if self._native is None:
            raise ValueError("step: the environment is closed")
        rgb, depth, instruction, reward, terminated, truncated, info = self._native.step(
            _action_id(action)
        )
        return self._observation(rgb, depth, instruction), float(reward), terminated, truncated, info

    def expert_action(self):
        """The expert follower's next action (a Habitat id) from the agent's current pose."""
        if self._native is None:
            raise ValueError("expert_action: the environment is closed")
        return self._native.expert_action()

    def render(self):
        return self._rgb

    def close(self):
        self._native = None
        super().close()


def _action_id(action):
    a = np.asarray(action)
    if a.shape != () or not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"action {action!r}: expected one integer Habitat action id 0..3")
    return int(a)
