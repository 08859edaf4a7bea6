"""trl stand-in: the five configs (strict argument names) and trainers that record what they get."""
from _fake_record import config_class, record

SFTConfig = config_class("SFTConfig")
DPOConfig = config_class("DPOConfig")
GRPOConfig = config_class("GRPOConfig")
KTOConfig = config_class("KTOConfig")
RewardConfig = config_class("RewardConfig")

# The column each trainer needs, as TRL's data utilities require them.
_NEEDS = {
    "SFTTrainer": [("messages", "text")],
    "DPOTrainer": [("prompt",), ("chosen",), ("rejected",)],
    "KTOTrainer": [("prompt",), ("completion", "chosen"), ("label", "rejected")],
    "RewardTrainer": [("chosen",), ("rejected",)],
    "GRPOTrainer": [("prompt",)],
}


def _trainer(name, config_cls):
    class Trainer:
        def __init__(self, model, args, train_dataset, **kwargs):
            if not isinstance(args, config_cls):
                raise TypeError(f"{name} needs a {config_cls.__name__}")
            for options in _NEEDS[name]:
                if not any(c in train_dataset.column_names for c in options):
                    raise KeyError(f"{name}: the dataset has no column {' or '.join(options)}")
            self.args = args
            record("trainer", cls=name, model=model, kwargs=sorted(kwargs),
                   columns=train_dataset.column_names, rows=len(train_dataset))

        def train(self, resume_from_checkpoint=None):
            record("train", resume_from_checkpoint=resume_from_checkpoint)

        def save_model(self, output_dir=None):
            record("save_model", output_dir=output_dir)

        def push_to_hub(self, **kwargs):
            record("push_to_hub", kwargs=kwargs)

    Trainer.__name__ = name
    return Trainer


SFTTrainer = _trainer("SFTTrainer", SFTConfig)
DPOTrainer = _trainer("DPOTrainer", DPOConfig)
GRPOTrainer = _trainer("GRPOTrainer", GRPOConfig)
KTOTrainer = _trainer("KTOTrainer", KTOConfig)
RewardTrainer = _trainer("RewardTrainer", RewardConfig)
