"""Neural voices and which voice a clip gets.

**Piper** voices (VITS exported to ONNX, run on ONNX Runtime): a voice is ``<name>.onnx`` and
``<name>.onnx.json`` (its sample rate, its espeak-ng voice, its ``phoneme_id_map``), e.g.
``de/de_DE/thorsten/medium/de_DE-thorsten-medium.onnx`` in the Hugging Face repo
``rhasspy/piper-voices``. Text becomes phonemes the way Piper makes them: espeak-ng's IPA, clause by
clause, the clause's punctuation kept, language-switch flags dropped, decomposed (NFD) into code
points; each code point is looked up in ``phoneme_id_map``, with the pad id after every phoneme
and the BOS/EOS ids around the sentence. espeak-ng runs as its own program (it is GPL-3; its
output is not encumbered), as it does for the plain espeak-ng voice.

**Kokoro-82M** (Apache-2.0; the ONNX export ``onnx-community/Kokoro-82M-v1.0-ONNX``): one model for
every voice; a voice is a ``voices/<name>.bin`` of 256-d style vectors (the row for the number of
phoneme tokens is the style), its first letter the language it speaks (a: American English,
b: British, e: Spanish, f: French, h: Hindi, i: Italian, p: Brazilian Portuguese). Inputs: the
token ids between two pad ids 0 (``tokenizer.json``'s vocabulary), the style and the speed; output:
24 kHz samples. Its phonemes also come from espeak-ng, composed (NFC), unknown symbols dropped.

**Which voice** (:func:`pick_voice`): ``PRODUCTREEL_VOICE`` is

- ``auto`` (the default): the voice catalog's recommended voice for the market
  (``productreel/model_catalog/voice.yaml``, only voices whose licence allows ads) when
  ``productreel models pull voice`` has put it in the local Hugging Face cache; otherwise
  espeak-ng, and an INFO finding (VOICE-1) says which voice ``models pull`` would add or that no
  voice licensed for ads speaks the language;
- a catalog id (e.g. ``piper-de_DE-thorsten-medium``): that voice, which must be downloaded;
- ``piper:<path>``: a Piper voice from a file or folder (its licence unknown to productreel:
  LIC-1 blocks the clip unless the seller's rules file records it, ``licenses.assets``);
- ``espeak-ng``, ``silent``; ``mms`` (a local MMS-TTS folder, ``PRODUCTREEL_VOICE_MODEL``).

A voice whose licence does not allow ads (MMS-TTS is CC-BY-NC-4.0; catalog entries with
``ads: false``) is refused for ads with a one-line error. Tutorials may render with it, but the
voice's licence goes into the asset manifest, and LIC-1 blocks publishing a clip whose licence
forbids commercial use: such voices are for previews. Nothing here downloads, unless
``PRODUCTREEL_ALLOW_DOWNLOADS`` is set.

The voice used is recorded as an asset (kind ``voice``: name, licence, repo, revision) in the clip's
sidecar, its asset manifest (LIC-1) and its C2PA ingredients.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from clips.audio import EspeakVoice, MmsVoice, SilentVoice, VoiceBackend, _resample
from productreel.errors import InputError, RenderError
from productreel.models import Finding

# Piper's special phonemes: padding between phonemes, begin and end of a sentence.
PAD, BOS, EOS = "_", "^", "$"
# espeak-ng marks a word read in another language as "(en)...(de)"; Piper drops the flags.
_LANG_FLAG = re.compile(r"\([^()]*\)")
# Where espeak-ng ends a clause: punctuation followed by a space or the end of the text.
_CLAUSE_END = re.compile(r"([.,?!:;。、？！，：；])(?=\s|$)")
_CJK_PUNCT = {"。": ".", "、": ",", "？": "?", "！": "!", "，": ",", "：": ":", "；": ";"}
# Piper's own phoneme map for espeak voices that need one (piper-phonemize: pt-br speaks "c" as "k").
_PHONEME_MAPS: dict[str, dict[str, str]] = {"pt-br": {"c": "k"}}

ESPEAK_LICENCE = "GPL-3.0-or-later (the program; the speech it makes is not covered)"
RULE = "VOICE-1"


# -- phonemes --------------------------------------------------------------------------------------


def espeak_exe() -> str:
    """The espeak-ng program (installed by deploy/system-deps.sh)."""
    exe = shutil.which("espeak-ng") or shutil.which("espeak")
    if not exe:
        raise RenderError("espeak-ng is not installed (run deploy/system-deps.sh)", where="voice")
    return exe


def _terminators(text: str) -> list[str]:
    """The punctuation that ends each clause of ``text`` as espeak-ng splits it ("" for a last clause without)."""
    ends = [_CJK_PUNCT.get(m.group(1), m.group(1)) for m in _CLAUSE_END.finditer(text)]
    if not _CLAUSE_END.search(text.rstrip()[-1:]):
        ends.append("")
    return ends


def phonemize(text: str, voice: str, form: str = "NFD") -> list[list[str]]:
    """Text as Piper's phonemes, one list of code points per sentence (espeak-ng IPA, clause by clause).

    Like piper-phonemize: each clause's IPA, language-switch flags removed, decomposed (NFD; Kokoro's
    symbols are composed: ``form="NFC"``); a clause's final ``.?!`` ends the sentence and is kept,
    ``,:;`` are kept with a space after them.
    """
    flat = " ".join(text.split())
    if not flat:
        return []
    res = subprocess.run([espeak_exe(), "-q", "--ipa", "-b", "1", "-v", voice or "en"], input=flat.encode("utf-8"),
                         capture_output=True)
    if res.returncode != 0:
        raise RenderError(f"espeak-ng cannot phonemize for voice {voice!r}: {res.stderr.decode(errors='replace').strip()[:200]}",
                          where="voice")
    clauses = [line.strip() for line in res.stdout.decode("utf-8", errors="replace").splitlines() if line.strip()]
    ends = _terminators(flat)
    if len(ends) != len(clauses):
        # espeak-ng split the text elsewhere than its punctuation: keep only the final mark.
        last = ends[-1] if ends else ""
        ends = [" "] * (len(clauses) - 1) + [last]
    mapping = _PHONEME_MAPS.get(voice.lower(), {})
    sentences: list[list[str]] = []
    current: list[str] = []
    for clause, end in zip(clauses, ends):
        ipa = unicodedata.normalize(form, _LANG_FLAG.sub("", clause))
        current.extend(mapping.get(ch, ch) for ch in ipa)
        if end in (".", "?", "!"):
            current.append(end)
            sentences.append(current)
            current = []
        elif end in (",", ":", ";"):
            current += [end, " "]
        elif end == " ":
            current.append(" ")
    if current:
        sentences.append(current)
    return sentences


def phoneme_ids(phonemes: list[str], id_map: dict[str, list[int]]) -> list[int]:
    """Piper's ids: BOS, then each known phoneme followed by the pad, then EOS (unknown phonemes are skipped)."""
    ids = list(id_map[BOS])
    for ph in phonemes:
        if ph in id_map:
            ids += id_map[ph]
            ids += id_map[PAD]
    ids += id_map[EOS]
    return ids


# -- Piper ------------------------------------------------------------------------------------------


@dataclass
class PiperConfig:
    """What a voice's ``.onnx.json`` says: sample rate, espeak-ng voice, phoneme ids, default scales, speakers."""

    sample_rate: int
    espeak_voice: str
    phoneme_id_map: dict[str, list[int]]
    noise_scale: float = 0.667
    length_scale: float = 1.0
    noise_w: float = 0.8
    num_speakers: int = 1
    phoneme_type: str = "espeak"

    @classmethod
    def read(cls, path: Path) -> "PiperConfig":
        """Read and check a Piper voice config; a bad one is a one-line InputError naming the file."""
        try:
            cfg = json.loads(Path(path).read_text(encoding="utf-8"))
            inference = cfg.get("inference") or {}
            out = cls(
                sample_rate=int(cfg["audio"]["sample_rate"]), espeak_voice=str(cfg["espeak"]["voice"]),
                phoneme_id_map={str(k): [int(i) for i in v] for k, v in cfg["phoneme_id_map"].items()},
                noise_scale=float(inference.get("noise_scale", 0.667)), length_scale=float(inference.get("length_scale", 1.0)),
                noise_w=float(inference.get("noise_w", 0.8)), num_speakers=int(cfg.get("num_speakers", 1)),
                phoneme_type=str(cfg.get("phoneme_type", "espeak")),
            )
        except FileNotFoundError as exc:
            raise InputError("Piper voice config is missing (a voice is <name>.onnx with <name>.onnx.json)", where=str(path)) from exc
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InputError(f"not a Piper voice config ({type(exc).__name__}: {exc})", where=str(path)) from exc
        missing = [s for s in (PAD, BOS, EOS) if s not in out.phoneme_id_map]
        if missing:
            raise InputError(f"phoneme_id_map lacks {missing[0]!r}", where=str(path))
        if out.phoneme_type != "espeak":
            raise InputError(f"phoneme_type {out.phoneme_type!r} is not supported (only espeak)", where=str(path))
        return out


def find_piper_model(path: Path, files: tuple[str, ...] = ()) -> Path:
    """The ``.onnx`` of a Piper voice: ``path`` itself, the one named in ``files`` under it, or the only one in the folder."""
    path = Path(path)
    if path.is_file():
        return path
    if not path.is_dir():
        raise InputError("Piper voice not found", where=str(path))
    named = [path / f for f in files if f.endswith(".onnx")]
    found = named or sorted(path.rglob("*.onnx"))
    if len(found) != 1:
        raise InputError(f"expected one Piper voice (.onnx) in the folder, found {len(found)}", where=str(path))
    return found[0]


def _onnx_session(model: Path, what: str, threads: int | None):
    """An ONNX Runtime CPU session for a voice model; a model it cannot load is one line naming the file."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or max(1, min(4, os.cpu_count() or 1))
    opts.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(str(model), sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - ONNX Runtime raises its own error types
        raise InputError(f"ONNX Runtime cannot load the {what}: {str(exc).splitlines()[0][:200]}", where=str(model)) from exc


class PiperVoice:
    """A Piper voice on ONNX Runtime: one sentence in, mono float32 samples at 48 kHz out."""

    name = "piper"
    parallel = False  # one ONNX Runtime session, which uses its own threads

    def __init__(self, model: Path, config: Path | None = None, *, threads: int | None = None) -> None:
        self.model = Path(model)
        if not self.model.is_file():
            raise InputError("Piper voice model (.onnx) not found", where=str(self.model))
        self.config = PiperConfig.read(Path(config) if config else self.model.with_name(self.model.name + ".json"))
        self.session = _onnx_session(self.model, "Piper voice", threads)
        self.inputs = {i.name for i in self.session.get_inputs()}
        missing = {"input", "input_lengths", "scales"} - self.inputs
        if missing:
            raise InputError(f"not a Piper voice: the model has no input {sorted(missing)[0]!r}", where=str(self.model))

    def ids(self, text: str) -> list[list[int]]:
        """The phoneme ids of each sentence of ``text``."""
        return [phoneme_ids(s, self.config.phoneme_id_map) for s in phonemize(text, self.config.espeak_voice)]

    def synthesize(self, text: str, voice: str = "", speed: float = 1.0) -> np.ndarray:
        """One line of text as samples at 48 kHz (``voice`` is ignored: the model is the voice; speed > 1 is faster)."""
        cfg = self.config
        parts = []
        for ids in self.ids(text):
            feeds: dict[str, Any] = {
                "input": np.asarray([ids], np.int64),
                "input_lengths": np.asarray([len(ids)], np.int64),
                "scales": np.asarray([cfg.noise_scale, cfg.length_scale / max(0.25, float(speed)), cfg.noise_w], np.float32),
            }
            if "sid" in self.inputs:
                feeds["sid"] = np.asarray([0], np.int64)
            audio = np.asarray(self.session.run(None, feeds)[0], np.float32).reshape(-1)
            parts.append(np.clip(audio, -1.0, 1.0))
        if not parts:
            return np.zeros(0, np.float32)
        return _resample(np.concatenate(parts), cfg.sample_rate)


_PIPER: dict[str, Any] = {}  # loaded voices (Piper and Kokoro), by file
_PIPER_LOCK = threading.Lock()


def piper_voice(model: Path) -> PiperVoice:
    """The Piper voice of ``model``, loaded once per process (an ONNX Runtime session is safe to share)."""
    key = str(Path(model).resolve())
    with _PIPER_LOCK:
        if key not in _PIPER:
            _PIPER[key] = PiperVoice(Path(model))
        return _PIPER[key]


# -- Kokoro ----------------------------------------------------------------------------------------

# Kokoro-82M voices are named <language letter><f|m>_<name>: the letter says which language they speak.
KOKORO_LANGUAGES = {"a": "en-us", "b": "en-gb", "e": "es", "f": "fr-fr", "h": "hi", "i": "it", "p": "pt-br"}
KOKORO_RATE = 24_000
KOKORO_MAX_TOKENS = 510  # a context of 512 with the pad id 0 at both ends


def kokoro_vocab(folder: Path) -> dict[str, int]:
    """Kokoro's phoneme -> id map: ``tokenizer.json`` (model.vocab, the ONNX export's) or ``config.json`` (vocab)."""
    for name, path in (("tokenizer.json", ("model", "vocab")), ("config.json", ("vocab",))):
        file = Path(folder) / name
        if not file.is_file():
            continue
        try:
            data: Any = json.loads(file.read_text(encoding="utf-8"))
            for key in path:
                data = data[key]
            return {str(k): int(v) for k, v in data.items()}
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
    raise InputError("no Kokoro phoneme vocabulary (tokenizer.json model.vocab or config.json vocab)", where=str(folder))


class KokoroVoice:
    """Kokoro-82M on ONNX Runtime: phoneme ids, the voice's 256-d style vector for that length, and a speed in;
    24 kHz samples out (resampled to 48 kHz). Phonemes come from espeak-ng in the voice's language."""

    name = "kokoro"
    parallel = False

    def __init__(self, model: Path, voice: Path, vocab: dict[str, int], espeak_voice: str, *, threads: int | None = None) -> None:
        self.model, self.voice_file, self.vocab, self.espeak_voice = Path(model), Path(voice), vocab, espeak_voice
        if not self.model.is_file():
            raise InputError("Kokoro model (.onnx) not found", where=str(self.model))
        try:
            self.styles = np.fromfile(self.voice_file, dtype=np.float32).reshape(-1, 256)
        except (OSError, ValueError) as exc:
            raise InputError(f"not a Kokoro voice (float32 rows of 256): {exc}", where=str(self.voice_file)) from exc
        if not len(self.styles):
            raise InputError("the Kokoro voice file is empty", where=str(self.voice_file))
        self.session = _onnx_session(self.model, "Kokoro model", threads)
        names = {i.name: i for i in self.session.get_inputs()}
        # The onnx-community export names them input_ids/style/speed; the first exports named the ids "tokens".
        self.ids_name = next((n for n in ("input_ids", "tokens") if n in names), None)
        if self.ids_name is None or "style" not in names or "speed" not in names:
            raise InputError(f"not a Kokoro model: inputs {sorted(names)}", where=str(self.model))
        self.speed_type = np.int64 if "int64" in names["speed"].type else np.float32

    def ids(self, text: str) -> list[list[int]]:
        """Token ids of each sentence (unknown phonemes dropped), in pieces of at most 510."""
        out = []
        for sentence in phonemize(text, self.espeak_voice, form="NFC"):
            ids = [self.vocab[p] for p in sentence if p in self.vocab]
            out += [ids[i:i + KOKORO_MAX_TOKENS] for i in range(0, len(ids), KOKORO_MAX_TOKENS)]
        return [i for i in out if i]

    def synthesize(self, text: str, voice: str = "", speed: float = 1.0) -> np.ndarray:
        """One line of text as samples at 48 kHz (``voice`` is ignored: the voice file is the voice)."""
        parts = []
        for ids in self.ids(text):
            style = self.styles[min(len(ids), len(self.styles) - 1)][None, :]
            feeds = {self.ids_name: np.asarray([[0, *ids, 0]], np.int64), "style": style.astype(np.float32),
                     "speed": np.asarray([speed], self.speed_type)}
            parts.append(np.clip(np.asarray(self.session.run(None, feeds)[0], np.float32).reshape(-1), -1.0, 1.0))
        if not parts:
            return np.zeros(0, np.float32)
        return _resample(np.concatenate(parts), KOKORO_RATE)


def kokoro_voice(folder: Path, files: tuple[str, ...]) -> KokoroVoice:
    """The Kokoro voice a catalog entry names: its ``.onnx`` model and its ``voices/<name>.bin``, loaded once."""
    folder = Path(folder)
    models = [f for f in files if f.endswith(".onnx")]
    voices = [f for f in files if f.endswith(".bin")]
    if len(models) != 1 or len(voices) != 1:
        raise InputError("a Kokoro catalog entry names one .onnx model and one voices/<name>.bin", where="voice catalog")
    voice_name = Path(voices[0]).stem
    espeak_voice = KOKORO_LANGUAGES.get(voice_name[:1])
    if espeak_voice is None:
        raise InputError(f"Kokoro voice {voice_name!r}: its language letter {voice_name[:1]!r} is not one productreel speaks "
                         f"({', '.join(sorted(KOKORO_LANGUAGES))})", where="voice catalog")
    key = f"kokoro:{(folder / models[0]).resolve()}:{(folder / voices[0]).resolve()}"
    with _PIPER_LOCK:
        if key not in _PIPER:
            _PIPER[key] = KokoroVoice(folder / models[0], folder / voices[0], kokoro_vocab(folder), espeak_voice)  # type: ignore[assignment]
        return _PIPER[key]  # type: ignore[return-value]


# -- which voice a clip gets ------------------------------------------------------------------------


@dataclass
class VoicePick:
    """The voice of one clip: the backend that speaks, the voice name it is given, what to record and say."""

    backend: VoiceBackend
    voice: str  # the espeak-ng voice name (what backend.synthesize gets)
    asset: dict[str, Any] | None = None  # the asset-manifest entry (LIC-1, C2PA ingredient); None: no voice
    findings: list[Finding] = field(default_factory=list)
    model: dict[str, Any] | None = None  # model_store.model_ref of a catalog voice

    def key(self) -> dict[str, Any]:
        """What about the voice changes a clip (for the job key): empty for espeak-ng, the default."""
        if self.model:
            return {"name": self.model["name"], "revision": self.model["revision"]}
        if self.asset and self.asset.get("name") not in (None, "espeak-ng"):
            return {"name": self.asset["name"], "path": self.asset.get("path", "")}
        return {}


def espeak_asset(voice: str) -> dict[str, Any]:
    """The asset entry of espeak-ng speaking ``voice``."""
    return {"kind": "voice", "name": "espeak-ng", "source": f"espeak-ng (Debian package), voice {voice}",
            "license": ESPEAK_LICENCE, "owner": "the eSpeak NG authors", "relationship": "inputTo", "backend": "espeak"}


def model_asset(choice) -> dict[str, Any]:
    """The asset entry of a catalog voice: name, licence, repo and revision (model_store.model_ref)."""
    from productreel.model_store import model_ref

    ref = model_ref(choice)
    entry = {"kind": "voice", "name": ref["name"], "source": f"huggingface.co/{ref['repo']} at {ref['revision']}",
             "license": ref["licence"], "owner": ref.get("attribution") or ref["repo"].split("/")[0],
             "repo": ref["repo"], "revision": ref["revision"], "relationship": "inputTo", "backend": choice.backend}
    if ref.get("attribution"):
        entry["attribution"] = ref["attribution"]
    return entry


def _finding(message: str, **evidence: Any) -> Finding:
    return Finding(rule=RULE, severity="INFO", message=message, evidence=evidence, source="productreel voice catalog")


def _load(choice, folder: Path) -> VoiceBackend:
    if choice.backend == "piper":
        return piper_voice(find_piper_model(folder, choice.files))
    if choice.backend == "kokoro":
        return kokoro_voice(folder, choice.files)
    raise InputError(f"voice {choice.id}: backend {choice.backend!r} is not known (known: piper, kokoro)", where="voice catalog")


def _fallback(espeak_name: str, message: str, **evidence: Any) -> VoicePick:
    """espeak-ng (silence on a machine without it) and the INFO finding that says why."""
    try:
        return VoicePick(EspeakVoice(), espeak_name, espeak_asset(espeak_name), [_finding(message, **evidence)])
    except RenderError:
        return VoicePick(SilentVoice(), espeak_name, None, [_finding(message.replace("espeak-ng voices", "no voice speaks", 1)
                                                                     + "; espeak-ng is not installed either", **evidence)])


def _refuse(what: str, licence: str) -> InputError:
    return InputError(f"voice {what} is licensed {licence}, which does not allow use in ads; "
                      "set PRODUCTREEL_VOICE=auto or espeak-ng for ads", where="voice")


def pick_voice(market, kind: str = "ad", *, name: str | None = None) -> VoicePick:
    """The voice a clip of ``kind`` for ``market`` (a Market, or anything with code/locale/voice/language) gets.

    ``name`` overrides ``PRODUCTREEL_VOICE``. Raises InputError (one line) for a voice that may not
    voice an ad, and for a named voice that is not there.
    """
    from productreel import model_store
    from productreel.settings import get_settings

    settings = get_settings()
    espeak_name = str(getattr(market, "voice", "") or getattr(market, "language", "") or str(market.locale).split("-")[0])
    name = (name if name is not None else settings.voice) or ""
    if not name:
        name = "mms" if settings.voice_model else "auto"
    if name == "silent":
        return VoicePick(SilentVoice(), espeak_name)
    if name in ("espeak-ng", "espeak"):
        return VoicePick(EspeakVoice(), espeak_name, espeak_asset(espeak_name))
    if name == "mms":
        if kind == "ad":
            raise _refuse("mms (MMS-TTS, facebook/mms-tts-*)", "CC-BY-NC-4.0")
        if not settings.voice_model:
            raise InputError("voice 'mms' needs PRODUCTREEL_VOICE_MODEL set to a local model directory", where="voice")
        folder = Path(settings.voice_model)
        return VoicePick(MmsVoice(folder), espeak_name, {
            "kind": "voice", "name": f"mms ({folder.name})", "path": str(folder), "source": f"local MMS-TTS model {folder}",
            "license": "CC-BY-NC-4.0", "owner": "Meta (MMS-TTS)", "relationship": "inputTo", "backend": "mms"})
    if name.startswith("piper:"):
        path = Path(name.split(":", 1)[1]).expanduser()
        model = find_piper_model(path)
        # Its licence is the seller's to record (their rules file's licenses.assets): LIC-1 blocks it until then.
        return VoicePick(piper_voice(model), espeak_name, {
            "kind": "voice", "name": model.stem, "path": str(model), "source": f"local Piper voice {model}",
            "relationship": "inputTo", "backend": "piper",
            "note": "a local Piper voice: its licence is not known to productreel (record it in the seller rules' licenses.assets)"})
    if name == "auto":
        choice = model_store.recommended("voice", market)
        if choice is None:
            lang = model_store.market_language(market)[0]
            return _fallback(espeak_name, f"espeak-ng voices this clip: no voice in the catalog that may voice ads speaks "
                                          f"{lang!r} (see `productreel models list`)", language=lang)
        return _catalog_pick(choice, market, kind, espeak_name, settings, named=False)
    choice = model_store.find("voice", name)
    if choice is None:
        known = ", ".join(c.id for c in model_store.catalog("voice"))
        raise InputError(f"unknown voice {name!r}; use auto, espeak-ng, silent, mms, piper:<path> or a catalog voice"
                         + (f" ({known})" if known else ""), where="PRODUCTREEL_VOICE")
    return _catalog_pick(choice, market, kind, espeak_name, settings, named=True)


def _catalog_pick(choice, market, kind: str, espeak_name: str, settings, *, named: bool) -> VoicePick:
    from productreel import model_store

    if kind == "ad" and not choice.ads:
        raise _refuse(f"{choice.id} ({choice.repo})", choice.licence)
    folder = model_store.local_dir(choice)
    if folder is None and settings.allow_downloads:
        folder = _download(choice)
    if folder is None:
        if named:
            raise InputError(f"voice {choice.id} is not downloaded; run `productreel models pull voice`", where="voice")
        return _fallback(espeak_name, f"espeak-ng voices this clip: the neural voice {choice.id} ({choice.licence}) is not "
                                      f"downloaded; `productreel models pull voice --markets {getattr(market, 'code', market)}` adds it",
                         missing=choice.id, repo=choice.repo)
    return VoicePick(_load(choice, folder), espeak_name, model_asset(choice), model=model_store.model_ref(choice))


def _download(choice) -> Path | None:
    """Fetch a catalog voice at run time (only with PRODUCTREEL_ALLOW_DOWNLOADS) through `models pull`'s code."""
    from productreel import model_pull, model_store

    model_pull.pull(choice)
    return model_store.local_dir(choice)


def storyboard_market(sb):
    """The Market a storyboard was made for, as far as the voice needs it (code, locale, voice, language)."""
    from productreel.models import Market

    return Market(code=sb.market, name="", locale=sb.locale, language=(sb.metadata.language or sb.locale.split("-")[0]),
                  currency="", voice=sb.metadata.voice or "")


def voice_backend(name: str | None = None) -> VoiceBackend:
    """A voice backend by name, without a market: PRODUCTREEL_VOICE_MODEL (a local MMS directory), a Piper voice
    (``piper:<path>``), espeak-ng (also for ``auto``, which needs a market: pick_voice), or silence."""
    from productreel.settings import get_settings

    settings = get_settings()
    name = name or settings.voice
    model_dir = settings.voice_model
    if name == "mms" or (not name and model_dir):
        if not model_dir:
            raise InputError("voice 'mms' needs PRODUCTREEL_VOICE_MODEL set to a local model directory", where="voice")
        return MmsVoice(Path(model_dir))
    if name == "silent":
        return SilentVoice()
    if name and name.startswith("piper:"):
        return piper_voice(find_piper_model(Path(name.split(":", 1)[1]).expanduser()))
    if name in ("", "auto", "espeak-ng", "espeak"):
        try:
            return EspeakVoice()
        except RenderError:
            if name not in ("", "auto"):
                raise
            return SilentVoice()
    raise InputError(f"unknown voice backend {name!r}; known: auto, espeak-ng, piper:<path>, mms, silent", where="voice")
