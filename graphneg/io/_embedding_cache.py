"""Text embeddings from a sentence-transformers model, cached on disk in resumable chunks.

Texts are encoded in fixed chunks (``chunk_size`` texts, in order). Each chunk's embeddings
are one ``.npy`` file in the cache folder, named by a hash of everything that decides them:
the model (its name or path and a fingerprint of its weights and modules), the prompt, the
encoding batch size and the chunk's texts. Files are written atomically, so a run killed at
any point resumes with the chunks that were finished, and a rerun on the same texts encodes
nothing. The chunking is fixed, so a cached chunk holds exactly what encoding it again gives.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._atomic import atomic_write

PathLike = str | os.PathLike[str]


def load_model(name_or_path: str, device: str | None = None) -> Any:
    """A ``SentenceTransformer`` (extra ``st``); a model that cannot be loaded is a ``ValueError``.

    Parameters
    ----------
    name_or_path : str
        A Hugging Face model name or a local folder.
    device : str, default=None
        Torch device; ``None`` lets sentence-transformers choose.

    Returns
    -------
    sentence_transformers.SentenceTransformer
    """
    from .._optional import optional_import

    st = optional_import("sentence_transformers", extra="st", feature="--model (encoding texts)")
    try:
        return st.SentenceTransformer(name_or_path, device=device)
    except (OSError, ValueError, RuntimeError) as err:
        raise ValueError(f"cannot load model {name_or_path!r} ({' '.join(str(err).split())[:300]})") from None


def model_fingerprint(model: Any) -> str:
    """A hash of a model's module layout and weights (names, shapes, dtypes and a value sample).

    Parameters
    ----------
    model : torch.nn.Module
        E.g. a ``SentenceTransformer``; ``repr(model)`` (pooling, normalisation) is hashed too.

    Returns
    -------
    str
        64 hex digits; changes when any weight tensor's first or strided values change.

    Examples
    --------
    >>> import torch
    >>> a, b = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    >>> model_fingerprint(a) == model_fingerprint(a), model_fingerprint(a) == model_fingerprint(b)
    (True, False)
    """
    import torch

    h = hashlib.sha256(re.sub(r" at 0x[0-9a-fA-F]+", "", repr(model)).encode())  # no object addresses
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            flat = tensor.detach().reshape(-1)
            step = max(1, flat.numel() // 4096)  # ~8k values per tensor: fast for any model size
            sample = torch.cat([flat[:4096], flat[::step][:4096]]).float().cpu().numpy()
            h.update(f"{name}|{tuple(tensor.shape)}|{tensor.dtype}".encode())
            h.update(sample.tobytes())
    return h.hexdigest()


def resolve_prompt(model: Any, prompt: str | None, role: str) -> str:
    """The prompt a text of ``role`` (``'query'`` or ``'document'``) gets: ``prompt`` when
    given, else the model's prompt of that name (``document`` also tries ``passage`` and
    ``corpus``), else its default prompt, else ``""``.

    Examples
    --------
    >>> class M: prompts, default_prompt_name = {"query": "query: "}, None
    >>> resolve_prompt(M(), None, "query"), resolve_prompt(M(), None, "document")
    ('query: ', '')
    """
    if prompt is not None:
        return prompt
    prompts = getattr(model, "prompts", None) or {}
    names = ("query",) if role == "query" else ("document", "passage", "corpus")
    for name in names:
        if name in prompts:
            return prompts[name]
    default = getattr(model, "default_prompt_name", None)
    return prompts.get(default, "") if default else ""


def encode_cached(
    model: Any,
    texts: Sequence[str],
    *,
    model_key: str,
    prompt: str = "",
    cache_dir: PathLike | None = None,
    chunk_size: int = 1024,
    batch_size: int = 32,
    show_progress: bool = False,
    desc: str = "encoding",
) -> tuple[np.ndarray, dict[str, int]]:
    """Encode ``texts`` with ``model.encode``, reusing and filling an on-disk chunk cache.

    Parameters
    ----------
    model : object with ``encode(texts, prompt=..., batch_size=..., show_progress_bar=...)``
        A ``SentenceTransformer``.
    texts : sequence of str
    model_key : str
        Identifies the model in the cache: e.g. its name plus :func:`model_fingerprint`.
    prompt : str, default=""
        Prepended by the model (``encode(prompt=...)``); part of the cache key.
    cache_dir : str or path-like, default=None
        The cache folder (created); ``None`` caches nothing.
    chunk_size : int, default=1024
        Texts per cached file (the unit of resumption).
    batch_size : int, default=32
        Encoding batch size; part of the key (padding can change the last bits).
    show_progress : bool, default=False
        A tqdm bar over the texts.
    desc : str, default="encoding"
        The bar's label.

    Returns
    -------
    (ndarray of shape (len(texts), dim), float32, dict)
        The embeddings and counts ``{"encoded": texts encoded now, "cached": texts read}``.

    Examples
    --------
    >>> import tempfile
    >>> class Model:
    ...     def encode(self, texts, **kw):
    ...         return np.array([[len(t), 1.0] for t in texts], np.float32)
    >>> folder = tempfile.mkdtemp()
    >>> X, counts = encode_cached(Model(), ["a", "bb", "ccc"], model_key="toy", cache_dir=folder, chunk_size=2)
    >>> X[:, 0].tolist(), counts
    ([1.0, 2.0, 3.0], {'encoded': 3, 'cached': 0})
    >>> encode_cached(Model(), ["a", "bb", "ccc"], model_key="toy", cache_dir=folder, chunk_size=2)[1]
    {'encoded': 0, 'cached': 3}
    """
    texts = list(texts)
    folder = Path(cache_dir) if cache_dir is not None else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    parts, counts = [], {"encoded": 0, "cached": 0}
    bar = _bar(len(texts), show_progress, desc)
    for start in range(0, len(texts), chunk_size):
        chunk = texts[start : start + chunk_size]
        file = folder / f"{chunk_key(model_key, prompt, batch_size, chunk)}.npy" if folder is not None else None
        X = _load(file) if file is not None else None
        if X is None or X.shape[0] != len(chunk):
            X = np.ascontiguousarray(model.encode(chunk, prompt=prompt or None, batch_size=batch_size,
                                                  show_progress_bar=False, convert_to_numpy=True), dtype=np.float32)
            counts["encoded"] += len(chunk)
            if file is not None:
                with atomic_write(file, "wb") as fh:
                    np.save(fh, X, allow_pickle=False)
        else:
            counts["cached"] += len(chunk)
        parts.append(X)
        if bar is not None:
            bar.update(len(chunk))
    if bar is not None:
        bar.close()
    if not parts:
        raise ValueError("`texts` must not be empty.")
    return np.concatenate(parts), counts


def chunk_key(model_key: str, prompt: str, batch_size: int, texts: Sequence[str]) -> str:
    """The cache file name of one chunk: a hash of the model key, prompt, batch size and texts.

    Examples
    --------
    >>> chunk_key("m", "", 32, ["a"]) == chunk_key("m", "query: ", 32, ["a"])
    False
    """
    h = hashlib.sha256(json.dumps([model_key, prompt, batch_size]).encode())
    for t in texts:
        h.update(hashlib.sha256(t.encode("utf-8")).digest())
    return h.hexdigest()


def _load(file: Path) -> np.ndarray | None:
    try:
        X = np.load(file, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None  # absent or unreadable: encode again (and overwrite)
    return X if X.ndim == 2 and X.dtype == np.float32 else None


def _bar(total: int, show: bool, desc: str) -> Any:
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="text")
