{{#lora}}
#     "peft>=0.17",
{{/lora}}
{{#qlora}}
#     "bitsandbytes>=0.45",
{{/qlora}}
{{#trackio}}
#     "trackio",
{{/trackio}}
{{#wandb}}
#     "wandb",
{{/wandb}}
# ]
# ///
