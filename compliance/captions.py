"""ACC-4/5: caption layout (lines, chars per line, event length, gaps) and reading speed per market."""

from __future__ import annotations

from compliance.context import Context, finding
from compliance.rules import Rule
from localization.subtitles import caption_chars, read_cues, reading_speed
from productreel.models import Finding

__all__ = ["check_layout", "check_reading_speed", "display_width", "read_cues"]


def display_width(text: str) -> float:
    """Characters as a reader counts them (localization.subtitles.caption_chars: one parser, one count)."""
    return float(caption_chars(text))


def check_layout(rule: Rule, ctx: Context) -> list[Finding]:
    """≤ 2 lines, ≤ the market's chars per line, events ≤ 7 s, gaps ≥ 2 frames."""
    cues = ctx.cues
    p = rule.params
    max_lines = int(p.get("max_lines", 2))
    cpl = ctx.market.caption_chars_per_line
    fps = (ctx.info or {}).get("avg_frame_rate") or (ctx.storyboard.fps if ctx.storyboard else 30) or 30
    out: list[Finding] = []
    prev_end = None
    for c in cues:
        lines = c.text.split("\n")
        ev = {"input": "captions", "time": [round(c.start, 2), round(c.end, 2)], "text": c.text}
        if len(lines) > max_lines:
            out.append(finding(rule, ctx, f"caption has {len(lines)} lines, over {max_lines}", measured=len(lines), expected=max_lines, fix="captions", **ev))
        longest = max(lines, key=display_width)
        if display_width(longest) > cpl:
            out.append(finding(rule, ctx, f"caption line of {int(display_width(longest))} chars, over {cpl}", measured=int(display_width(longest)), expected=cpl, fix="captions", **ev))
        if c.end - c.start < p.get("min_event_s", 5 / 6) - 1e-6:
            out.append(finding(rule, ctx, f"caption shown {c.end - c.start:.2f} s, under {p.get('min_event_s', 5 / 6):.2f} s", measured=round(c.end - c.start, 3), fix="captions", **ev))
        if c.end - c.start > p.get("max_event_s", 7.0):
            out.append(finding(rule, ctx, f"caption shown {c.end - c.start:.1f} s, over {p.get('max_event_s', 7.0)} s", measured=round(c.end - c.start, 2), fix="captions", **ev))
        if prev_end is not None and 0 < c.start - prev_end < p.get("min_gap_frames", 2) / fps - 1e-6:
            out.append(finding(rule, ctx, f"gap of {c.start - prev_end:.3f} s before caption, under {p.get('min_gap_frames', 2)} frames", measured=round(c.start - prev_end, 3), fix="captions", **ev))
        prev_end = c.end
    return out


def check_reading_speed(rule: Rule, ctx: Context) -> list[Finding]:
    """Characters per second of each caption within the market's limit (plus a little slack)."""
    limit = float(ctx.market.caption_chars_per_second) * (1 + float(rule.params.get("slack_ratio", 0.1)))
    out = []
    for c in ctx.cues:
        cps = reading_speed(c)
        if cps > limit:
            out.append(finding(rule, ctx, f"caption reads at {cps:.1f} chars/s, over {ctx.market.caption_chars_per_second:g}", input="captions", time=[round(c.start, 2), round(c.end, 2)], text=c.text, measured=round(cps, 2), expected=ctx.market.caption_chars_per_second, fix="captions"))
    return out
