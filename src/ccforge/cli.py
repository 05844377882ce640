"""The `ccforge` command. Each subcommand parses its arguments and calls a job or a room."""

from __future__ import annotations

import argparse
import logging
import sys

from ccforge.config import ConfigError

RUN_EPILOG = """Unrecognised --options are passed to Beam (e.g. --runner DataflowRunner --project P
--region R --temp_location gs://B/tmp). Without --runner the job runs on this machine's cores."""
THREADS_HELP = "CPU threads for torch (default: OMP_NUM_THREADS, else the cores not busy now)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ccforge", description="Common Crawl -> pretraining data.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log Beam's progress too")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the pipeline on WARC inputs", epilog=RUN_EPILOG, allow_abbrev=False)
    run.add_argument("--input", action="append", required=True, metavar="SPEC",
                     help="path, glob, http(s)/s3/gs URL, @list.txt, or a crawl id like CC-MAIN-2024-10")
    run.add_argument("--output", required=True, metavar="DIR", help="run directory (local, gs:// or s3://)")
    run.add_argument("--config", default="fineweb-en", metavar="NAME|FILE",
                     help="built-in config (fineweb-en, fineweb-en-hq, multilingual) or a YAML file")
    run.add_argument("--skip", action="append", default=[], metavar="STAGE[,STAGE]", help="stages to switch off")
    run.add_argument("--set", action="append", default=[], dest="overrides", metavar="KEY=VALUE",
                     help="override a config value, e.g. extract.extractor=resiliparse")
    run.add_argument("--max-files", type=int, default=None, help="with a crawl id: use the first N WARCs")
    run.add_argument("--dedup-against", action="append", default=[], metavar="RUN",
                     help="also drop near-duplicates of documents in an earlier run")

    sub.add_parser("stages", help="list the stages and what each does")

    inspect = sub.add_parser("inspect", help="summarise, show or validate a shard, a folder or a run")
    inspect.add_argument("path", metavar="PATH", help="a run directory, a tokens folder or one Parquet file")
    inspect.add_argument("--show", type=int, default=0, metavar="N", help="print N documents decoded from tokens")
    inspect.add_argument("--validate", action="store_true", help="check every shard against the manifest")
    inspect.add_argument("--json", action="store_true", dest="as_json", help="machine-readable output")

    export = sub.add_parser("export", help="write a run's tokens for llm.c or nanoGPT")
    export.add_argument("run", metavar="RUN", help="run directory with manifest.json")
    export.add_argument("--format", required=True, choices=["llmc", "nanogpt"])
    export.add_argument("--output", required=True, metavar="DIR")

    train = sub.add_parser("train", help="train the bundled GPT on a run's token shards")
    train.add_argument("run", metavar="RUN", help="run directory with manifest.json")
    train.add_argument("--preset", default="tiny", help="tiny | small | gpt2-124m (default tiny)")
    train.add_argument("--steps", type=int, default=None, help="optimizer steps (default: the preset's)")
    train.add_argument("--out", default=None, metavar="DIR", help="checkpoint and metrics.jsonl (default RUN/train-PRESET)")
    train.add_argument("--set", action="append", default=[], dest="overrides", metavar="KEY=VALUE",
                       help="override a training setting, e.g. lr=1e-3")
    train.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    train.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: cuda when present)")
    train.add_argument("--compile", action="store_true", help="torch.compile the model (CUDA)")
    train.add_argument("--threads", type=int, default=None, help=THREADS_HELP)

    sample = sub.add_parser("sample", help="generate text from a checkpoint")
    sample.add_argument("ckpt", metavar="CKPT", help="a training --out directory or a checkpoint file in it")
    prompt = sample.add_mutually_exclusive_group()
    prompt.add_argument("--prompt", default="", help="text to continue")
    prompt.add_argument("--prompt-file", default=None, metavar="F", help="read the prompt from a file")
    sample.add_argument("--max-new-tokens", type=int, default=200)
    sample.add_argument("--temperature", type=float, default=1.0, help="0 = greedy")
    sample.add_argument("--top-k", type=int, default=None)
    sample.add_argument("--top-p", type=float, default=None)
    sample.add_argument("--seed", type=int, default=1337)
    sample.add_argument("--num-samples", type=int, default=1)
    sample.add_argument("--device", default=None)
    sample.add_argument("--threads", type=int, default=None, help=THREADS_HELP)

    blocklist = sub.add_parser("blocklist", help="manage URL blocklists")
    blocklist_sub = blocklist.add_subparsers(dest="action", required=True, metavar="ACTION")
    fetch = blocklist_sub.add_parser("fetch", help="download the current UT1 lists from their publisher")
    fetch.add_argument("--dest", default=None, metavar="DIR",
                       help="where to save them (default $CCFORGE_BLOCKLISTS or ~/.cache/ccforge/blocklists)")
    fetch.add_argument("--category", action="append", default=None, metavar="NAME",
                       help="UT1 category to fetch (repeatable; default: adult)")
    fetch.add_argument("--base-url", default=None, metavar="URL",
                       help="a mirror of UT1's download folder (default: the publisher's)")

    add_classifier_parser(sub)

    scrub = sub.add_parser("scrub-pii", help="scrub PII from a JSONL or Parquet file, streaming")
    scrub.add_argument("input", metavar="IN", help="a .jsonl, .jsonl.gz or .parquet file")
    scrub.add_argument("output", metavar="OUT", help="where to write the scrubbed file (same format)")
    scrub.add_argument("--text-column", default="text", help="the field holding the text (default: text)")
    scrub.add_argument("--set", action="append", default=[], dest="overrides", metavar="KEY=VALUE",
                       help="override a pii setting, e.g. pii.replacement=tag")

    check = sub.add_parser("decontaminate-check", help="count a finished run's documents sharing n-grams with a benchmark")
    check.add_argument("bench_file", metavar="BENCH_FILE",
                       help="JSONL(.gz), Parquet or CSV file, or a directory saved by datasets (local, http(s), gs://, s3://)")
    check.add_argument("run", metavar="RUN", help="a finished run directory (its documents/*.parquet)")
    check.add_argument("--columns", default="", metavar="A,B", help="the item's text fields (default: every field)")
    check.add_argument("--split", action="append", default=[], metavar="NAME",
                       help="split of a saved DatasetDict (repeatable; default: every split)")
    check.add_argument("--name", default=None, help="the benchmark's name (default: the file's name)")
    check.add_argument("--n-grams", type=int, default=13, help="words per n-gram (default 13)")
    check.add_argument("--char-n-grams", type=int, default=50, help="characters per n-gram of CJK text (default 50)")
    check.add_argument("--examples", type=int, default=5, metavar="N", help="documents to show (default 5)")
    return parser


SPEC_HELP = ("a documents Parquet file or folder, a run directory, a JSONL(.gz) file with a text field, "
             "or a text file with one document per line (repeatable)")


def add_classifier_parser(sub) -> None:
    classifier = sub.add_parser("classifier", help="train or evaluate a fastText quality classifier")
    actions = classifier.add_subparsers(dest="action", required=True, metavar="ACTION")
    train = actions.add_parser("train", help="train a fastText classifier: positives against negatives")
    evaluate = actions.add_parser("eval", help="precision, recall and ROC AUC of a model on labelled texts")
    evaluate.add_argument("model", metavar="MODEL", help="a fastText .bin/.ftz, or a transformer directory")
    for parser in (train, evaluate):
        parser.add_argument("--positive", action="append", required=True, metavar="SPEC", help=SPEC_HELP)
        parser.add_argument("--negative", action="append", required=True, metavar="SPEC", help=SPEC_HELP)
        parser.add_argument("--text-column", default="text", help="the field holding the text (default: text)")
        parser.add_argument("--lang", default="", metavar="L",
                            help="only documents in language L (sources without a language field: all)")
        parser.add_argument("--max-docs", type=int, default=None, metavar="N", help="at most N texts per side")
    train.add_argument("--out", required=True, metavar="MODEL", help="where to write the model (.bin)")
    train.add_argument("--epochs", type=int, default=5)
    train.add_argument("--lr", type=float, default=0.1)
    train.add_argument("--word-ngrams", type=int, default=2)
    train.add_argument("--dim", type=int, default=100)
    train.add_argument("--bucket", type=int, default=2_000_000,
                       help="hashed word n-gram rows (fastText's default; the .bin is about bucket x dim x 4 bytes)")
    train.add_argument("--min-count", type=int, default=1)
    train.add_argument("--threads", type=int, default=0, help="0 = every core; 1 = reproducible bit for bit")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--valid-fraction", type=float, default=0.1, help="held out for the printed figures")
    evaluate.add_argument("--threshold", type=float, default=0.5, help="precision and recall at this score")
    evaluate.add_argument("--kind", default="fasttext", choices=["fasttext", "transformer"])
    evaluate.add_argument("--positive-label", default="", help="the label whose probability is the score")


def cmd_classifier(args) -> int:
    import json

    from ccforge.classifier import TrainSettings, evaluate_model, load_texts, train_classifier

    positives = load_texts(args.positive, args.text_column, args.lang, args.max_docs)
    negatives = load_texts(args.negative, args.text_column, args.lang, args.max_docs)
    print(f"{len(positives):,} positive and {len(negatives):,} negative texts")
    if args.action == "train":
        settings = TrainSettings(epochs=args.epochs, lr=args.lr, word_ngrams=args.word_ngrams, dim=args.dim, bucket=args.bucket,
                                 min_count=args.min_count, threads=args.threads, seed=args.seed,
                                 valid_fraction=args.valid_fraction)
        path, evaluation = train_classifier(positives, negatives, args.out, settings)
        print(f"model: {path}")
        if evaluation is None:
            print(json.dumps({"model": str(path), "held_out": 0}))
            return 0
        print("held-out evaluation:")
    else:
        evaluation = evaluate_model(args.model, positives, negatives, args.threshold, args.kind, args.positive_label)
    e = evaluation
    print(f"  n {e.n:,} ({e.n_positive:,} positive, {e.n_negative:,} negative)")
    print(f"  precision {e.precision:.4f}  recall {e.recall:.4f} at score >= {e.threshold}")
    print(f"  ROC AUC {e.auc:.4f}")
    print(json.dumps(e.as_dict()))
    return 0


def cmd_run(args, beam_args: list[str]) -> int:
    from ccforge.config import load_config
    from ccforge.jobs.options import unknown_beam_args
    from ccforge.jobs.run import run_job

    unknown = unknown_beam_args(beam_args)
    if unknown:
        raise ConfigError(f"unknown option {unknown[0]} (see `ccforge run --help`; Beam options pass through)")
    skip = [name for item in args.skip for name in item.split(",") if name.strip()]
    overrides = list(args.overrides)
    overrides += [f"minhash_dedup.against=[{','.join(args.dedup_against)}]"] if args.dedup_against else []
    config = load_config(args.config, overrides, skip)
    stats = run_job(args.input, args.output, config, beam_args, max_files=args.max_files)
    print_summary(stats, args.output)
    return 0


def print_summary(stats: dict, run_dir: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="ccforge funnel", title_justify="left")
    for column in ("stage", "in", "kept", "dropped (top reasons)"):
        table.add_column(column, justify="right" if column in ("in", "kept") else "left")
    for row in stats["stages"]:
        reasons = sorted(row["dropped"].items(), key=lambda kv: -kv[1])[:3]
        text = ", ".join(f"{k} {v}" for k, v in reasons)
        name = row["name"] + (" (skipped)" if row.get("skipped") else "")
        table.add_row(name, str(row["in"]), str(row["kept"]), text)
    console = Console()
    console.print(table)
    console.print(f"done in {stats['elapsed_s']:.1f} s")
    tokenized = any(row["name"] == "tokenize" and not row.get("skipped") for row in stats["stages"])
    outputs = [("documents", "documents/"), ("tokens", "manifest.json"), ("stats", "stats.json"),
               ("report", "report.html")]
    for what, path in outputs:
        if what != "tokens" or tokenized:
            console.print(f"  {what:<10} {run_dir}/{path}")
    for url in stats.get("failed_inputs", []):
        console.print(f"[red]could not read {url}; rerun the same command to retry it[/red]")


def cmd_stages(args) -> int:
    from ccforge.stages import STAGE_DESCRIPTIONS

    width = max(map(len, STAGE_DESCRIPTIONS))
    for name, description in STAGE_DESCRIPTIONS.items():
        print(f"{name:<{width}}  {description}")
    return 0


def cmd_inspect(args) -> int:
    from ccforge.tokenize.inspect import inspect_path

    return inspect_path(args.path, show=args.show, validate=args.validate, as_json=args.as_json)


def cmd_export(args) -> int:
    from ccforge.tokenize.export import export_run

    paths = export_run(args.run, args.format, args.output)
    for path in paths:
        print(path)
    return 0


def cmd_train(args) -> int:
    from ccforge.train.threads import plan_threads, set_cpu_threads

    threads = plan_threads("train", args.threads)  # before torch loads: it may set OpenMP's wait policy
    from ccforge.train.trainer import train

    set_cpu_threads(threads)
    checkpoint = train(args.run, preset=args.preset, steps=args.steps, out_dir=args.out,
                       overrides=args.overrides, resume=args.resume, device=args.device, compile=args.compile)
    print(f"checkpoint: {checkpoint}")
    return 0


def cmd_sample(args) -> int:
    from pathlib import Path

    from ccforge.train.threads import plan_threads, set_cpu_threads

    threads = plan_threads("sample", args.threads)
    from ccforge.train.sampler import sample

    set_cpu_threads(threads)
    prompt = Path(args.prompt_file).read_text() if args.prompt_file else args.prompt
    texts = sample(args.ckpt, prompt=prompt, max_new_tokens=args.max_new_tokens, temperature=args.temperature,
                   top_k=args.top_k, top_p=args.top_p, seed=args.seed, num_samples=args.num_samples,
                   device=args.device)
    for index, text in enumerate(texts):
        if len(texts) > 1:
            print(f"--- sample {index + 1}")
        print(text)
    return 0


def cmd_blocklist(args) -> int:
    from ccforge.blocklist import UT1_BASE_URL, BlocklistError, fetch_blocklists

    try:
        dest = fetch_blocklists(args.dest, categories=tuple(args.category or ("adult",)),
                                base_url=args.base_url or UT1_BASE_URL)
    except BlocklistError as exc:
        raise ValueError(str(exc)) from None
    print(f"saved to {dest}; url_filter reads them from there")
    return 0


def cmd_scrub_pii(args) -> int:
    from ccforge.config import load_config
    from ccforge.scrub import scrub_file

    config = load_config(None, args.overrides)
    counts = scrub_file(args.input, args.output, text_column=args.text_column, config=config.pii)
    found = {k.removeprefix("found:"): v for k, v in counts.items() if k.startswith("found:")}
    summary = ", ".join(f"{k} {v}" for k, v in sorted(found.items())) or "none"
    print(f"{counts.get('rows', 0)} rows, {counts.get('rows_changed', 0)} changed; PII found: {summary}")
    print(f"wrote {args.output}")
    return 0


def cmd_decontaminate_check(args) -> int:
    from ccforge.decontaminate_check import check_run, format_result
    from ccforge.filters.decontaminate import BenchmarkSpec

    name = args.name or args.bench_file.rstrip("/").rsplit("/", 1)[-1].split(".")[0]
    columns = [c.strip() for c in args.columns.split(",") if c.strip()]
    spec = BenchmarkSpec(name=name, path=args.bench_file, columns=columns, splits=args.split)
    result = check_run(spec, args.run, n_grams=args.n_grams, char_n_grams=args.char_n_grams,
                       max_examples=args.examples)
    print(format_result(result, args.bench_file, args.run))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    logging.getLogger("ccforge").setLevel(logging.INFO)
    if not args.verbose:  # Beam's import-time notices (apitools, bigquery) are noise here
        logging.getLogger("apache_beam").setLevel(logging.ERROR)
        for handler in logging.getLogger().handlers:
            handler.addFilter(lambda record: "apitools not found" not in record.getMessage())
    if extra and args.command != "run":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        if args.command == "run":
            code = cmd_run(args, extra)
            if argv is None:  # the console command, not a caller in Python
                skip_final_collection()
            return code
        handler = {
            "stages": cmd_stages,
            "inspect": cmd_inspect,
            "export": cmd_export,
            "scrub-pii": cmd_scrub_pii,
            "decontaminate-check": cmd_decontaminate_check,
            "blocklist": cmd_blocklist,
            "train": cmd_train,
            "sample": cmd_sample,
            "classifier": cmd_classifier,
        }[args.command]
        return handler(args)
    except (ConfigError, ValueError, FileNotFoundError) as exc:
        print(f"ccforge {args.command}: error: {exc}", file=sys.stderr)
        return 2


def skip_final_collection() -> None:
    """Lets the process exit without the interpreter's last garbage collection over all a
    run loaded (Beam, pandas, the models): 0.6 of the 3.3 s such a process took to import,
    set up and exit. The objects alive now are moved out of the collector's sight; the
    run's outputs are all closed by now. Only for a process about to end."""
    import gc

    gc.freeze()


if __name__ == "__main__":
    sys.exit(main())
