"""trl.rewards stand-in: the two reward functions the GRPO template picks from."""


def accuracy_reward(completions, solution, **kwargs):
    return [0.0 for _ in completions]


def think_format_reward(completions, **kwargs):
    return [0.0 for _ in completions]
