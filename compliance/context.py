"""What every check reads: the clip, its market and destination, and lazily decoded frames, OCR and captions."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from compliance.rules import Rule, RuleBook
from compliance.text import TextSource
from productreel.models import Cue, Finding, LocalizedProduct, Market, RenderedClip, Storyboard


@dataclass
class Context:
    """Inputs of one clip check; frames, OCR and audio are decoded on first use and kept."""

    path: Path
    market: Market
    destination: str
    book: RuleBook
    clip: RenderedClip | None = None
    storyboard: Storyboard | None = None
    lp: LocalizedProduct | None = None
    script_text: str = ""
    assets: list[dict] | None = None
    day: date = field(default_factory=date.today)
    info: dict[str, Any] | None = None  # probed facts (productreel.media); None when unreadable
    timings: dict[str, float] = field(default_factory=dict)
    _decoded: Any = None
    _ocr: Any = None
    _manifest: Any = None
    _sidecar: Any = None

    # -- what the clip is -------------------------------------------------------------------------------------
    @property
    def kind(self) -> str | None:
        """ad or tutorial, when known (a foreign MP4 has no kind: every kind's rules apply)."""
        if self.clip is not None:
            return self.clip.kind
        if self.storyboard is not None:
            return self.storyboard.kind
        return None

    @property
    def format(self) -> str:
        """The clip's aspect as 'W:H' from its pixels (the safe zones are per format)."""
        if self.info and self.info.get("width") and self.info.get("height"):
            w, h = self.info["width"], self.info["height"]
            for name, (fw, fh) in {"9:16": (9, 16), "1:1": (1, 1), "4:5": (4, 5), "16:9": (16, 9)}.items():
                if abs(w / h - fw / fh) < 0.02:
                    return name
            return f"{w}:{h}"
        return self.clip.format if self.clip else "9:16"

    @property
    def generated(self) -> bool | None:
        """True when any shot was generated; from the clip/storyboard, else from the C2PA manifest; None unknown."""
        if self.clip is not None and self.clip.has_generated:
            return True
        if self.storyboard is not None:
            return self.storyboard.has_generated
        if self.clip is not None:
            return self.clip.has_generated
        side = self.sidecar
        if isinstance(side, dict) and "has_generated" in side:
            return bool(side["has_generated"])
        from compliance.manifest import manifest_source_types

        types = manifest_source_types(self.manifest)
        if types:
            return any("trainedalgorithmicmedia" in t.lower() for t in types)
        return None

    @property
    def short_side(self) -> int:
        """The original frame's short side in pixels."""
        if self.info:
            return min(self.info["width"], self.info["height"]) or 1
        return 1

    # -- lazily decoded inputs -------------------------------------------------------------------------------
    @property
    def decoded(self):
        """Frames sampled at 2 fps plus the per-frame luminance track (decoded once)."""
        if self._decoded is None:
            from compliance.frames import decode

            t = time.perf_counter()
            self._decoded = decode(self.path, extra_times=self.overlay_times())
            self.timings["decode"] = self.timings.get("decode", 0.0) + time.perf_counter() - t
        return self._decoded

    def overlay_times(self) -> list[float]:
        """The middle of every overlay's time on screen: each text the storyboard drew is sampled at least once,
        even when it shows for less than the 0.5 s between 2 fps samples."""
        if self.storyboard is None:
            return []
        out, start = [], 0.0
        for scene in self.storyboard.scenes:
            for ov in scene.overlays:
                a = start + ov.start
                b = start + (ov.end if ov.end is not None else scene.duration)
                out.append(round((a + min(b, start + scene.duration)) / 2, 3))
            start += scene.duration
        return out

    @property
    def ocr(self):
        """OCR of the sampled frames (unchanged frames reuse the previous reading)."""
        if self._ocr is None:
            from compliance.ocr import read_clip

            dec = self.decoded
            t = time.perf_counter()
            self._ocr = read_clip(dec)
            self.timings["ocr"] = self.timings.get("ocr", 0.0) + time.perf_counter() - t
        return self._ocr

    @property
    def manifest(self) -> dict | None:
        """The clip's C2PA manifest store as a dict, or None when it has none."""
        if self._manifest is None:
            from compliance.manifest import read_manifest

            self._manifest = read_manifest(self.path) or {}
        return self._manifest or None

    @property
    def sidecar(self) -> dict | None:
        """The renderer's .json metadata beside the clip, when there is one."""
        if self._sidecar is None:
            self._sidecar = {}
            meta = self.clip.metadata if self.clip and self.clip.metadata else self.path.with_suffix(".json")
            try:
                data = json.loads(Path(meta).read_text(encoding="utf-8"))
                self._sidecar = data if isinstance(data, dict) else {}
            except (OSError, ValueError):
                pass
        return self._sidecar or None

    @property
    def cues(self) -> list[Cue]:
        """Caption cues: the storyboard's, else the clip's SRT/VTT sidecar."""
        if self.storyboard is not None and self.storyboard.captions:
            return list(self.storyboard.captions)
        for cand in ([self.clip.srt, self.clip.vtt] if self.clip else []) + [self.path.with_suffix(".srt"), self.path.with_suffix(".vtt")]:
            if cand and Path(cand).is_file():
                from localization.subtitles import read_cues

                cues = read_cues(Path(cand))
                if cues:
                    return cues
        return []

    # -- texts the claim rules read --------------------------------------------------------------------------
    def text_sources(self, inputs: list[str], rule: Rule | None = None) -> list[TextSource]:
        """Script, OCR (one source per sampled frame), captions and metadata texts, as the rule asks."""
        out: list[TextSource] = []
        if "script" in inputs:
            if self.script_text:
                out.append(TextSource("script", self.script_text, {"input": "script"}))
            if self.storyboard is not None:
                if self.storyboard.voiceover:
                    out.append(TextSource("script", self.storyboard.voiceover, {"input": "voiceover"}))
                for i, scene in enumerate(self.storyboard.scenes):
                    for ov in scene.overlays:
                        out.append(TextSource("script", ov.text, {"input": "overlay", "scene": i, "role": ov.role}))
        if "captions" in inputs:
            for c in self.cues:
                out.append(TextSource("captions", c.text, {"input": "captions", "time": [round(c.start, 2), round(c.end, 2)]}))
        if "metadata" in inputs and self.lp is not None:
            out.append(TextSource("metadata", self.lp.title.text, {"input": "title"}))
        if "ocr" in inputs and self.info is not None:
            last = None
            for fr in self.ocr:
                if not fr.items:
                    continue
                # Identical consecutive readings are one piece of evidence, not one per sample.
                if last is not None and fr.text == last:
                    continue
                last = fr.text
                out.append(TextSource("ocr", fr.text, {"input": "ocr", "time": round(fr.t, 2), "frame": fr}))
        return out


def finding(rule: Rule, ctx: Context, message: str, *, severity: str | None = None, **evidence: Any) -> Finding:
    """A finding for ``rule`` with its severity in force today and its source."""
    sev = severity or rule.severity_on(ctx.day)
    if severity and rule.effective_from and ctx.day < rule.effective_from:
        sev = rule.severity_before or "INFO"
    return Finding(rule=rule.id, severity=sev, message=message, evidence=_clean(evidence), source=rule.source)


def _clean(ev: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in ev.items():
        if v is None:
            continue
        if isinstance(v, float):
            v = round(v, 3)
        out[k] = v
    return out
