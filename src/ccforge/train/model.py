"""A compact GPT in the spirit of nanoGPT's model.py, readable in one sitting.

Pre-norm transformer blocks, causal self-attention through
`F.scaled_dot_product_attention`, rotary position embeddings (no learned position
table), and an output layer tied to the token embedding. `KVCache` holds every
layer's keys and values so that sampling feeds one new token per step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
from torch.nn import functional as F


@dataclass
class GPTConfig:
    vocab_size: int
    block_size: int = 64
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = False  # biases in linear layers and LayerNorms (nanoGPT: False is a bit better and faster)
    rope_base: float = 10000.0


class KVCache:
    """Keys and values of every layer for the first `length` positions of a window."""

    def __init__(self, config: GPTConfig, batch_size: int, device: torch.device | str, dtype: torch.dtype):
        head_dim = config.n_embd // config.n_head
        shape = (config.n_layer, batch_size, config.n_head, config.block_size, head_dim)
        self.keys = torch.zeros(shape, device=device, dtype=dtype)
        self.values = torch.zeros(shape, device=device, dtype=dtype)
        self.length = 0

    def reset(self) -> None:
        self.length = 0


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate pairs (first half, second half) of each head's channels by position-dependent angles."""
    half = x.size(-1) // 2
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat((x1 * cos + x2 * sin, x2 * cos - x1 * sin), dim=-1)


class ChunkedLinearCrossEntropy(torch.autograd.Function):
    """Mean cross-entropy of `hidden @ weight.T`, computed a block of rows at a time.

    The gradients are computed in the same pass (softmax minus one-hot, times the rows'
    inputs) in one reused (rows x vocab) buffer, so the full logits never exist and no
    large tensor is allocated per block (fresh large CPU allocations cost page faults).
    Same result as `F.cross_entropy(F.linear(hidden, weight), targets)`, much less memory traffic.
    """

    ROWS = 128

    @staticmethod
    def forward(ctx, hidden, weight, targets):
        n, step = hidden.size(0), ChunkedLinearCrossEntropy.ROWS
        grad_hidden = torch.empty_like(hidden)
        grad_weight = torch.zeros_like(weight)
        buffer = hidden.new_empty(min(step, n), weight.size(0))
        total = torch.zeros((), dtype=torch.float32, device=hidden.device)
        for start in range(0, n, step):
            rows = hidden[start : start + step]
            target = targets[start : start + step].unsqueeze(1)
            logits = torch.mm(rows, weight.t(), out=buffer[: rows.size(0)])
            top = logits.amax(dim=1, keepdim=True)
            picked = logits.gather(1, target)
            probs = logits.sub_(top).exp_()  # unnormalised softmax, in place
            norm = probs.sum(dim=1, keepdim=True)
            total += (norm.log() + top - picked).sum()
            probs.div_(norm * n)  # d(mean loss)/d(logits) = (softmax - one_hot) / n
            probs.scatter_add_(1, target, torch.full(target.shape, -1.0 / n, dtype=probs.dtype, device=probs.device))
            torch.mm(probs, weight, out=grad_hidden[start : start + step])
            grad_weight.addmm_(probs.t(), rows)
        ctx.grads = (grad_hidden, grad_weight)
        return total / n

    @staticmethod
    def backward(ctx, grad_loss):
        grad_hidden, grad_weight = ctx.grads
        del ctx.grads
        return grad_hidden.mul_(grad_loss), grad_weight.mul_(grad_loss), None


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        assert config.n_embd % config.n_head == 0, "n_embd must be a multiple of n_head"
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.dropout = config.dropout
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(self, x, cos, sin, cache: KVCache | None = None, layer: int = 0):
        B, T, C = x.size()
        hs = C // self.n_head
        qkv = self.c_attn(x).view(B, T, 3 * self.n_head, hs)
        # queries and keys rotated in one pass (one set of small ops per step instead of two)
        qk = apply_rope(qkv[:, :, : 2 * self.n_head], cos.unsqueeze(1), sin.unsqueeze(1)).transpose(1, 2)
        q, k = qk[:, : self.n_head], qk[:, self.n_head :]  # (B, nh, T, hs)
        v = qkv[:, :, 2 * self.n_head :].transpose(1, 2)
        mask, causal = None, True
        if cache is not None:
            start = cache.length
            keys, values = cache.keys[layer], cache.values[layer]
            keys[:, :, start : start + T] = k  # written in place into the preallocated window
            values[:, :, start : start + T] = v
            k, v = keys[:, :, : start + T], values[:, :, : start + T]
            if start > 0:  # new queries see every cached position and the new ones up to themselves
                causal = False
                if T > 1:
                    mask = torch.ones(T, start + T, dtype=torch.bool, device=x.device).tril(diagonal=start)
        y = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, is_causal=causal, dropout_p=self.dropout if self.training else 0.0
        )
        y = self.c_proj(y.transpose(1, 2).reshape(B, T, C))
        return self.resid_dropout(y) if self.dropout else y


class MLP(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        y = self.c_proj(F.gelu(self.c_fc(x)))
        return self.dropout(y) if self.dropout.p else y


class Block(nn.Module):
    """Pre-norm: x + attn(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x, cos, sin, cache: KVCache | None = None, layer: int = 0):
        x = x + self.attn(self.ln_1(x), cos, sin, cache, layer)
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # tied: one matrix embeds tokens and scores them
        cos, sin = self._rope_tables(config)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.apply(self._init_weights)
        for name, param in self.named_parameters():  # GPT-2's scaled init of residual projections
            if name.endswith("c_proj.weight"):
                nn.init.normal_(param, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _rope_tables(config: GPTConfig) -> tuple[torch.Tensor, torch.Tensor]:
        head_dim = config.n_embd // config.n_head
        inv_freq = 1.0 / (config.rope_base ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
        angles = torch.outer(torch.arange(config.block_size, dtype=torch.float32), inv_freq)
        return angles.cos(), angles.sin()  # (block_size, head_dim / 2), broadcast over batch and heads

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())  # tied weights count once

    def hidden_states(self, idx, cache: KVCache | None = None) -> torch.Tensor:
        """The final-norm outputs (B, T, n_embd) for `idx`, the input of the output layer."""
        T = idx.size(1)
        start = cache.length if cache is not None else 0
        if start + T > self.config.block_size:
            raise ValueError(f"sequence of {start + T} tokens exceeds block_size {self.config.block_size}")
        cos, sin = self.rope_cos[start : start + T], self.rope_sin[start : start + T]
        x = self.wte(idx)
        if self.drop.p:
            x = self.drop(x)
        for layer, block in enumerate(self.blocks):
            x = block(x, cos, sin, cache, layer)
        if cache is not None:
            cache.length += T
        return self.ln_f(x)

    def forward(self, idx, targets=None, cache: KVCache | None = None, reduction: str = "mean"):
        """Logits and loss for `targets`; without targets, logits of the last position only.

        Training on CPU returns no logits: the loss comes from `ChunkedLinearCrossEntropy`.
        """
        x = self.hidden_states(idx, cache)
        if targets is None:
            return self.lm_head(x[:, -1:, :]), None
        on_cpu_fp32 = x.device.type == "cpu" and not torch.is_autocast_enabled("cpu")
        if reduction == "mean" and torch.is_grad_enabled() and on_cpu_fp32:
            # on CPU the full (tokens x vocab) logits and their gradient are hundreds of MB of memory traffic
            loss = ChunkedLinearCrossEntropy.apply(x.reshape(-1, x.size(-1)), self.lm_head.weight, targets.reshape(-1))
            return None, loss
        logits = self.lm_head(x)
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)).float(), targets.reshape(-1), reduction=reduction)
        return logits, loss

    def output_columns(self, vocab_len: int | None = None) -> torch.Tensor:
        """The output layer as an (n_embd, vocab_len) contiguous copy, for decoding one position at a time.

        Same products as `lm_head`, but a (1 x n_embd) row times this layout streams the matrix in
        order, where the (vocab x n_embd) layout takes one strided dot product per token: 47,601 x 128
        float32 on a 2-core EPYC, 3.7 -> 1.0 ms a step (most of a one-prompt step's time).
        """
        return self.lm_head.weight[:vocab_len].t().contiguous()

    def new_cache(self, batch_size: int) -> KVCache:
        weight = self.wte.weight
        return KVCache(self.config, batch_size, weight.device, weight.dtype)
