"""Tiny random voices (Piper or Kokoro), for tests and smoke runs without real weights.

``build_tiny_voice(out_dir, language)`` writes, under ``out_dir``, the files a Piper voice has in
the Hugging Face repo ``rhasspy/piper-voices`` at the path the voice catalog names for that
language (e.g. ``de/de_DE/thorsten/medium/de_DE-thorsten-medium.onnx``, ``.onnx.json`` and
``MODEL_CARD``), so ``out_dir`` is what ``model_store.local_dir()`` returns for it, and
``clips.voices.PiperVoice`` loads it with the same code as a real voice.

The ONNX graph has Piper's signature (inputs ``input`` [1, T] int64, ``input_lengths`` [1] int64,
``scales`` [3] float32 = noise, length, noise_w; output ``output`` [1, 1, N] float32). Each
phoneme id picks a short random waveform from a table; the waveforms are stretched by the
length scale (so speed works) at ``SAMPLES_PER_ID`` samples an id. Its ``phoneme_id_map`` holds
Piper's special symbols, punctuation, Latin letters, the IPA, spacing-modifier and combining
diacritic blocks, and every code point espeak-ng produces for a sample of the language. It is a
stand-in for a voice, not one: it makes sound, of a plausible length, at the configured rate.

When the catalog's voice for the language is a Kokoro voice, the folder is the Kokoro ONNX export's
instead: every file the entry names (``onnx/model.onnx`` with inputs ``input_ids``, ``style``
[1, 256] and ``speed``, output ``waveform`` at 24 kHz; ``voices/<name>.bin``, rows of 256 float32;
``tokenizer.json`` with the phoneme vocabulary; ``config.json``; ``README.md``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from productreel import atomic
from productreel.errors import InputError

SAMPLE_RATE = 22_050
SAMPLES_PER_ID = 768  # ~35 ms an id; with the pad after each phoneme, ~14 phonemes a second
KOKORO_SAMPLES_PER_ID = 1_680  # ~70 ms a phoneme at Kokoro's 24 kHz (it has no pad between phonemes)
_TABLE_WIDTH = 16  # random samples per id, stretched SAMPLES_PER_ID / _TABLE_WIDTH times

# The espeak-ng voice, the Piper locale folder and a sample sentence per language.
LANGUAGES: dict[str, tuple[str, str, str]] = {
    "de": ("de", "de_DE", "Das Messer schneidet präzise. Jetzt kaufen, für nur 18 Euro!"),
    "en": ("en-us", "en_US", "This knife cuts with precision. Buy now, just 18 dollars!"),
    "fr": ("fr-fr", "fr_FR", "Ce couteau coupe avec précision. Achetez maintenant!"),
    "es": ("es", "es_ES", "Este cuchillo corta con precisión. ¡Cómpralo ahora!"),
    "it": ("it", "it_IT", "Questo coltello taglia con precisione. Compra ora!"),
    "nl": ("nl", "nl_NL", "Dit mes snijdt nauwkeurig. Koop nu!"),
    "pt": ("pt-br", "pt_BR", "Esta faca corta com precisão. Compre agora!"),
    "ar": ("ar", "ar_JO", "هذا السكين يقطع بدقة. اشتر الآن!"),
    "hi": ("hi", "hi_IN", "यह चाकू सटीक काटता है। अभी खरीदें!"),
    "ko": ("ko", "ko_KR", "이 칼은 정확하게 자릅니다. 지금 구매하세요!"),
    "ja": ("ja", "ja_JP", "このナイフはよく切れます。今すぐ購入!"),
    "zh": ("cmn", "zh_CN", "这把刀切得很准。立即购买!"),
}


def _symbols(espeak_voice: str, sample: str) -> list[str]:
    """The phonemes the tiny voice knows, in id order after Piper's pad, BOS, EOS and space."""
    from clips.voices import phonemize

    chars = list("!'(),-.:;?") + [chr(c) for c in range(ord("a"), ord("z") + 1)]
    chars += [chr(c) for c in range(0x0250, 0x0370)]  # IPA extensions, spacing modifiers, combining diacritics
    chars += list("æçðøħŋœǀǁǂǃβθχᵻⁿ̩")
    try:
        for sentence in phonemize(sample, espeak_voice):
            chars += sentence
    except Exception:  # noqa: BLE001 - no espeak-ng here: the fixed set still covers most IPA
        pass
    out: list[str] = []
    for ch in chars:
        if ch not in out and ch not in ("_", "^", "$", " "):
            out.append(ch)
    return out


def _table(num_symbols: int, seed: int) -> np.ndarray:
    """A voiced-ish waveform per id (a random harmonic with a random amplitude); id 0, the pad, is quiet."""
    rng = np.random.default_rng(seed)
    t = np.arange(_TABLE_WIDTH, dtype=np.float32)
    table = (rng.uniform(0.2, 0.6, (num_symbols, 1)) * np.sin(2 * np.pi * rng.integers(1, 4, (num_symbols, 1)) * t / _TABLE_WIDTH
                                                              + rng.uniform(0, 2 * np.pi, (num_symbols, 1)))).astype(np.float32)
    table[0] = 0.0
    return table


def _model(num_symbols: int, seed: int, *, kokoro: bool = False):
    """The ONNX graph: id -> random waveform, stretched by Piper's length scale (or divided by Kokoro's speed).

    Piper: inputs ``input``, ``input_lengths``, ``scales``; output ``output`` [1, 1, N].
    Kokoro: inputs ``input_ids``, ``style`` [1, 256] (it sets the loudness), ``speed`` [1]; output ``waveform`` [1, N].
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    samples_per_id = SAMPLES_PER_ID if not kokoro else KOKORO_SAMPLES_PER_ID
    inits = [
        numpy_helper.from_array(_table(num_symbols, seed), "table"),
        numpy_helper.from_array(np.asarray([1, 1, 1, -1], np.int64), "flat_shape"),
        numpy_helper.from_array(np.asarray([1, -1] if kokoro else [1, 1, -1], np.int64), "out_shape"),
        numpy_helper.from_array(np.asarray([samples_per_id / _TABLE_WIDTH], np.float32), "stretch"),
        numpy_helper.from_array(np.asarray([1.0, 1.0, 1.0], np.float32), "unit_scales"),
    ]
    ids = "input_ids" if kokoro else "input"
    nodes = [
        helper.make_node("Gather", ["table", ids], ["frames"], axis=0),  # [1, T, W]
        helper.make_node("Reshape", ["frames", "flat_shape"], ["flat"]),  # [1, 1, 1, T*W]
    ]
    if kokoro:
        inits += [numpy_helper.from_array(np.asarray(0.5, np.float32), "half")]
        nodes += [
            helper.make_node("Div", ["stretch", "speed"], ["factor"]),
            helper.make_node("ReduceMean", ["style"], ["style_mean"], keepdims=0),
            helper.make_node("Sigmoid", ["style_mean"], ["style_gate"]),
            helper.make_node("Add", ["style_gate", "half"], ["gain"]),
            helper.make_node("Mul", ["flat", "gain"], ["voiced"]),
        ]
        inputs = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, "tokens"]),
                  helper.make_tensor_value_info("style", TensorProto.FLOAT, [1, 256]),
                  helper.make_tensor_value_info("speed", TensorProto.FLOAT, [1])]
        output = helper.make_tensor_value_info("waveform", TensorProto.FLOAT, [1, "time"])
    else:
        inits += [numpy_helper.from_array(np.asarray([1], np.int64), "one"),
                  numpy_helper.from_array(np.asarray([2], np.int64), "two"),
                  numpy_helper.from_array(np.asarray([0], np.int64), "axis0")]
        nodes += [
            helper.make_node("Slice", ["scales", "one", "two", "axis0"], ["length_scale"]),
            helper.make_node("Mul", ["length_scale", "stretch"], ["factor"]),
            helper.make_node("Identity", ["flat"], ["voiced"]),
        ]
        inputs = [helper.make_tensor_value_info("input", TensorProto.INT64, [1, "phonemes"]),
                  helper.make_tensor_value_info("input_lengths", TensorProto.INT64, [1]),
                  helper.make_tensor_value_info("scales", TensorProto.FLOAT, [3])]
        output = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1, "time"])
    nodes += [
        helper.make_node("Concat", ["unit_scales", "factor"], ["resize_scales"], axis=0),
        helper.make_node("Resize", ["voiced", "", "resize_scales"], ["wave"], mode="linear"),
        helper.make_node("Reshape", ["wave", "out_shape"], ["waveform" if kokoro else "output"]),
    ]
    graph = helper.make_graph(nodes, "tiny_kokoro" if kokoro else "tiny_piper", inputs, [output], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="productreel-tiny-voice")
    model.ir_version = 8  # readable by every ONNX Runtime the project allows
    onnx.checker.check_model(model)
    return model


def _catalog_choice(lang: str):
    """The catalog's voice for a language: one licensed for ads first (what `auto` picks), else any."""
    from productreel.model_store import catalog

    speaks = [c for c in catalog("voice") if any(x.split("-")[0] == lang for x in c.languages)]
    return next((c for c in speaks if c.ads), speaks[0] if speaks else None)


def tiny_voice_path(language: str = "de", choice=None) -> str:
    """The repo path of the tiny voice's ``.onnx``: the catalog's voice for the language, else a made-up Piper one."""
    lang = language.split("-")[0].lower()
    choice = choice or _catalog_choice(lang)
    named = [f for f in (choice.files if choice is not None else ()) if f.endswith(".onnx")]
    if named:
        return named[0]
    _, folder, _ = LANGUAGES.get(lang, (lang, f"{lang}_XX", ""))
    return f"{lang}/{folder}/tiny/medium/{folder}-tiny-medium.onnx"


def build_tiny_voice(out_dir: Path, language: str = "de", *, choice=None, seed: int = 0) -> Path:
    """Write a tiny random voice for ``language`` under ``out_dir`` in the repo's layout; returns ``out_dir``.

    ``choice`` (a model_store.ModelChoice) names the backend and the repo paths; by default the voice
    catalog's voice for the language (one licensed for ads first), else a Piper voice at a made-up path.
    """
    lang = language.split("-")[0].lower()
    if lang not in LANGUAGES:
        raise InputError(f"no tiny voice for language {language!r}; known: {', '.join(sorted(LANGUAGES))}", where="build_tiny_voice")
    choice = choice or _catalog_choice(lang)
    if choice is not None and choice.backend == "kokoro":
        return _build_kokoro(Path(out_dir), choice, seed)
    espeak_voice, locale, sample = LANGUAGES[lang]
    out_dir = Path(out_dir)
    rel = tiny_voice_path(lang, choice)
    onnx_path = out_dir / rel
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    symbols = _symbols(espeak_voice, sample)
    id_map = {"_": [0], "^": [1], "$": [2], " ": [3]}
    id_map.update({s: [i + 4] for i, s in enumerate(symbols)})
    model = _model(len(id_map), seed)
    atomic.write_bytes(onnx_path, model.SerializeToString())
    config = {
        "dataset": "tiny", "audio": {"sample_rate": SAMPLE_RATE, "quality": "medium"},
        "espeak": {"voice": espeak_voice}, "language": {"code": locale},
        "inference": {"noise_scale": 0.667, "length_scale": 1.0, "noise_w": 0.8},
        "phoneme_type": "espeak", "phoneme_map": {}, "phoneme_id_map": id_map,
        "num_symbols": len(id_map), "num_speakers": 1, "speaker_id_map": {}, "piper_version": "1.0.0",
    }
    atomic.write_text(onnx_path.with_name(onnx_path.name + ".json"), json.dumps(config, ensure_ascii=False, indent=2))
    card = (f"# Model card for tiny ({locale})\n\n* Language: {locale}\n* Speakers: 1\n* Quality: medium\n"
            f"* Samplerate: {SAMPLE_RATE}Hz\n\n## Dataset\n\n* URL: none (random weights for tests)\n* License: CC0\n\n"
            "## Training\n\nNot trained: random weights, built by productreel's clips/voice_tiny.py.\n")
    atomic.write_text(onnx_path.parent / "MODEL_CARD", card)
    return out_dir


def _build_kokoro(out_dir: Path, choice, seed: int) -> Path:
    """A tiny Kokoro in the ONNX export's layout: every file the catalog entry names (model, voice, vocabulary, card)."""
    from clips.voices import KOKORO_LANGUAGES

    voices = [f for f in choice.files if f.endswith(".bin")]
    models = [f for f in choice.files if f.endswith(".onnx")]
    if len(voices) != 1 or len(models) != 1:
        raise InputError(f"catalog entry {choice.id} does not name one .onnx and one .bin", where="build_tiny_voice")
    espeak_voice = KOKORO_LANGUAGES.get(Path(voices[0]).stem[:1], "en-us")
    lang = espeak_voice.split("-")[0]
    sample = LANGUAGES.get(lang, LANGUAGES["en"])[2]
    import unicodedata

    symbols = [unicodedata.normalize("NFC", ch) for ch in _symbols(espeak_voice, sample) if not unicodedata.combining(ch)]
    vocab = {"$": 0, " ": 1}
    for ch in symbols:
        vocab.setdefault(ch, len(vocab))
    rng = np.random.default_rng(seed + 1)
    for rel in choice.files:
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith(".onnx"):
            atomic.write_bytes(path, _model(len(vocab), seed, kokoro=True).SerializeToString())
        elif rel.endswith(".bin"):
            atomic.write_bytes(path, rng.normal(0, 0.1, (64, 256)).astype(np.float32).tobytes())
        elif Path(rel).name == "tokenizer.json":
            atomic.write_text(path, json.dumps({"model": {"type": "WordLevel", "vocab": vocab}}, ensure_ascii=False))
        elif Path(rel).name == "config.json":
            atomic.write_text(path, json.dumps({"model_type": "style_text_to_speech_2"}))
        else:  # README.md or another card: the licence front matter, as on the Hub
            atomic.write_text(path, "---\nlicense: apache-2.0\n---\n# Tiny Kokoro\n\nRandom weights for tests.\n")
    return out_dir
