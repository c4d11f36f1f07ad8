"""Eval and VLN-Ego datagen over Ray actors.

Episodes are sharded by id into chunks; each actor holds a Rust vector env (or datagen job) and plays the
chunks it is given. The driver writes the files ``vln-r1 eval`` / ``vln-r1 datagen`` write (``eval.json``,
``results.jsonl``, ``metrics.json``; one sample store), appending each chunk's results as they arrive, so
an interrupted run resumes where it stopped and no episode is run twice.

Command line::

    python -m vln_r1.ray eval --address ADDR|local --actors N --dataset D --split S \\
        --policy expert|random --out DIR
    python -m vln_r1.ray datagen --address ADDR|local --actors N --dataset D --split train --out DIR
"""

import argparse
import json
import sys

from . import _native, datagen_options
from .spaces import as_path


def _ray():
    import ray  # the Ray package, not this module (absolute import)

    if not ray.is_initialized():
        raise RuntimeError("vln_r1.ray: call ray.init(...) first (or use the command line's --address)")
    return ray


class _EvalActor:
    """One Ray actor: a Rust eval worker and the policy it built."""

    def __init__(self, worker, policy, name):
        self.worker = _native.EvalWorker(**worker)
        # A factory is called here, inside the actor, so a GPU model loads where it runs.
        self.policy = policy if isinstance(policy, str) else policy()
        self.name = name

    def run(self, episode_ids, seed):
        return self.worker.run(episode_ids, seed, self.policy, self.name)


class _DatagenActor:
    """One Ray actor: a Rust datagen job that renders chunks of episodes into scratch and ships them."""

    def __init__(self, options):
        self.job = _native.DatagenJob(**options)

    def render(self, episode_ids):
        return self.job.render(episode_ids)


def _dispatch(ray, actors, chunks, submit, on_result):
    """Keeps every actor busy with one chunk at a time and hands each result to ``on_result`` as it lands."""
    chunks = iter(chunks)
    pending = {}

    def give(actor):
        chunk = next(chunks, None)
        if chunk is not None:
            pending[submit(actor, chunk)] = actor

    for actor in actors:
        give(actor)
    while pending:
        (ready,), _ = ray.wait(list(pending), num_returns=1)
        actor = pending.pop(ready)
        on_result(ray.get(ready))
        give(actor)


def _chunks(ids, size):
    size = max(1, int(size))
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def evaluate(
    out,
    policy="expert",
    *,
    dataset=None,
    split="val_unseen",
    scenes=None,
    agent="r2r",
    actors=2,
    envs_per_actor=1,
    seed=0,
    episodes=None,
    max_steps=500,
    width=224,
    height=224,
    hfov=90.0,
    depth=False,
    chunk=8,
    name=None,
    actor_options=None,
):
    """Evaluates ``policy`` on the first ``episodes`` of ``split`` over ``actors`` Ray actors into ``out``
    (resumed when it exists) and returns ``metrics.json`` as a dict.

    ``policy``: a built-in name (``"expert"``, ``"random"``, ``"forward"``) run by the Rust policy the CLI
    runs, or a zero-argument factory called inside each actor that returns ``policy(observations) ->
    actions`` (optionally with ``reset(slot, episode_id, seed)``); observations are dicts with ``slot``,
    ``episode_id``, ``instruction``, ``step``, ``rgb`` (and ``depth``). ``name`` names a factory's policy in
    the output (default: its ``__name__``). ``actor_options``: Ray options of each actor (e.g.
    ``{"num_gpus": 1}``; default ``{"num_cpus": 1}``).
    """
    ray = _ray()
    if not isinstance(policy, str):
        if not callable(policy):
            raise ValueError("policy: expected a built-in name or a factory (a callable)")
        name = name or getattr(policy, "__name__", "python")
    run = _native.EvalRun(
        str(out), policy if isinstance(policy, str) else name, as_path(dataset), split, as_path(scenes),
        agent, int(seed), int(max_steps), episodes,
    )
    todo = run.todo()
    if todo:
        worker = dict(
            dataset=as_path(dataset), split=split, scenes=as_path(scenes), agent=agent, width=int(width),
            height=int(height), hfov=float(hfov), depth=bool(depth), max_steps=int(max_steps),
            envs=int(envs_per_actor),
        )
        chunks = _chunks(todo, chunk)
        remote = ray.remote(**(actor_options or {"num_cpus": 1}))(_EvalActor)
        pool = [remote.remote(worker, policy, run.policy()) for _ in range(min(int(actors), len(chunks)))]
        try:
            _dispatch(
                ray, pool, chunks, lambda a, c: a.run.remote(c, int(seed)), lambda lines: run.append(lines)
            )
        finally:
            for a in pool:
                ray.kill(a)
    return json.loads(run.finish())


def datagen(out, *, actors=2, chunk=8, actor_options=None, **options):
    """VLN-Ego datagen over Ray actors into ``out``: the options, outputs and resume of
    :func:`vln_r1.datagen` / ``vln-r1 datagen``. Actors render their chunks of episodes and ship the
    trajectory directories back; the driver installs them and commits the one sample store in dataset
    order. Paths (``dataset``, ``scenes``) must be readable on every node. Returns the stats."""
    ray = _ray()
    options = datagen_options(**options)
    job = _native.DatagenJob(**options)
    todo = job.pending(str(out))
    if todo:
        chunks = _chunks(todo, chunk)
        remote = ray.remote(**(actor_options or {"num_cpus": 1}))(_DatagenActor)
        pool = [remote.remote(options) for _ in range(min(int(actors), len(chunks)))]
        try:
            _dispatch(
                ray, pool, chunks, lambda a, c: a.render.remote(c), lambda t: job.install(str(out), t)
            )
        finally:
            for a in pool:
                ray.kill(a)
    return json.loads(job.generate(str(out)))


def _init(address, num_cpus):
    import ray

    if address == "local":
        ray.init(num_cpus=num_cpus)
    else:
        ray.init(address=address)
    return ray


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m vln_r1.ray", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    for cmd in ("eval", "datagen"):
        s = sub.add_parser(cmd)
        s.add_argument("--address", required=True, help="a Ray cluster address (ray start --head), 'auto', or 'local'")
        s.add_argument("--actors", type=int, default=2)
        s.add_argument("--num-cpus", type=int, default=None, help="local only: CPUs of the local cluster")
        s.add_argument("--dataset", default=None, help="VLN-CE dataset directory (default: the shipped one)")
        s.add_argument("--scenes", default=None, help="directory the scene_id paths are relative to")
        s.add_argument("--split", default="val_unseen" if cmd == "eval" else "train")
        s.add_argument("--agent", choices=["r2r", "rxr"], default="r2r")
        s.add_argument("--episodes", type=int, default=None, help="only the first N episodes")
        s.add_argument("--max-steps", type=int, default=500)
        s.add_argument("--chunk", type=int, default=8, help="episodes per task given to an actor")
        s.add_argument("--out", required=True)
    e = sub.choices["eval"]
    e.add_argument("--policy", default="expert", help="expert, random, forward (built in)")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--envs-per-actor", type=int, default=1)
    e.add_argument("--width", type=int, default=224)
    e.add_argument("--height", type=int, default=224)
    d = sub.choices["datagen"]
    d.add_argument("--future", type=int, default=6)
    d.add_argument("--width", type=int, default=640)
    d.add_argument("--height", type=int, default=480)
    d.add_argument("--memory", default="long-short")
    d.add_argument("--perturbed-runs", type=int, default=0)
    d.add_argument("--stop-radius", type=float, default=None)
    a = p.parse_args(argv)
    ray = _init(a.address, a.num_cpus)
    try:
        common = dict(
            dataset=a.dataset, scenes=a.scenes, split=a.split, agent=a.agent, episodes=a.episodes,
            max_steps=a.max_steps, actors=a.actors, chunk=a.chunk,
        )
        if a.command == "eval":
            result = evaluate(
                a.out, a.policy, seed=a.seed, envs_per_actor=a.envs_per_actor, width=a.width,
                height=a.height, **common,
            )
            print(json.dumps(result, indent=2))
            print(f"results in {a.out}/results.jsonl, summary in {a.out}/metrics.json")
        else:
            stats = datagen(
                a.out, future=a.future, width=a.width, height=a.height, memory=a.memory,
                perturbed_runs=a.perturbed_runs, stop_radius=a.stop_radius, **common,
            )
            print(f"{stats['samples']} samples from {stats['trajectories']} trajectories; {stats['skipped']} skipped")
            print(f"wrote {a.out} (sample store), {a.out}/vln_ego.json, {a.out}/stats.json")
    finally:
        ray.shutdown()
    return 0


if __name__ == "__main__":
    from vln_r1.ray import main as _main  # the package's module, so actors pickle by reference

    sys.exit(_main())
