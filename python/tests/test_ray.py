import json
import subprocess
import sys

import pytest

import ray

import vln_r1
import vln_r1.ray as vray
from conftest import cli_binary, SHIPPED

# The policy factory below is defined in this test module, which Ray's workers cannot import: ship it by value.
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def cli_eval(tmp_path, policy, n):
    binary = cli_binary()
    if binary is None:
        pytest.skip("no vln-r1 binary (cargo build -p vln-r1 or set VLN_R1_BIN)")
    out = tmp_path / f"cli-{policy}"
    subprocess.run(
        [str(binary), "eval", "--split", "val_unseen", "--policy", policy, "--episodes", str(n),
         "--dataset", str(SHIPPED), "--out", str(out), "--envs", "2"],
        check=True, capture_output=True,
    )
    return json.loads((out / "metrics.json").read_text())


@pytest.mark.parametrize("policy,cli_name", [("expert", "oracle"), ("random", "random")])
def test_ray_eval_matches_cli(cluster, tmp_path, policy, cli_name):
    n = 12
    out = tmp_path / f"ray-{policy}"
    metrics = vray.evaluate(out, policy, dataset=SHIPPED, split="val_unseen", episodes=n, actors=2, chunk=5)
    assert metrics == cli_eval(tmp_path, cli_name, n)
    lines = (out / "results.jsonl").read_text().splitlines()
    assert len(lines) == n and len({json.loads(l)["episode_id"] for l in lines}) == n


def test_ray_eval_resumes_without_rerunning(cluster, tmp_path):
    out = tmp_path / "resume"
    first = vray.evaluate(out, "random", episodes=4, actors=2, chunk=2)
    assert first["metrics"]["episodes"] == 4
    # Grow the selection: only the 4 new episodes run, the old lines stay as they were.
    before = (out / "results.jsonl").read_text()
    second = vray.evaluate(out, "random", episodes=8, actors=2, chunk=3)
    after = (out / "results.jsonl").read_text()
    assert after.startswith(before) and len(after.splitlines()) == 8
    assert second["metrics"]["episodes"] == 8
    with pytest.raises(ValueError, match="cannot resume"):
        vray.evaluate(out, "random", episodes=8, seed=1)


def make_walker():
    def walker(observations):
        return [1 if o["step"] < 3 else 0 for o in observations]

    return walker


def test_ray_eval_with_a_python_policy_factory(cluster, tmp_path):
    metrics = vray.evaluate(tmp_path / "py", make_walker, episodes=3, actors=2, chunk=1)
    m = metrics["metrics"]
    assert metrics["policy"] == "make_walker" and m["episodes"] == 3 and m["steps"] == 4.0


def test_ray_datagen_writes_the_store_of_a_local_run(cluster, tmp_path):
    opts = dict(split="val_unseen", episodes=4, width=32, height=24)
    local = vln_r1.datagen(tmp_path / "local", **opts)
    remote = vray.datagen(tmp_path / "ray", actors=2, chunk=1, **opts)
    for k in ("samples", "trajectories", "frames", "action_histogram"):
        assert local[k] == remote[k]
    assert remote["rendered_this_run"] == 0  # every trajectory came from the actors
    a = json.loads((tmp_path / "local" / "vln_ego.json").read_text())
    b = json.loads((tmp_path / "ray" / "vln_ego.json").read_text())
    assert a == b
    again = vray.datagen(tmp_path / "ray", actors=2, **opts)
    assert again["appended_this_run"] == 0


def test_command_line_eval(tmp_path):
    out = tmp_path / "cmd"
    subprocess.run(
        [sys.executable, "-m", "vln_r1.ray", "eval", "--address", "local", "--num-cpus", "2", "--actors", "2",
         "--dataset", str(SHIPPED), "--split", "val_unseen", "--policy", "expert", "--episodes", "3",
         "--out", str(out)],
        check=True, capture_output=True,
    )
    m = json.loads((out / "metrics.json").read_text())
    assert m["policy"] == "oracle" and m["metrics"]["sr"] == 1.0
