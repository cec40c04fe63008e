"""Script a real launcher (``torchrun``) starts on every rank: one epoch of ``ddp_st``'s tiny BERT.

Nothing here sets up the process group: the launcher exports ``RANK``/``WORLD_SIZE``/``MASTER_*``
and the trainer (through accelerate) joins the group from them, as in a user's job. Each rank
then writes ``rank<r>.json`` into the result folder: its rank and world size as the process
group reports them, the backend, the steps taken and the row ids each step's loss saw.

Usage (see ``test_launchers.py``)::

    python -m torch.distributed.run --nproc_per_node 2 ... launched_st.py MODEL OUT RESULTS N_ROWS BATCH
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    from torch.distributed.elastic.multiprocessing.errors import record

    record(_main)(argv)  # a rank's traceback lands in torchrun's failure summary


def _main(argv: list[str] | None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_path")
    parser.add_argument("out_dir", help="the trainer's output_dir")
    parser.add_argument("result_dir", help="where each rank writes rank<r>.json")
    parser.add_argument("n_rows", type=int)
    parser.add_argument("batch", type=int)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(Path(__file__).resolve().parent))  # ddp_st, when run by path or with -m
    import torch
    import torch.distributed as dist
    from ddp_st import train_one_epoch

    torch.set_num_threads(1)
    env_rank, env_world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])  # KeyError: no launcher
    result = train_one_epoch(env_rank, env_world, args.model_path, args.out_dir, args.n_rows, args.batch)
    assert dist.is_initialized(), "the trainer did not join a process group"
    result.update(rank=dist.get_rank(), world=dist.get_world_size(), backend=str(dist.get_backend()),
                  env_rank=env_rank, env_world=env_world, local_rank=int(os.environ.get("LOCAL_RANK", -1)))
    out = Path(args.result_dir)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".rank{result['rank']}.json.tmp"
    tmp.write_text(json.dumps(result))
    tmp.replace(out / f"rank{result['rank']}.json")  # a file that exists is complete
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
