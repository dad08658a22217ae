"""A tiny random MarianMT translation model, for tests and smoke runs without real weights.

``build_tiny_mt(out_dir, src, tgt)`` trains two small SentencePiece models (source and target
side), writes the Marian vocabulary, and saves a randomly initialised ``MarianMTModel`` and its
``MarianTokenizer`` with ``save_pretrained``: the same layout as an OPUS-MT checkpoint on the Hugging
Face hub (config.json, generation_config.json, model.safetensors, source.spm, target.spm,
vocab.json, tokenizer_config.json, and a README.md whose front matter gives the licence), loaded by
exactly the same code (``localization.mt.load_model``). Only its size and its weights differ.

Random weights would mostly answer with an empty string. The tiny model's output bias instead
ranks a few target-language words first and the end-of-sentence token right after them, and its
generation config forbids repeating a token, so greedy decoding always answers with that short
phrase (``TINY_OUTPUT[tgt]``): every string it translates comes back, deterministically, in the
target language's script. It is a stand-in for a translator, not one.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from pathlib import Path

from productreel.errors import InputError

# What the tiny model answers for each target language (its words are single pieces of its vocabulary).
TINY_OUTPUT: dict[str, tuple[str, ...]] = {
    "de": ("Maschinell", "übersetzt"),
    "fr": ("Traduit", "automatiquement"),
    "es": ("Traducido", "automáticamente"),
    "it": ("Tradotto", "automaticamente"),
    "nl": ("Machinaal", "vertaald"),
    "pt": ("Traduzido", "automaticamente"),
    "ja": ("機械翻訳",),
    "zh": ("机器翻译",),
    "ko": ("기계", "번역"),
    "hi": ("मशीन", "अनुवाद"),
    "ar": ("ترجمة", "آلية"),
    "en": ("Machine", "translated"),
}
_SOURCE_TEXT = (
    "Shop now. A ceramic mug for coffee and tea, dishwasher safe, holds 350 ml. "
    "Stainless steel bottle keeps drinks cold for 24 hours. Soft cotton tote bag with a long strap. "
    "Chef knife with a walnut handle. Fill the kettle with water and press the button. "
    "Free shipping on every order! Limited offer, while stocks last."
)
_SPECIALS = ("</s>", "<unk>", "<pad>")  # ids 0, 1, 2 (pad last, as in OPUS-MT: decoder_start = pad)


def _train_spm(lines: list[str], symbols: tuple[str, ...], vocab_size: int) -> bytes:
    """A small unigram SentencePiece model trained on ``lines``; ``symbols`` are kept as single pieces."""
    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=model,
        vocab_size=vocab_size,
        model_type="unigram",
        character_coverage=1.0,
        user_defined_symbols=list(symbols),
        # Marian's own special tokens live in vocab.json; SentencePiece keeps only <unk>.
        unk_id=0, bos_id=-1, eos_id=-1, pad_id=-1,
        hard_vocab_limit=False,
        minloglevel=2,
    )
    return model.getvalue()


def _pieces(model: bytes) -> list[str]:
    import sentencepiece as spm

    proc = spm.SentencePieceProcessor(model_proto=model)
    return [proc.id_to_piece(i) for i in range(proc.get_piece_size())]


def build_tiny_mt(out_dir: Path, src: str = "en", tgt: str = "de", *, seed: int = 0) -> Path:
    """Write a tiny random MarianMT ``src`` -> ``tgt`` model and tokenizer to ``out_dir``; return the folder.

    The folder has the layout of an OPUS-MT repo snapshot, loads with
    ``AutoModelForSeq2SeqLM``/``AutoTokenizer.from_pretrained(out_dir, local_files_only=True)``,
    and translates anything into ``TINY_OUTPUT[tgt]``.
    """
    try:
        import sentencepiece  # noqa: F401  - the Marian tokenizer needs it too
        import torch
        from transformers import GenerationConfig, MarianConfig, MarianMTModel, MarianTokenizer
    except ImportError as exc:
        raise InputError(f"a tiny translation model needs transformers, torch and sentencepiece: {exc}") from exc
    src, tgt = src.lower(), tgt.lower()
    words = TINY_OUTPUT.get(tgt)
    if not words:
        raise InputError(f"no tiny translation output for language {tgt!r}; choose from {', '.join(sorted(TINY_OUTPUT))}")
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".tiny-mt-", dir=out.parent))
    try:
        source_lines = [s.strip() + "." for s in _SOURCE_TEXT.split(".") if s.strip()]
        target_lines = [" ".join(words)] * 4 + [" ".join(reversed(words))] + source_lines[:2]
        source_spm = _train_spm(source_lines, (), vocab_size=120)
        target_spm = _train_spm(target_lines, tuple(f"▁{w}" for w in words), vocab_size=80)
        (work / "source.spm").write_bytes(source_spm)
        (work / "target.spm").write_bytes(target_spm)
        # One shared vocabulary (as OPUS-MT has): specials first, then every piece of either side.
        vocab: dict[str, int] = {}
        for piece in (*_SPECIALS, *_pieces(source_spm), *_pieces(target_spm)):
            vocab.setdefault(piece, len(vocab))
        (work / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False, indent=1), encoding="utf-8")
        tokenizer = MarianTokenizer(
            str(work / "source.spm"), str(work / "target.spm"), str(work / "vocab.json"),
            source_lang=src, target_lang=tgt, model_max_length=64,
        )
        pad = vocab["<pad>"]
        config = MarianConfig(
            vocab_size=len(vocab), d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
            decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, max_position_embeddings=64,
            pad_token_id=pad, eos_token_id=vocab["</s>"], decoder_start_token_id=pad, forced_eos_token_id=vocab["</s>"],
            bad_words_ids=[[pad]], scale_embedding=True, share_encoder_decoder_embeddings=True,
        )
        torch.manual_seed(seed)
        model = MarianMTModel(config).eval()
        # The answer: the target words in order, then end of sentence; everything else far below.
        ranked = [vocab[f"▁{w}"] for w in words] + [vocab["</s>"]]
        with torch.no_grad():
            bias = torch.full((1, len(vocab)), -10.0)
            for rank, token in enumerate(ranked):
                bias[0, token] = 10.0 - rank
            model.final_logits_bias.copy_(bias)
        model.generation_config = GenerationConfig(
            decoder_start_token_id=pad, eos_token_id=vocab["</s>"], pad_token_id=pad, forced_eos_token_id=vocab["</s>"],
            bad_words_ids=[[pad]], num_beams=1, no_repeat_ngram_size=1,
        )
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        try:
            model.save_pretrained(work)
            tokenizer.save_pretrained(work)
        finally:
            transformers_logging.enable_progress_bar()
        (work / "README.md").write_text(
            "---\nlicense: cc-by-4.0\ntags: [translation, marian]\n---\n"
            f"# tiny random opus-mt-{src}-{tgt}\n\nA tiny random MarianMT model for tests (productreel "
            f"localization/mt_tiny.py). It answers every sentence with: {' '.join(words)}\n",
            encoding="utf-8",
        )
        if out.exists():
            shutil.rmtree(out)
        os.replace(work, out)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return out


def place_in_hub_cache(model_dir: Path, repo: str, revision: str, hub_cache: Path) -> Path:
    """Copy a model folder into a Hugging Face hub cache as ``repo`` at commit ``revision`` (what a pull leaves).

    The layout is the hub's (``models--owner--name/snapshots/<commit>/`` and ``refs/main``), so
    ``productreel.model_store.local_dir`` finds it; returns the snapshot folder.
    """
    snapshot = Path(hub_cache) / ("models--" + repo.replace("/", "--")) / "snapshots" / revision
    if snapshot.exists():
        shutil.rmtree(snapshot)
    shutil.copytree(model_dir, snapshot)
    refs = snapshot.parent.parent / "refs"
    refs.mkdir(parents=True, exist_ok=True)
    (refs / "main").write_text(revision, encoding="utf-8")
    return snapshot


def tiny_files(model_dir: Path) -> list[str]:
    """The files of a tiny model folder, as a catalog entry's ``files`` lists them."""
    return sorted(p.name for p in Path(model_dir).iterdir() if p.is_file())
