"""transformers stand-in: BitsAndBytesConfig with exactly its documented argument names."""
from _fake_record import config_class

BitsAndBytesConfig = config_class("BitsAndBytesConfig")
