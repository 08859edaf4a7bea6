{{! PEP 723 header, second half: the dependencies the adapter and the tracker need, and the end of the header. }}
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
