{{! Imports every method needs (the trl import is the method's own), and the torchrun relaunch on several GPUs. }}
import os

{{#multi_gpu}}
if "WORLD_SIZE" not in os.environ:
    # One process per GPU (DDP for adapters, FSDP for full fine-tuning): relaunch this script under
    # torchrun, inside the environment uv built for it.
    import subprocess
    import sys

    sys.exit(subprocess.call([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node={{num_gpus}}", __file__]))

{{/multi_gpu}}
{{#qlora}}
import torch
{{/qlora}}
from datasets import load_dataset
{{#lora}}
from peft import LoraConfig
{{/lora}}
{{#qlora}}
from transformers import BitsAndBytesConfig
{{/qlora}}
