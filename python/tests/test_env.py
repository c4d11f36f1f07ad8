import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import vln_r1


def run_expert(env, **reset):
    obs, info = env.reset(**reset)
    assert obs["rgb"].shape == (env.observation_space["rgb"].shape)
    for _ in range(500):
        obs, reward, terminated, truncated, info = env.step(env.unwrapped.expert_action())
        assert obs in env.observation_space
        if terminated or truncated:
            return terminated, info
    raise AssertionError("the episode never ended")


def test_check_env_passes():
    env = gym.make("vln_r1/VLNCE-v0", width=64, height=48).unwrapped
    check_env(env, skip_render_check=False)
    env.close()


def test_spaces_and_ids():
    env = vln_r1.VlnCeEnv(depth=True, width=32, height=24, hfov=70)
    assert env.action_space == gym.spaces.Discrete(4)
    assert env.observation_space["rgb"].shape == (24, 32, 3)
    assert env.observation_space["rgb"].dtype == np.uint8
    assert env.observation_space["depth"].shape == (24, 32, 1)
    assert isinstance(env.observation_space["instruction"], gym.spaces.Text)
    obs, info = env.reset(seed=3)
    assert set(obs) == {"rgb", "depth", "instruction"}
    assert obs["depth"].dtype == np.float32 and (obs["depth"] > 0).any()
    assert info["instruction"] == obs["instruction"]
    assert set(info) >= {"episode_id", "instruction", "distance_to_goal"}
    assert env.render() is obs["rgb"]


def test_expert_episode_on_shipped_val_unseen_succeeds():
    env = vln_r1.VlnCeEnv()
    terminated, info = run_expert(env, options={"episode_id": env.episode_ids[0]})
    assert terminated
    m = info["metrics"]
    assert m["success"] == 1
    assert set(m) >= {"success", "spl", "oracle_success", "ndtw", "sdtw", "path_length", "distance_to_goal", "collisions"}
    assert m["distance_to_goal"] < 3.0 and m["ndtw"] > 0.5


def test_expert_episode_on_user_dataset_succeeds(user_dataset):
    env = gym.make(
        "vln_r1/VLNCE-v0", dataset=user_dataset["dataset"], scenes=user_dataset["scenes"], width=96, height=96
    )
    assert env.unwrapped.episode_ids == user_dataset["ids"]
    for eid in (user_dataset["ids"][0], int(user_dataset["ids"][-1])):  # a string id or an int id
        terminated, info = run_expert(env, options={"episode_id": eid})
        assert terminated and info["episode_id"] == str(eid)
        assert info["metrics"]["success"] == 1


def test_seeds_reproduce():
    def trace(seed):
        env = vln_r1.VlnCeEnv(width=32, height=32)
        obs, info = env.reset(seed=seed)
        env.action_space.seed(seed)
        out = [info["episode_id"], obs["rgb"].copy()]
        for _ in range(10):
            obs, r, term, trunc, info = env.step(env.action_space.sample())
            out += [r, obs["rgb"].copy()]
            if term or trunc:
                obs, info = env.reset()
                out.append(info["episode_id"])
        return out

    a, b, c = trace(7), trace(7), trace(8)
    assert all(np.array_equal(x, y) for x, y in zip(a, b)) and len(a) == len(b)
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def test_step_cap_truncates():
    env = vln_r1.VlnCeEnv(max_steps=3, width=16, height=16)
    env.reset(seed=0)
    results = [env.step(2)[2:4] for _ in range(3)]
    assert results == [(False, False), (False, False), (False, True)]
