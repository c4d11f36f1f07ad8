"""Steps/s through ``vln_r1.VlnCeVectorEnv`` vs the same NEXT_STEP loop run entirely in Rust over the
Rust ``VecEnv`` (same env object, scenes, actions and episodes), alternating the two in each repeat.

    python python/bench/vector_env.py --envs 2 --steps 400 --repeats 3
"""

import argparse
import time

import numpy as np

import vln_r1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--envs", type=int, default=2)
    p.add_argument("--steps", type=int, default=400, help="vector steps per measurement")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--width", type=int, default=224)
    p.add_argument("--height", type=int, default=224)
    p.add_argument("--split", default="val_unseen")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    env = vln_r1.VlnCeVectorEnv(a.envs, split=a.split, width=a.width, height=a.height)
    n_episodes = len(env._episodes)
    # VLN-CE's random agent: STOP 2%, FORWARD 68%, LEFT / RIGHT 15% each.
    actions = np.random.default_rng(a.seed).choice(4, p=[0.02, 0.68, 0.15, 0.15], size=(a.steps, a.envs))
    # The episodes the Python env draws from its np_random after reset(seed=...), in order, for the Rust loop.
    draws = np.random.default_rng(a.seed)
    episodes = [int(draws.integers(n_episodes)) for _ in range(a.envs * (a.steps + 1))]
    python_rates, rust_rates = [], []
    for _ in range(a.repeats):
        start = time.perf_counter()
        env.reset(seed=a.seed)
        for row in actions:
            env.step(row)
        python_rates.append(a.steps * a.envs / (time.perf_counter() - start))
        steps, seconds = env.rust_loop(actions.tolist(), episodes)
        rust_rates.append(steps / seconds)
    py, rs = max(python_rates), max(rust_rates)
    print(f"{a.envs} envs, {a.width}x{a.height} RGB, {a.split}, {a.steps} vector steps x {a.repeats} repeats (best)")
    print(f"Rust VecEnv loop:        {rs:8.0f} env steps/s  (all: {', '.join(f'{r:.0f}' for r in rust_rates)})")
    print(f"VlnCeVectorEnv (Python): {py:8.0f} env steps/s  (all: {', '.join(f'{r:.0f}' for r in python_rates)})")
    print(f"overhead: {100 * (rs / py - 1):.1f}%  (Python / Rust = {py / rs:.3f})")


if __name__ == "__main__":
    main()
