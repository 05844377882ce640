"""Train the compact GPT on a run's token shards: `train(run_dir, preset, ...)`.

Writes to the output directory: `ckpt.pt` (model, optimizer, step, config, RNG
states, data position, compact vocabulary), `metrics.jsonl` (one JSON object per
logged step) and `loss.png`. A run resumed from its checkpoint on CPU continues
bit for bit as if it had never stopped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

from ccforge.config import ConfigError
from ccforge.train.config import MODEL_KEYS, TrainConfig, apply_overrides, build_config, config_from_dict
from ccforge.train.data import (
    DataError,
    Span,
    TrainWindows,
    count_tokens,
    hold_out,
    holdout_tokens,
    read_manifest,
    shard_paths,
    validation_windows,
)
from ccforge.train.model import GPT, GPTConfig
from ccforge.train.vocab import Vocab

CHECKPOINT_NAME = "ckpt.pt"
CHECKPOINT_FORMAT = "ccforge-gpt/1"
METRICS_NAME = "metrics.jsonl"
PLOT_NAME = "loss.png"


def train(
    run_dir: str,
    preset: str = "tiny",
    steps: int | None = None,
    out_dir: str | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    resume: bool = False,
    device: str | None = None,
    compile: bool = False,
) -> Path:
    """Train on RUN's token shards; returns the checkpoint path (OUT/ckpt.pt, default OUT = RUN/train-<preset>)."""
    run = Path(run_dir)
    out = Path(out_dir) if out_dir else run / f"train-{preset}"
    ckpt_path = out / CHECKPOINT_NAME
    manifest = read_manifest(run)
    checkpoint = _load_for_resume(ckpt_path) if resume else None
    if checkpoint is None and ckpt_path.exists():
        raise DataError(f"{ckpt_path} exists: pass --resume to continue it, or choose another --out")
    config = _resolve_config(preset, steps, overrides, checkpoint)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    device_type = torch.device(device).type
    out.mkdir(parents=True, exist_ok=True)

    data = _prepare_data(run, manifest, config, checkpoint)
    torch.manual_seed(config.seed)
    model = GPT(_model_config(config, len(data.vocab))).to(device)
    optimizer = _make_optimizer(model, config, device_type)
    step = 0
    if checkpoint is not None:
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        data.loader.load_state_dict(checkpoint["data"]["loader"])
        _set_rng_state(checkpoint["rng"], device_type)
        step = checkpoint["step"]
    step_model = torch.compile(model) if compile else model
    bf16 = _use_bf16(config, device_type)
    autocast = torch.autocast(device_type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    token_bytes = data.vocab.token_bytes().to(device)
    val_windows = data.val_windows

    _note(
        f"training {model.num_params() / 1e6:.2f}M parameters on {data.train_tokens:,} train tokens "
        f"({len(data.vocab):,} of {manifest['tokenizer']['vocab_size']:,} token ids in use); "
        f"{data.validation_note}; device {device}, {'bfloat16 autocast' if bf16 else 'float32'}"
    )
    metrics = _open_metrics(out / METRICS_NAME, step)
    stop = min(config.max_steps, config.stop_at_step or config.max_steps)
    checkpoint_interval = config.checkpoint_interval or config.eval_interval
    bar = tqdm(total=config.max_steps, initial=step, desc="train", unit="step", disable=not config.progress)
    interval_time, interval_steps, last = 0.0, 0, {}
    try:
        while step < stop:
            started = time.perf_counter()
            lr = learning_rate(step, config)
            for group in optimizer.param_groups:
                group["lr"] = lr
            loss_sum = torch.zeros((), device=device)
            for _ in range(config.grad_accum):
                x, y = data.loader.next_batch()
                x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
                with autocast:
                    _, loss = step_model(x, y)
                (loss / config.grad_accum).backward()
                loss_sum += loss.detach()
            if config.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            if device_type == "cuda":
                torch.cuda.synchronize()
            interval_time += time.perf_counter() - started
            interval_steps += 1
            bar.update(1)

            evaluate_now = step % config.eval_interval == 0 or step == config.max_steps  # not at stop_at_step:
            # a paused run's metrics then match an uninterrupted run's line for line
            if step % config.log_interval == 0 or step == 1 or evaluate_now:
                last = {
                    "step": step,
                    "loss": (loss_sum / config.grad_accum).item(),
                    "lr": lr,
                    "tokens_per_s": round(interval_steps * config.tokens_per_step() / interval_time, 1),
                }
                interval_time, interval_steps = 0.0, 0
                if evaluate_now:
                    last["val_loss"], last["val_bpb"] = evaluate(
                        model, val_windows, config.batch_size, token_bytes, autocast
                    )
                metrics.write(json.dumps(last) + "\n")
                metrics.flush()
                bar.set_postfix({k: f"{v:.3f}" for k, v in last.items() if k in ("loss", "val_loss")})
            if step % checkpoint_interval == 0 or step == stop:
                _save_checkpoint(ckpt_path, model, optimizer, step, config, data, device_type)
    finally:
        bar.close()
        metrics.close()
    plot = plot_losses(out / METRICS_NAME, out / PLOT_NAME)
    summary = ", ".join(f"{k} {v:.4g}" for k, v in last.items() if k in ("loss", "val_loss", "val_bpb"))
    _note(f"step {step}: {summary}; checkpoint {ckpt_path}" + (f"; loss curve {plot}" if plot else ""))
    return ckpt_path


def learning_rate(step: int, config: TrainConfig) -> float:
    """Linear warmup to `lr`, then cosine decay to `min_lr` at `max_steps`."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    if step >= config.max_steps:
        return config.min_lr
    progress = (step - config.warmup_steps) / max(1, config.max_steps - config.warmup_steps)
    return config.min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (config.lr - config.min_lr)


@torch.no_grad()
def evaluate(
    model: GPT, windows: torch.Tensor, batch_size: int, token_bytes: torch.Tensor, autocast
) -> tuple[float, float]:
    """Mean loss (nats per token) and bits per UTF-8 byte of the targets, end-of-text excluded from the latter."""
    if len(windows) == 0:
        return math.nan, math.nan
    was_training = model.training
    model.eval()
    device = token_bytes.device
    nats = torch.zeros((), dtype=torch.float64, device=device)
    byte_nats = torch.zeros((), dtype=torch.float64, device=device)
    tokens, num_bytes = 0, torch.zeros((), dtype=torch.int64, device=device)
    for chunk in windows.split(batch_size):
        x, y = chunk[:, :-1].to(device), chunk[:, 1:].to(device)
        with autocast:
            _, loss = model(x, y, reduction="none")
        loss = loss.double()
        target_bytes = token_bytes[y.reshape(-1)]
        nats += loss.sum()
        byte_nats += (loss * (target_bytes > 0)).sum()
        tokens += loss.numel()
        num_bytes += target_bytes.sum()
    model.train(was_training)
    return (nats / tokens).item(), (byte_nats / (math.log(2) * num_bytes.clamp(min=1))).item()


def plot_losses(metrics_path: Path, png_path: Path) -> Path | None:
    """Train and validation loss against step, as a PNG (matplotlib's Agg canvas, no display)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = [json.loads(line) for line in metrics_path.read_text().splitlines() if line.strip()]
    if not rows:
        return None
    figure = Figure(figsize=(7, 4), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.plot([r["step"] for r in rows], [r["loss"] for r in rows], label="train")
    evals = [r for r in rows if "val_loss" in r]
    if evals:
        axes.plot([r["step"] for r in evals], [r["val_loss"] for r in evals], "o-", label="validation")
    axes.set_xlabel("step")
    axes.set_ylabel("loss (nats per token)")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(png_path)
    return png_path


# --- setup -----------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Data:
    vocab: Vocab
    lengths: dict[str, int]  # shard path relative to the run -> tokens
    holdout: int  # train tokens held out for validation (0: the run has val shards)
    loader: TrainWindows
    val_windows: torch.Tensor
    train_tokens: int
    validation_note: str


def _prepare_data(run: Path, manifest: dict, config: TrainConfig, checkpoint: dict | None) -> _Data:
    tokenizer = manifest["tokenizer"]
    relative = {split: [s["path"] for s in manifest["shards"] if s["split"] == split] for split in ("train", "val")}
    train_paths, val_paths = shard_paths(run, manifest, "train"), shard_paths(run, manifest, "val")
    if checkpoint is None:
        counts, lengths = count_tokens(train_paths + val_paths, tokenizer["vocab_size"])
        vocab = Vocab.from_counts(tokenizer["name"], counts, tokenizer["eot"])
        val_windows_available = sum(max(0, (lengths[p] - 1) // config.block_size) for p in val_paths)
        eval_count = config.eval_iters * config.batch_size
        train_total = sum(lengths[p] for p in train_paths)
        holdout = 0 if val_windows_available else holdout_tokens(train_total, config.block_size, eval_count)
    else:
        saved = checkpoint["data"]
        if sorted(saved["lengths"]) != sorted(relative["train"] + relative["val"]):
            raise DataError(f"the shards in {run}/manifest.json differ from the ones this checkpoint trained on")
        lengths = {str(run / p): n for p, n in saved["lengths"].items()}
        vocab, holdout = Vocab.from_state_dict(checkpoint["vocab"]), saved["holdout"]
    if holdout:
        train_spans, val_spans = hold_out(train_paths, lengths, holdout)
        note = f"no val shard with a full window: holding out the last {holdout:,} train tokens for validation"
    else:
        train_spans, val_spans = [Span(p) for p in train_paths], [Span(p) for p in val_paths]
        note = f"validating on {sum(lengths[p] for p in val_paths):,} tokens of {len(val_paths)} val shard(s)"
    table = vocab.lookup_table(tokenizer["vocab_size"])
    loader = TrainWindows(train_spans, lengths, table, config.block_size, config.batch_size, config.seed)
    val = validation_windows(val_spans, lengths, table, config.block_size, config.eval_iters * config.batch_size)
    train_tokens = sum((s.end or lengths[s.path]) - s.start for s in train_spans)
    by_relative = {str(p): lengths[str(run / p)] for p in relative["train"] + relative["val"]}
    return _Data(vocab, by_relative, holdout, loader, val, train_tokens, note)


def _resolve_config(preset, steps, overrides, checkpoint) -> TrainConfig:
    if checkpoint is None:
        config = build_config(preset, overrides)
    else:
        config = config_from_dict(checkpoint["config"])
        model_shape = {k: getattr(config, k) for k in MODEL_KEYS}
        config.stop_at_step = None
        apply_overrides(config, overrides)
        changed = [k for k in MODEL_KEYS if getattr(config, k) != model_shape[k]]
        if changed:
            raise ConfigError(
                f"cannot change {', '.join(changed)} when resuming: the checkpoint's model has a fixed shape"
            )
    if steps is not None:
        config.max_steps = steps
        apply_overrides(config, ())  # validate
    return config


def _model_config(config: TrainConfig, vocab_len: int) -> GPTConfig:
    padded = (vocab_len + 63) // 64 * 64  # a multiple of 64 suits matrix kernels; extra rows are never targets
    return GPTConfig(
        vocab_size=padded, block_size=config.block_size, n_layer=config.n_layer, n_head=config.n_head,
        n_embd=config.n_embd, dropout=config.dropout, bias=config.bias, rope_base=config.rope_base,
    )


def _make_optimizer(model: GPT, config: TrainConfig, device_type: str) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (not on norms' gains or biases)."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": config.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    # the fused kernel does AdamW's arithmetic in one pass over each tensor (CPU and CUDA)
    return torch.optim.AdamW(groups, lr=config.lr, betas=(config.beta1, config.beta2), fused=True)


def _use_bf16(config: TrainConfig, device_type: str) -> bool:
    return config.dtype == "bfloat16" or (
        config.dtype == "auto" and device_type == "cuda" and torch.cuda.is_bf16_supported()
    )


# --- checkpoints, RNG, metrics ---------------------------------------------------------------------------


def _load_for_resume(path: Path) -> dict:
    if not path.is_file():
        raise DataError(f"no checkpoint at {path} to resume: drop --resume to start a new run")
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    if checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise DataError(f"{path} is not a ccforge checkpoint ({CHECKPOINT_FORMAT})")
    return checkpoint


def _save_checkpoint(
    path: Path, model: GPT, optimizer, step: int, config: TrainConfig, data: _Data, device_type: str
) -> None:
    checkpoint = {
        "format": CHECKPOINT_FORMAT,
        "model": model.state_dict(),  # the module itself, so no torch.compile `_orig_mod.` prefixes
        "model_config": dataclasses.asdict(model.config),
        "optimizer": optimizer.state_dict(),
        "step": step,
        "config": dataclasses.asdict(config),
        "vocab": data.vocab.state_dict(),
        "data": {"lengths": data.lengths, "holdout": data.holdout, "loader": data.loader.state_dict()},
        "rng": _rng_state(device_type),
    }
    partial = path.with_name(path.name + ".partial")
    torch.save(checkpoint, partial)
    os.replace(partial, path)  # a crash mid-save never leaves a broken checkpoint


def _rng_state(device_type: str) -> dict:
    state = {"torch": torch.get_rng_state()}
    if device_type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict, device_type: str) -> None:
    torch.set_rng_state(state["torch"])
    if device_type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state_all(state["cuda"])


def _open_metrics(path: Path, step: int):
    """metrics.jsonl for appending; on resume, drop lines logged after the checkpoint's step."""
    kept = []
    if step and path.is_file():
        kept = [line for line in path.read_text().splitlines() if line.strip() and json.loads(line)["step"] <= step]
    handle = path.open("w")
    handle.writelines(line + "\n" for line in kept)
    return handle


def _note(message: str) -> None:
    tqdm.write(message, file=sys.stderr)
