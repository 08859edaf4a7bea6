{{! The end of the XTrainer( call (adapter arguments), then train (resuming when possible), save and push. }}
{{#lora}}
    peft_config=peft_config,
{{/lora}}
{{#qlora}}
    quantization_config=quantization_config,
{{/qlora}}
)
resume = last_checkpoint()
if resume is not None:
    print(f"dsx: resuming from {OUTPUT_REPO}/last-checkpoint", flush=True)
trainer.train(resume_from_checkpoint=resume)
trainer.save_model(training_args.output_dir)
if training_args.push_to_hub:
    trainer.push_to_hub(dataset_name=DATASET)
    print(f"dsx: pushed to https://huggingface.co/{OUTPUT_REPO}", flush=True)
print("dsx: training finished", flush=True)
