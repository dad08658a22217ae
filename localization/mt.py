"""Machine translation with transformers seq2seq models (MarianMT, M2M100), offline only.

Which model a market gets (:func:`choose`):

- ``Settings.mt_model`` (``PRODUCTREEL_MT_MODEL``) names one explicitly: a catalog id
  (``opus-mt-en-de``), a local directory, or a hub id already in the local cache. ``{src}`` and
  ``{tgt}`` in the name pick a per-pair model (``/models/opus-mt-{src}-{tgt}``), and a folder holding
  ``<src>-<tgt>/`` subfolders works too.
- Otherwise the model catalog's recommendation for the pair (``productreel/model_catalog/mt.yaml``:
  OPUS-MT per language pair) from the local Hugging Face cache, where ``productreel models pull mt``
  put it. None there: the copy stays in the source language, with a hint naming that command.

Nothing is downloaded: models load with ``local_files_only``. A model whose licence forbids
commercial use is refused for ads by name: a catalog entry with ``ads: false``, and NLLB-200
(CC-BY-NC-4.0) however it is named, told by its README's ``license:``, its config or tokenizer, or
its FLORES-200 language codes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from productreel.errors import InputError, TransientError

log = logging.getLogger(__name__)

# NLLB names languages with script-qualified FLORES-200 codes.
NLLB_CODES = {
    "en": "eng_Latn", "de": "deu_Latn", "fr": "fra_Latn", "es": "spa_Latn", "it": "ita_Latn",
    "nl": "nld_Latn", "pt": "por_Latn", "ja": "jpn_Jpan", "zh": "zho_Hans", "ko": "kor_Hang",
    "ar": "arb_Arab", "hi": "hin_Deva",
}
BATCH_SIZE = 16
# Target-language tokens of multi-target Marian models (OPUS-MT en-zh, en-ar, tc-big en-pt, Tatoeba en-ja),
# tried in order after >>{tgt}<<: the first one the vocabulary holds is put before every sentence.
TARGET_TOKENS = {
    "zh": (">>cmn_Hans<<", ">>zho_Hans<<", ">>cmn<<", ">>zho<<"),
    "ar": (">>ara<<", ">>arb<<"),
    "pt": (">>por<<",),
    "ja": (">>jpn<<",),
    "ko": (">>kor<<",),
    "hi": (">>hin<<",),
}
NLLB_LICENCE = "CC-BY-NC-4.0"


@dataclass(frozen=True)
class MTModel:
    """A translation model a run may use: where it loads from and what the copy records about it."""

    path: str  # local folder (or a hub id the local cache holds)
    id: str  # the catalog id, or the folder's name for an explicit PRODUCTREEL_MT_MODEL
    revision: str  # the pinned commit; "local-<hash>" for a folder outside the hub cache
    licence: str = ""
    attribution: str | None = None
    repo: str = ""  # the Hugging Face repo of a catalog model


@dataclass(frozen=True)
class NoModel:
    """Why a market gets no machine translation: one line, and whether a licence refused the model."""

    reason: str
    refused: bool = False
    failed: bool = False  # the model is there but broken (a checksum that does not match)


def choose(spec: str | None, market: Any, src: str) -> MTModel | NoModel:
    """The model that translates ``src`` into ``market``'s language for an ad, or why there is none.

    ``spec`` is ``Settings.mt_model``; unset, the catalog's recommended model in the local cache.
    """
    from productreel import model_store

    tgt = str(market.language).lower() if hasattr(market, "language") else model_store.market_language(market)[0]
    code = getattr(market, "code", str(market))
    if spec:
        entry = model_store.find("mt", spec) if "/" not in spec and "{" not in spec and not Path(spec).expanduser().exists() else None
        if entry is None:
            name = resolve_model(spec, src, tgt)
            folder = _model_files(name) if name else None  # a hub id: its snapshot in the local cache
            if folder is None:
                return NoModel(f"no machine-translation model for {src}->{tgt} under {spec}")
            name = str(folder)
            refusal = licence_refusal(name)
            if refusal:
                return NoModel(refusal, refused=True)
            return MTModel(path=name, id=_display_name(name), revision=local_revision(name), licence=_readme_licence(name) or "")
        if f"{src}-{tgt}" not in entry.languages:
            return NoModel(f"machine-translation model {entry.id} (PRODUCTREEL_MT_MODEL) does not translate {src}->{tgt}")
        choice = entry
    else:
        choice = model_store.recommended("mt", market, source_lang=src)
        if choice is None:
            return NoModel(f"no machine-translation model that may be used in ads covers {src}->{tgt}")
    if not choice.ads:
        return NoModel(f"machine-translation model {choice.id} ({choice.repo}) is licensed {choice.licence}, "
                       "which does not allow use in ads", refused=True)
    try:
        folder = model_store.local_dir(choice)
    except InputError as exc:  # a file that differs from its pinned sha256
        return NoModel(str(exc), failed=True)
    if folder is None:
        return NoModel(f"no machine-translation model for {src}->{tgt} in the local model cache: run "
                       f"`productreel models pull mt --markets {code}` ({choice.id}, {choice.licence})")
    refusal = licence_refusal(str(folder))
    if refusal:  # the catalog says it may be used, the model itself says otherwise
        return NoModel(refusal, refused=True)
    return MTModel(path=str(folder), id=choice.id, revision=model_store.commit_of(choice) or choice.revision,
                   licence=choice.licence, attribution=choice.attribution, repo=choice.repo)


def _display_name(name: str) -> str:
    path = Path(name)
    if path.parent.name == "snapshots" and path.parent.parent.name.startswith("models--"):
        return path.parent.parent.name[len("models--"):].replace("--", "/")
    return path.name if path.is_dir() else name


def local_revision(name: str) -> str:
    """A revision for a model named by path: its hub-cache commit, else a hash of its files' names, sizes and times."""
    path = Path(name).expanduser()
    if not path.is_dir():  # a hub id: the snapshot the local cache holds for it
        path = _model_files(name) or path
        if not path.is_dir():
            return "local"
    if path.parent.name == "snapshots" and re.fullmatch(r"[0-9a-f]{40}", path.name):
        return path.name
    stats = sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in path.iterdir() if p.is_file())
    return "local-" + hashlib.sha256(json.dumps(stats).encode()).hexdigest()[:16]


def _model_files(name: str) -> Path | None:
    """The local folder of ``name``: the folder itself, or a hub id's snapshot in the local cache."""
    path = Path(name).expanduser()
    if path.is_dir():
        return path
    try:
        from huggingface_hub import try_to_load_from_cache

        from productreel.model_store import hub_cache

        # The cache folder as the environment names it now (huggingface_hub reads HF_HUB_CACHE once, at import).
        found = try_to_load_from_cache(name, "config.json", cache_dir=str(hub_cache()))
    except Exception:  # noqa: BLE001 - not a hub id the cache knows
        return None
    return Path(found).parent if isinstance(found, str) else None


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _readme_licence(name: str) -> str | None:
    """The ``license:`` of a model folder's README front matter (a Hugging Face model card), if any."""
    folder = _model_files(name)
    if folder is None:
        return None
    try:
        text = (folder / "README.md").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    match = re.match(r"---\s*\n(.*?)\n---", text, re.S)
    if not match:
        return None
    found = re.search(r"^licen[cs]e:\s*['\"]?([\w.+-]+)", match.group(1), re.M)
    return found.group(1) if found else None


def is_nllb(name: str) -> bool:
    """True when the model named ``name`` is an NLLB-200 checkpoint (config, tokenizer or name tell)."""
    folder = _model_files(name)
    texts = [name]
    if folder is not None:
        config = _read_json(folder / "config.json")
        tok = _read_json(folder / "tokenizer_config.json")
        texts += [str(config.get("_name_or_path", "")), str(tok.get("tokenizer_class", "")), str(tok.get("name_or_path", ""))]
        codes = tok.get("additional_special_tokens") or tok.get("extra_special_tokens") or []
        if isinstance(codes, list) and "eng_Latn" in [str(c.get("content", c)) if isinstance(c, dict) else str(c) for c in codes]:
            return True
        special = _read_json(folder / "special_tokens_map.json").get("additional_special_tokens") or []
        if isinstance(special, list) and "eng_Latn" in [str(c.get("content", c)) if isinstance(c, dict) else str(c) for c in special]:
            return True
    return any("nllb" in t.lower() for t in texts)


def licence_refusal(name: str) -> str | None:
    """The one-line reason the model named ``name`` may not translate an ad, or None when it may."""
    licence = _readme_licence(name) or ""
    if is_nllb(name):
        return (f"machine-translation model {_display_name(name)} is NLLB-200, licensed {licence.upper() or NLLB_LICENCE}, "
                "which does not allow use in ads")
    if re.search(r"(^|-)nc(-|$)", licence.lower()):
        return f"machine-translation model {_display_name(name)} is licensed {licence}, which does not allow use in ads"
    return None


def resolve_model(spec: str, src: str, tgt: str) -> str | None:
    """The model directory or hub id for a language pair, or None when none is there."""
    name = spec.format(src=src, tgt=tgt, lang=tgt)
    path = Path(name).expanduser()
    if path.is_dir():
        if (path / "config.json").is_file():
            return str(path)
        for sub in (f"{src}-{tgt}", f"opus-mt-{src}-{tgt}", f"{src}_{tgt}"):
            if (path / sub / "config.json").is_file():
                return str(path / sub)
        return None
    if "/" in name and not path.is_absolute():
        return name  # a hub id: from_pretrained looks in the local cache only
    return None


_LOAD_LOCK = threading.Lock()


def load_model(name: str):
    """(model, tokenizer, model_type) for ``name``, loaded from local files only, once per process.

    One load at a time: transformers builds a model under a process-wide ``torch.device("meta")`` context, so two
    threads loading at once (a run's head start and its flow compute the same job's inputs) break each other's
    tensors ("Tensor on device cpu is not on the expected device meta"), and the second would load it again.
    """
    with _LOAD_LOCK:
        return _load_model(name)


# One model per language pair of a run stays loaded (OPUS-MT: 300 MB, tc-big 900 MB each): a run's jobs go
# product by product through every market, so a smaller cache would load each model again for every product.
@lru_cache(maxsize=16)
def _load_model(name: str):
    try:
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer
    except ImportError as exc:  # pragma: no cover - transformers is a dependency
        raise InputError("machine translation needs the transformers package") from exc
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # a progress bar per load would cut through the run's own
    try:
        tokenizer = AutoTokenizer.from_pretrained(name, local_files_only=True)
        model = AutoModelForSeq2SeqLM.from_pretrained(name, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise InputError(f"machine-translation model cannot be loaded from local files: {exc}".splitlines()[0], where=name) from exc
    finally:
        transformers_logging.enable_progress_bar()
    model.eval()
    # Generation is bounded by max_new_tokens (translate_batch); the checkpoint's max_length (OPUS-MT: 512) steps aside.
    model.generation_config.max_length = None
    return model, tokenizer, model.config.model_type


def translate_batch(texts: list[str], src: str, tgt: str, model_name: str, *, max_new_tokens: int = 128) -> list[str]:
    """Translate ``texts`` from ``src`` to ``tgt`` (language codes) in batches with one model."""
    if not texts:
        return []
    import torch

    model, tokenizer, model_type = load_model(model_name)
    kwargs: dict = {}
    prefix = ""
    if model_type == "m2m_100":
        nllb = NLLB_CODES.get(tgt)
        if nllb and nllb in tokenizer.get_vocab():
            # NLLB: FLORES-200 codes; the target code is forced as the first generated token.
            if hasattr(tokenizer, "src_lang") and NLLB_CODES.get(src):
                tokenizer.src_lang = NLLB_CODES[src]
            kwargs["forced_bos_token_id"] = tokenizer.convert_tokens_to_ids(nllb)
        elif hasattr(tokenizer, "get_lang_id"):  # M2M100: two-letter codes
            tokenizer.src_lang = src
            kwargs["forced_bos_token_id"] = tokenizer.get_lang_id(tgt)
    elif model_type == "marian":
        # Multi-target Marian models pick the language with a >>xxx<< token at the start.
        vocab = tokenizer.get_vocab()
        for token in (f">>{tgt}<<", *TARGET_TOKENS.get(tgt, ()), f">>{NLLB_CODES.get(tgt, '')[:3]}<<"):
            if token in vocab:
                prefix = token + " "
                break
    # Generation may not run past the model's position table (512 for real Marian models).
    limit = getattr(model.config, "max_position_embeddings", None)
    if limit:
        max_new_tokens = min(max_new_tokens, int(limit) - 1)

    out: list[str] = []
    for start in range(0, len(texts), BATCH_SIZE):
        batch = [prefix + t for t in texts[start : start + BATCH_SIZE]]
        enc = tokenizer(batch, return_tensors="pt", padding=True, truncation=True, max_length=min(512, limit or 512))
        # A translation is rarely more than twice as many tokens as its source.
        budget = min(max_new_tokens, 2 * int(enc["input_ids"].shape[1]) + 8)
        try:
            with torch.inference_mode():
                generated = model.generate(**enc, max_new_tokens=budget, num_beams=1, do_sample=False, **kwargs)
        except torch.cuda.OutOfMemoryError as exc:  # pragma: no cover - GPU only
            raise TransientError("machine translation ran out of GPU memory") from exc
        out += [t.strip() for t in tokenizer.batch_decode(generated, skip_special_tokens=True)]
    return out
