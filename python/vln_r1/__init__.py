"""vln_r1: the vln-r1 VLN-CE simulator (Rust) as a Gymnasium environment, a threaded vector env, VLN-Ego
datagen, and eval / datagen on Ray (``vln_r1.ray``).

Every function here calls the Rust library the ``vln-r1`` CLI calls; bad input raises ``ValueError`` or
``FileNotFoundError`` with the Rust message (which names the file, record and field).
"""

import json as _json

import gymnasium as _gym

from . import _native
from .env import VlnCeEnv
from .vector import VlnCeVectorEnv

__all__ = [
    "VlnCeEnv",
    "VlnCeVectorEnv",
    "geodesic_distance",
    "load_episodes",
    "load_gt",
    "validate_episodes",
    "datagen",
    "SHIPPED_SCENES",
    "SHIPPED_DATASET",
    "ACTIONS",
]

#: Where the shipped houses and the shipped R2R-CE-format dataset are (the defaults of ``scenes=`` and
#: ``dataset=``).
SHIPPED_SCENES = _native.SHIPPED_SCENES
SHIPPED_DATASET = _native.SHIPPED_DATASET

#: Habitat's action ids.
ACTIONS = {0: "STOP", 1: "MOVE_FORWARD", 2: "TURN_LEFT", 3: "TURN_RIGHT"}


def geodesic_distance(scene, a, b, agent="r2r"):
    """Geodesic distance in metres between world points ``a`` and ``b`` of a scene file (``inf`` when no path
    joins them), on the navigable surface of the ``agent`` body (``"r2r"`` or ``"rxr"``)."""
    return _native.geodesic_distance(str(scene), _point(a), _point(b), agent)


def load_episodes(path):
    """The episodes of a VLN-CE episode file (``.json`` / ``.json.gz``), validated, as dicts."""
    return _json.loads(_native.load_episodes(str(path)))


def load_gt(path):
    """The entries of a VLN-CE gt file (``*_gt.json.gz``), validated: ``{episode_id: {...}}``."""
    return _json.loads(_native.load_gt(str(path)))


def validate_episodes(path, split=None):
    """Validates one file, or every file of a dataset directory (one ``split`` or all), like
    ``vln-r1 episodes validate``; returns ``[{"path", "kind", "records"}]``."""
    return [
        {"path": p, "kind": kind, "records": n}
        for p, kind, n in _native.validate_episodes(str(path), split)
    ]


def datagen(
    out,
    dataset=None,
    split="train",
    future=6,
    width=640,
    height=480,
    hfov=90.0,
    memory="long-short",
    jpeg_quality=90,
    scenes=None,
    agent="r2r",
    episodes=None,
    shard_samples=None,
    max_steps=500,
    perturbed_runs=0,
    perturb_rate=0.1,
    perturb_burst=4,
    perturb_seed=0,
    stop_radius=None,
):
    """VLN-Ego training data, as ``vln-r1 datagen --out OUT`` with the same options and outputs (frames,
    sample store, ``vln_ego.json`` + ``dataset_info.json``, ``stats.json``); resumable. Returns the stats."""
    job = _native.DatagenJob(**datagen_options(**{k: v for k, v in locals().items() if k != "out"}))
    return _json.loads(job.generate(str(out)))


def datagen_options(dataset=None, scenes=None, shard_samples=None, **options):
    """The keyword arguments of ``_native.DatagenJob`` (paths as strings, defaults left to Rust)."""
    if dataset is not None:
        options["dataset"] = str(dataset)
    if scenes is not None:
        options["scenes"] = str(scenes)
    if shard_samples is not None:
        options["shard_samples"] = int(shard_samples)
    return options


def _point(p):
    values = [float(v) for v in p]
    if len(values) != 3:
        raise ValueError(f"point {p!r}: expected 3 coordinates x, y, z")
    return values


_gym.register(
    id="vln_r1/VLNCE-v0",
    entry_point="vln_r1.env:VlnCeEnv",
    vector_entry_point="vln_r1.vector:VlnCeVectorEnv",
)
