"""Training settings: one flat dataclass, three presets, and `--set key=value` overrides."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ccforge.config import ConfigError, apply_override


@dataclass
class TrainConfig:
    # model
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    block_size: int = 64
    dropout: float = 0.0
    bias: bool = False
    rope_base: float = 10000.0
    # optimisation: AdamW, linear warmup then cosine decay to min_lr at max_steps
    batch_size: int = 12
    grad_accum: int = 1  # micro-batches per optimizer step
    max_steps: int = 200
    lr: float = 1e-3
    min_lr: float = 1e-4
    warmup_steps: int = 20
    weight_decay: float = 0.1  # on matrices (linear and embedding weights) only
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0  # 0 switches clipping off
    # evaluation, logging, checkpoints
    eval_interval: int = 50
    eval_iters: int = 10  # validation batches per evaluation
    log_interval: int = 10
    checkpoint_interval: int | None = None  # None: at every evaluation
    stop_at_step: int | None = None  # end this invocation early (the schedule still runs to max_steps)
    # run
    seed: int = 1337
    dtype: str = "auto"  # auto: bfloat16 autocast on CUDA, float32 on CPU; or float32 | bfloat16
    progress: bool = True  # tqdm bar

    def tokens_per_step(self) -> int:
        return self.batch_size * self.block_size * self.grad_accum


MODEL_KEYS = ("n_layer", "n_head", "n_embd", "block_size", "bias", "rope_base")

PRESETS: dict[str, dict] = {
    # nanoGPT's README CPU config, 200 steps: a minute or two on two quiet CPU cores for a demo-sized corpus
    "tiny": {},
    # nanoGPT's shakespeare-char shape (10.6M parameters + 384 per vocabulary id): a GPU or a patient CPU
    "small": dict(
        n_layer=6, n_head=6, n_embd=384, block_size=256, batch_size=16, grad_accum=4, max_steps=5000,
        lr=6e-4, min_lr=6e-5, warmup_steps=200, eval_interval=250, eval_iters=40,
    ),
    # GPT-2 small (85M + 768 per vocabulary id) as build-nanogpt/llm.c train it: 0.5M tokens/step, 10B in 19,073
    "gpt2-124m": dict(
        n_layer=12, n_head=12, n_embd=768, block_size=1024, batch_size=16, grad_accum=32, max_steps=19073,
        lr=6e-4, min_lr=6e-5, warmup_steps=715, eval_interval=250, eval_iters=20,
    ),
}


def build_config(preset: str = "tiny", overrides: list[str] | tuple[str, ...] = ()) -> TrainConfig:
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset '{preset}'; presets are: {', '.join(PRESETS)}")
    config = TrainConfig(**PRESETS[preset])
    apply_overrides(config, overrides)
    return config


def apply_overrides(config: TrainConfig, overrides: list[str] | tuple[str, ...]) -> None:
    for item in overrides:
        apply_override(config, item)
    validate(config)


def validate(config: TrainConfig) -> None:
    if config.n_embd % config.n_head or (config.n_embd // config.n_head) % 2:
        raise ConfigError("n_embd must be n_head times an even head size (rotary embeddings rotate pairs)")
    for key in ("n_layer", "n_head", "block_size", "batch_size", "grad_accum", "max_steps", "eval_iters"):
        if getattr(config, key) < 1:
            raise ConfigError(f"train config key '{key}' must be at least 1")
    if config.dtype not in ("auto", "float32", "bfloat16"):
        raise ConfigError(f"train config key 'dtype' is '{config.dtype}'; use auto, float32 or bfloat16")


def config_from_dict(data: dict) -> TrainConfig:
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in data.items() if k in known})
