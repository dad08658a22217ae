"""Claim rules on text: regex_any (a hit is a finding) and regex_requires (a hit needs a qualifier nearby)."""

from __future__ import annotations

from typing import Any

from compliance.context import Context, finding
from compliance.rules import Rule
from compliance.text import Hit, find_hits, normalize, ocr_hits
from productreel.models import Finding


def _evidence(hit: Hit) -> dict[str, Any]:
    ev = {k: v for k, v in hit.source.evidence.items() if k != "frame"}
    fr = hit.source.evidence.get("frame")
    if fr is not None:
        # Point at the OCR line that holds the hit, with its box in original pixels.
        for item in fr.items:
            if hit.match in normalize(item.text):
                ev["box"] = list(item.box)
                ev["text"] = item.text
                break
    ev.setdefault("text", hit.source.text[:200])
    ev["match"] = hit.match
    return ev


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple] = set()
    out = []
    for f in findings:
        key = (f.rule, f.severity, f.evidence.get("input"), f.evidence.get("match"))
        if key in seen:
            continue
        seen.add(key)
        out.append(f)
    return out


def check_regex_any(rule: Rule, ctx: Context) -> list[Finding]:
    """A finding for every distinct hit of the rule's pattern(s) in the inputs it reads."""
    patterns = rule.params.get("patterns") or [{"pattern": rule.pattern}]
    sources = ctx.text_sources(rule.inputs, rule)
    out: list[Finding] = []
    for p in patterns:
        if not p.get("pattern"):
            continue
        for src in sources:
            # OCR misreads look-alikes (l/I/1, 0/O): its text is matched as read and folded.
            search = ocr_hits if src.kind == "ocr" else find_hits
            for s, e, txt in search(p["pattern"], src.text, allow=rule.allow + p.get("allow", [])):
                hit = Hit(txt, s, e, src)
                msg = p.get("message") or rule.title or "banned claim"
                out.append(finding(rule, ctx, f"{msg}: {txt!r} in {src.kind}", severity=p.get("severity"), **_evidence(hit)))
    return _dedupe(out)


def _digits(text: str) -> str:
    import unicodedata

    return "".join(str(unicodedata.digit(c)) for c in text if unicodedata.digit(c, None) is not None)


def check_regex_requires(rule: Rule, ctx: Context) -> list[Finding]:
    """A hit needs the ``requires`` pattern (or the LocalizedProduct field ``requires_lp``) in the same scope."""
    requires = rule.params.get("requires")
    scope = rule.params.get("scope", "frame")
    lp_field = rule.params.get("requires_lp")
    lp_digits = ""
    if lp_field and ctx.lp is not None and getattr(ctx.lp, lp_field, None):
        lp_digits = _digits(getattr(ctx.lp, lp_field))
    sources = ctx.text_sources(rule.inputs, rule)

    def satisfied(texts: list[str]) -> bool:
        for t in texts:
            if requires and find_hits(requires, t):
                return True
            if lp_digits and lp_digits in _digits(t):
                return True
        return False

    clip_ok = satisfied([s.text for s in sources]) if scope == "clip" else None
    out: list[Finding] = []
    if rule.params.get("struck_price") and "ocr" in rule.inputs and ctx.info is not None:
        from compliance.price import struck_prices

        for fr, item in struck_prices(ctx):
            if not (clip_ok if clip_ok is not None else satisfied([fr.text])):
                ev = {"input": "ocr", "time": round(fr.t, 2), "box": list(item.box), "text": item.text, "match": f"struck {item.text}",
                      "requires": requires}
                out.append(finding(rule, ctx, f"{rule.title or 'claim needs a qualifier'}: {item.text!r} struck through on screen without it", **ev))
    for src in sources:
        search = ocr_hits if src.kind == "ocr" else find_hits
        for s, e, txt in search(rule.pattern or "", src.text, allow=rule.allow):
            ok = clip_ok if clip_ok is not None else satisfied([src.text])
            if not ok:
                ev = _evidence(Hit(txt, s, e, src))
                ev["requires"] = requires
                msg = rule.title or "claim needs a qualifier"
                out.append(finding(rule, ctx, f"{msg}: {txt!r} in {src.kind} without it", **ev))
    return _dedupe(out)
