"""Captions: at most two lines, the market's characters per line, reading-speed timing, SRT/VTT."""

from __future__ import annotations

from pathlib import Path

import pytest

from localization.subtitles import chunk_text, make_cues, read_cues, reading_speed, srt_text, write_srt, write_vtt

EN = (
    "The Acme travel mug keeps your coffee hot for six hours, anywhere you go. "
    "Leak-proof lid, one-hand opening, and a body that fits every cup holder. Shop now."
)
JA = "トラベルマグ「アクメ」は、コーヒーを6時間温かく保ちます。価格は￥7,480（税込）です。今すぐ購入。"
ZH = "这款旅行杯可以让咖啡保温六个小时，防漏杯盖，单手开启。立即购买。"


@pytest.mark.parametrize(("code", "text"), [("us", EN), ("de", EN), ("jp", JA), ("cn", ZH), ("sa", "كوب السفر يحافظ على قهوتك ساخنة لمدة ست ساعات، في أي مكان. تسوق الآن.")])
def test_cues_fit_two_lines_of_the_markets_width(markets, code, text):
    market = markets[code]
    cues = make_cues(text, 30.0, market)
    assert cues
    for cue in cues:
        lines = cue.text.split("\n")
        assert len(lines) <= 2
        assert all(len(line) <= market.caption_chars_per_line for line in lines), cue.text
    # Nothing is lost: every character of the text is in some cue.
    joined = "".join(c.text.replace("\n", "").replace(" ", "") for c in cues)
    assert joined == text.replace(" ", "")


def test_cues_split_at_sentences_then_clauses(markets):
    chunks = chunk_text(EN, markets["us"])
    assert chunks[0].endswith("anywhere you go.") and chunks[-1] == "Shop now."
    ja = chunk_text(JA, markets["jp"])
    assert ja[0] == "トラベルマグ「アクメ」は、"  # a clause boundary, not a cut mid-word
    assert "￥7,480" in "".join(ja)  # the price stays whole


def test_reading_speed_is_kept_when_there_is_time(markets):
    for code, text in [("us", EN), ("jp", JA), ("cn", ZH)]:
        market = markets[code]
        cues = make_cues(text, 60.0, market)
        assert all(reading_speed(c) <= market.caption_chars_per_second + 0.01 for c in cues), code
        assert all(c.end - c.start <= 7.0 for c in cues)
        assert all(b.start - a.end >= 0.079 for a, b in zip(cues, cues[1:]))


def test_short_clips_share_the_time_evenly(markets):
    cues = make_cues(EN, 6.0, markets["us"])
    assert cues[0].start == 0.0 and cues[-1].end <= 6.0
    speeds = [reading_speed(c) for c in cues]
    assert max(speeds) - min(speeds) < 3.0


def test_voice_segments_set_the_timing(markets):
    segments = [(0.5, 2.0, "Hello there. This is a mug."), (2.5, 4.0, "Buy it now.")]
    cues = make_cues("", 4.0, markets["us"], segments=segments)
    # A segment that fits one cue stays one cue (two 0.7 s cues would flash by).
    assert [c.text for c in cues] == ["Hello there. This is a mug.", "Buy it now."]
    assert cues[0].start == 0.5 and cues[0].end <= 2.0 and cues[1].start == 2.5 and cues[1].end == 4.0
    long = [(0.0, 9.0, EN)]
    cues = make_cues("", 9.0, markets["us"], segments=long)
    assert len(cues) == 3 and cues[0].text.endswith("anywhere you go.") and cues[-1].end == 9.0


def test_srt_and_vtt_round_trip(tmp_path: Path, markets):
    cues = make_cues(JA, 12.0, markets["jp"])
    srt = write_srt(cues, tmp_path / "a" / "clip.srt")
    vtt = write_vtt(cues, tmp_path / "a" / "clip.vtt")
    assert srt.read_text(encoding="utf-8").startswith("1\n00:00:00,000 --> ")
    assert vtt.read_text(encoding="utf-8").startswith("WEBVTT\n\n00:00:00.000 --> ")
    for path in (srt, vtt):
        back = read_cues(path)
        assert [(round(c.start, 3), round(c.end, 3), c.text) for c in back] == [(c.start, c.end, c.text) for c in cues]
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["clip.srt", "clip.vtt"]  # no temp files left


def test_long_times_format_hours():
    from productreel.models import Cue

    assert "01:02:03,456 --> 01:02:04,000" in srt_text([Cue(start=3723.456, end=3724.0, text="x")])


def test_rtl_caption_lines_start_with_a_right_to_left_mark(tmp_path: Path, markets):
    cues = make_cues("Acme كوب السفر. تسوق الآن.", 4.0, markets["sa"])
    text = srt_text(cues)
    assert "\n\u200fAcme كوب السفر." in text and "\n\u200fتسوق الآن." in text
    path = write_vtt(cues, tmp_path / "c.vtt")
    assert [c.text for c in read_cues(path)] == [c.text for c in cues]


def test_a_word_longer_than_a_line_is_cut_not_overflowing(markets):
    cues = make_cues("Visit " + "x" * 100 + " today.", 10.0, markets["us"])
    for cue in cues:
        assert all(len(line) <= 42 for line in cue.text.split("\n")) and cue.text.count("\n") <= 1
    assert "".join(c.text.replace("\n", "").replace(" ", "") for c in cues) == "Visit" + "x" * 100 + "today."


def test_very_short_voice_segments_share_a_cue(markets):
    segments = [(0.0, 0.3, "Mug."), (0.35, 0.6, "Blue."), (0.65, 2.0, "Holds 350 ml of coffee.")]
    cues = make_cues("", 2.0, markets["us"], segments=segments)
    assert cues[0].text == "Mug. Blue. Holds 350 ml of coffee." and cues[0].start == 0.0 and cues[0].end == 2.0
