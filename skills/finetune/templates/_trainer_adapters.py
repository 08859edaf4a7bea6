{{#lora}}
    peft_config=peft_config,
{{/lora}}
{{#qlora}}
    quantization_config=quantization_config,
{{/qlora}}
