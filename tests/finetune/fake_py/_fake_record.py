"""Shared by the stand-in packages: the argument lists from trl_args.toml and the call record."""
import json
import os
import tomllib


def record(event, **fields):
    path = os.environ["FAKE_RECORD"]
    with open(path, "a") as f:
        f.write(json.dumps({"event": event, **fields}, default=repr) + "\n")


def _accepted():
    data = tomllib.load(open(os.environ["FAKE_TRL_ARGS"], "rb"))["classes"]

    def collect(name):
        out = set(data[name]["args"])
        for parent in data[name].get("inherits", []):
            out |= collect(parent)
        return out

    return {name: collect(name) for name in data}


ACCEPTED = _accepted()


def config_class(name):
    allowed = ACCEPTED[name]

    class Config:
        def __init__(self, **kwargs):
            bad = sorted(set(kwargs) - allowed)
            if bad:
                raise TypeError(f"{name}.__init__() got an unexpected keyword argument {bad[0]!r}")
            self.__dict__.update(kwargs)
            record("config", cls=name, kwargs=kwargs)

    Config.__name__ = name
    return Config
