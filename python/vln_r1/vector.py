"""``VlnCeVectorEnv``: N environments on N Rust threads in one process, as a Gymnasium 1.x ``VectorEnv``
with NEXT_STEP autoreset (the step after an episode ends resets that slot, returning its first observation
with reward 0)."""

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from . import _native
from .spaces import as_path, observation_space


class VlnCeVectorEnv(VectorEnv):
    """``num_envs`` VLN-CE environments stepped together; the GIL is released while Rust steps and
    renders. Same keyword arguments as :class:`vln_r1.VlnCeEnv`. Each slot's next episode is drawn from the
    seeded ``np_random``; ``reset(options={"episode_ids": [...]})`` sets the first episode of every slot."""

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(
        self,
        num_envs,
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
        self._native = _native.NativeVecEnv(
            int(num_envs), as_path(dataset), split, as_path(scenes), agent, int(width), int(height),
            float(hfov), bool(depth), int(max_steps),
        )
        self._episodes = self._native.episodes()
        self._index = {eid: i for i, (eid, _) in enumerate(self._episodes)}
        self.num_envs = int(num_envs)
        self.single_observation_space = observation_space(self._episodes, int(width), int(height), depth)
        self.single_action_space = spaces.Discrete(4)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.render_mode = render_mode
        self._depth = bool(depth)
        self._autoreset = np.zeros(self.num_envs, dtype=bool)
        self._rgb = None

    def _next_episode(self):
        return int(self.np_random.integers(len(self._episodes)))

    def _pack(self, out):
        rgb, depth, instructions, rewards, terminated, truncated, ids, distances, metrics = out
        self._rgb = rgb
        obs = {"rgb": rgb, "instruction": tuple(instructions)}
        if self._depth:
            obs["depth"] = depth
        ones = np.ones(self.num_envs, dtype=bool)
        infos = {
            "episode_id": np.array(ids, dtype=object),
            "_episode_id": ones,
            "instruction": np.array(instructions, dtype=object),
            "_instruction": ones.copy(),
            "distance_to_goal": distances,
            "_distance_to_goal": ones.copy(),
        }
        ended = np.array([m is not None for m in metrics], dtype=bool)
        if ended.any():
            column = np.empty(self.num_envs, dtype=object)
            column[:] = metrics
            infos["metrics"] = column
            infos["_metrics"] = ended
        return obs, rewards, terminated, truncated, infos

    def reset(self, *, seed=None, options=None):
        if isinstance(seed, (list, tuple)):
            seed = seed[0] if seed else None
        super().reset(seed=seed)
        if self._native is None:
            raise ValueError("reset: the environment is closed")
        ids = (options or {}).get("episode_ids")
        if ids is not None:
            if len(ids) != self.num_envs:
                raise ValueError(f"reset: {len(ids)} episode_ids for {self.num_envs} envs")
            missing = [str(i) for i in ids if str(i) not in self._index]
            if missing:
                raise ValueError(f"reset: no episode with id {missing[0]!r} in this split")
            indices = [self._index[str(i)] for i in ids]
        else:
            indices = [self._next_episode() for _ in range(self.num_envs)]
        obs, _, _, _, infos = self._pack(self._native.reset(indices))
        self._autoreset[:] = False
        return obs, infos

    def step(self, actions):
        if self._native is None:
            raise ValueError("step: the environment is closed")
        a = np.asarray(actions)
        if a.shape != (self.num_envs,) or not np.issubdtype(a.dtype, np.integer):
            raise ValueError(f"actions: expected {self.num_envs} integer Habitat action ids, got {actions!r}")
        resets = [(int(slot), self._next_episode()) for slot in np.flatnonzero(self._autoreset)]
        obs, rewards, terminated, truncated, infos = self._pack(self._native.step(a.tolist(), resets))
        self._autoreset = terminated | truncated
        return obs, rewards.astype(np.float64, copy=False), terminated, truncated, infos

    def render(self):
        return None if self._rgb is None else tuple(self._rgb)

    def close_extras(self, **kwargs):
        self._native = None

    def rust_loop(self, actions, episodes):
        """Benchmark only: the same NEXT_STEP loop entirely in Rust (``actions[t][slot]``, the episode index
        of each reset in order); returns ``(env steps, seconds)``."""
        return self._native.rust_loop([list(map(int, row)) for row in actions], list(map(int, episodes)))
