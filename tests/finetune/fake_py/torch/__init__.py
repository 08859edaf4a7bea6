"""torch stand-in: the two dtypes the QLoRA block names."""
bfloat16 = "torch.bfloat16"
float16 = "torch.float16"
