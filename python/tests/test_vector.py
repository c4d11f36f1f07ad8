import numpy as np
import pytest

import vln_r1


def test_batched_shapes_and_next_step_autoreset():
    env = vln_r1.VlnCeVectorEnv(3, width=32, height=24, max_steps=4)
    obs, infos = env.reset(seed=1)
    assert obs["rgb"].shape == (3, 24, 32, 3) and obs["rgb"].dtype == np.uint8
    assert len(obs["instruction"]) == 3 and obs in env.observation_space
    assert infos["episode_id"].shape == (3,)
    first = list(infos["episode_id"])
    # slot 0 stops at once, the others turn until the 4-step cap.
    obs, r, term, trunc, infos = env.step(np.array([0, 2, 2]))
    assert term.tolist() == [True, False, False] and "metrics" in infos
    assert infos["_metrics"].tolist() == [True, False, False]
    assert set(infos["metrics"][0]) >= {"success", "spl", "ndtw"}
    # NEXT_STEP: the step after the end resets slot 0 (its action ignored, reward 0, not done).
    obs, r, term, trunc, infos = env.step(np.array([1, 2, 2]))
    assert r[0] == 0 and not term[0] and not trunc[0]
    assert infos["distance_to_goal"].shape == (3,)
    for _ in range(2):
        obs, r, term, trunc, infos = env.step(np.array([2, 2, 2]))
    assert trunc.tolist() == [False, True, True]
    assert obs in env.observation_space
    assert list(infos["episode_id"][1:]) == first[1:]
    env.close()


def test_vector_matches_single_env():
    ids = vln_r1.VlnCeEnv(width=16, height=16).episode_ids[:2]
    venv = vln_r1.VlnCeVectorEnv(2, width=40, height=30)
    vobs, _ = venv.reset(options={"episode_ids": ids})
    envs = [vln_r1.VlnCeEnv(width=40, height=30) for _ in ids]
    sobs = [e.reset(options={"episode_id": i})[0] for e, i in zip(envs, ids)]
    for k in range(5):
        actions = np.array([1, 2 if k % 2 else 1])
        vobs, vr, *_ = venv.step(actions)
        sobs = [e.step(int(a))[0] for e, a in zip(envs, actions)]
        for s in range(2):
            assert np.array_equal(vobs["rgb"][s], sobs[s]["rgb"])


def test_vector_seeds_reproduce_and_bad_actions_raise():
    def run(seed):
        env = vln_r1.VlnCeVectorEnv(2, width=16, height=16, max_steps=3)
        _, info = env.reset(seed=seed)
        ids = list(info["episode_id"])
        for _ in range(8):
            _, _, _, _, info = env.step(np.array([2, 2]))
            ids += list(info["episode_id"])
        return ids

    assert run(5) == run(5)
    env = vln_r1.VlnCeVectorEnv(2, width=16, height=16)
    env.reset(seed=0)
    with pytest.raises(ValueError):
        env.step(np.array([1, 9]))
    with pytest.raises(ValueError):
        env.step(np.array([1]))
    with pytest.raises(ValueError):
        vln_r1.VlnCeVectorEnv(0)
