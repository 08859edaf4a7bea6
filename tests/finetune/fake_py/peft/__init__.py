"""peft stand-in: LoraConfig with exactly its documented argument names."""
from _fake_record import config_class

LoraConfig = config_class("LoraConfig")
