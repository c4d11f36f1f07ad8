import gzip
import json
import os
import shutil
from pathlib import Path

import pytest

import vln_r1

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = Path(vln_r1.SHIPPED_DATASET)
SCENES = Path(vln_r1.SHIPPED_SCENES)


def cli_binary():
    """The vln-r1 CLI: $VLN_R1_BIN, else the release or debug build of this checkout (None when neither)."""
    if os.environ.get("VLN_R1_BIN"):
        p = Path(os.environ["VLN_R1_BIN"])
        if not p.is_file():
            raise FileNotFoundError(f"VLN_R1_BIN={p} is not a file")
        return p
    for p in (ROOT / "target/release/vln-r1", ROOT / "target/debug/vln-r1"):
        if p and Path(p).is_file():
            return Path(p)
    return None


@pytest.fixture(scope="session")
def user_dataset(tmp_path_factory):
    """A user's dataset built outside the repo: one shipped house copied under another name, and three
    shipped val_unseen episodes of that house (with their gt) pointing at it."""
    root = tmp_path_factory.mktemp("user")
    scenes = root / "scenes" / "mine"
    scenes.mkdir(parents=True)
    episodes = json.load(gzip.open(SHIPPED / "val_unseen" / "val_unseen.json.gz"))
    gt = json.load(gzip.open(SHIPPED / "val_unseen" / "val_unseen_gt.json.gz"))
    house = episodes["episodes"][0]["scene_id"]
    stem = house[: -len(".glb")]
    shutil.copy(SCENES / house, scenes / "flat.glb")
    meta = SCENES / f"{stem}.meta.json"
    if meta.exists():
        shutil.copy(meta, scenes / "flat.meta.json")
    mine = [e for e in episodes["episodes"] if e["scene_id"] == house][:3]
    for e in mine:
        e["scene_id"] = "mine/flat.glb"
    split = root / "data" / "val_unseen"
    split.mkdir(parents=True)
    with gzip.open(split / "val_unseen.json.gz", "wt") as f:
        json.dump({"episodes": mine, "instruction_vocab": episodes["instruction_vocab"]}, f)
    with gzip.open(split / "val_unseen_gt.json.gz", "wt") as f:
        json.dump({str(e["episode_id"]): gt[str(e["episode_id"])] for e in mine}, f)
    return {"dataset": root / "data", "scenes": root / "scenes", "ids": [str(e["episode_id"]) for e in mine]}
