import pytest

import vln_r1


def test_missing_dataset_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        vln_r1.VlnCeEnv(dataset=tmp_path / "nowhere")


def test_bad_split_names_the_split():
    with pytest.raises(ValueError, match="val_nope"):
        vln_r1.VlnCeEnv(split="val_nope")


def test_bad_options_are_value_errors():
    with pytest.raises(ValueError, match="agent"):
        vln_r1.VlnCeEnv(agent="robot")
    with pytest.raises(ValueError):
        vln_r1.VlnCeEnv(width=0)
    env = vln_r1.VlnCeEnv(width=16, height=16)
    with pytest.raises(ValueError, match="reset"):
        env.step(1)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action 7"):
        env.step(7)
    with pytest.raises(ValueError, match="no episode"):
        env.reset(options={"episode_id": "no-such-episode"})


def test_step_after_the_end_is_an_error_not_a_crash():
    env = vln_r1.VlnCeEnv(width=16, height=16)
    env.reset(seed=0)
    env.step(0)
    with pytest.raises(ValueError, match="over"):
        env.step(1)


def test_corrupt_episode_file_names_the_file_and_field(tmp_path):
    bad = tmp_path / "val_unseen.json"
    bad.write_text('{"episodes": [{"episode_id": 1, "scene_id": "a.glb"}]}')
    with pytest.raises(ValueError, match="val_unseen.json") as e:
        vln_r1.load_episodes(bad)
    assert "start_position" in str(e.value)
    with pytest.raises(FileNotFoundError):
        vln_r1.load_episodes(tmp_path / "absent.json.gz")


def test_episode_files_load_and_validate():
    episodes = vln_r1.load_episodes(f"{vln_r1.SHIPPED_DATASET}/val_unseen/val_unseen.json.gz")
    assert len(episodes) == 200 and "instruction" in episodes[0]
    report = vln_r1.validate_episodes(vln_r1.SHIPPED_DATASET, split="val_unseen")
    assert {r["kind"] for r in report} == {"episodes", "gt"} and all(r["records"] == 200 for r in report)


def test_geodesic_distance():
    ep = vln_r1.load_episodes(f"{vln_r1.SHIPPED_DATASET}/val_unseen/val_unseen.json.gz")[0]
    scene = f"{vln_r1.SHIPPED_SCENES}/{ep['scene_id']}"
    goal = ep["goals"][0]["position"]
    d = vln_r1.geodesic_distance(scene, ep["start_position"], goal)
    assert 0.5 < d < 50
    assert vln_r1.geodesic_distance(scene, goal, goal) < 1e-3
    with pytest.raises(FileNotFoundError):
        vln_r1.geodesic_distance("/no/such/scene.glb", goal, goal)
    with pytest.raises(ValueError, match="3 coordinates"):
        vln_r1.geodesic_distance(scene, [0, 0], goal)
