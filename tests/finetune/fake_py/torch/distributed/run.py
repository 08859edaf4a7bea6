"""torch.distributed.run stand-in: records the launch and runs the script once as rank 0 of N."""
import os
import runpy
import sys

from _fake_record import record

args = sys.argv[1:]
nproc = [a.split("=", 1)[1] for a in args if a.startswith("--nproc_per_node=")]
script = [a for a in args if not a.startswith("--")]
record("torchrun", nproc_per_node=nproc[0] if nproc else None, script=script)
os.environ.update(WORLD_SIZE=nproc[0] if nproc else "1", RANK="0", LOCAL_RANK="0")
sys.argv = script
runpy.run_path(script[0], run_name="__main__")
