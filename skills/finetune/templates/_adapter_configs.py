{{! LoRA (peft_config) and QLoRA (quantization_config) settings; lora_task_type is SEQ_CLS for reward models. }}
{{#lora}}
peft_config = LoraConfig(
    r={{lora_r}},
    lora_alpha={{lora_alpha}},
    lora_dropout=0.05,
    target_modules="all-linear",
    task_type={{lora_task_type}},
)
{{/lora}}
{{#qlora}}
quantization_config = BitsAndBytesConfig(
    load_in_4bit=True,
    bnb_4bit_quant_type="nf4",
    bnb_4bit_use_double_quant=True,
    bnb_4bit_compute_dtype=torch.{{dtype_name}},
)
{{/qlora}}
