"""Machine translation with transformers seq2seq models (MarianMT, NLLB, M2M100), offline only.

The model comes from a local directory or the local Hugging Face cache (``local_files_only``);
nothing is downloaded. ``Settings.mt_model`` names it; ``{src}`` and ``{tgt}`` in the name pick a
per-pair model (``/models/opus-mt-{src}-{tgt}``), and a folder holding ``<src>-<tgt>/`` subfolders
works too.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from productreel.errors import InputError, TransientError

log = logging.getLogger(__name__)

# NLLB names languages with script-qualified FLORES-200 codes.
NLLB_CODES = {
    "en": "eng_Latn", "de": "deu_Latn", "fr": "fra_Latn", "es": "spa_Latn", "it": "ita_Latn",
    "nl": "nld_Latn", "pt": "por_Latn", "ja": "jpn_Jpan", "zh": "zho_Hans", "ko": "kor_Hang",
    "ar": "arb_Arab", "hi": "hin_Deva",
}
BATCH_SIZE = 16


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


@lru_cache(maxsize=4)
def load_model(name: str):
    """(model, tokenizer, model_type) for ``name``, loaded from local files only."""
    try:
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer
    except ImportError as exc:  # pragma: no cover - transformers is a dependency
        raise InputError("machine translation needs the transformers package") from exc
    try:
        tokenizer = AutoTokenizer.from_pretrained(name, local_files_only=True)
        model = AutoModelForSeq2SeqLM.from_pretrained(name, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise InputError(f"machine-translation model cannot be loaded from local files: {exc}".splitlines()[0], where=name) from exc
    model.eval()
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
        for token in (f">>{tgt}<<", f">>{NLLB_CODES.get(tgt, '')[:3]}<<"):
            if token in tokenizer.get_vocab():
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
