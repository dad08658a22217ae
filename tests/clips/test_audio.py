"""Audio: voice backends, the self-made music bed, ducking and loudness normalisation."""

from __future__ import annotations

import shutil

import numpy as np
import pyloudnorm
import pytest

from clips.audio import RATE, SilentVoice, duck_envelope, make_soundtrack, music_bed, music_names, normalize, speak, true_peak


def test_music_beds_are_deterministic_stereo_and_not_silent():
    assert "calm-pad" in music_names()
    a = music_bed("calm-pad", 2.0)
    b = music_bed("calm-pad", 2.0)
    assert a.shape == (2 * RATE, 2) and np.array_equal(a, b)
    assert np.abs(a).max() > 0.01


def test_normalize_hits_loudness_target_and_true_peak_ceiling():
    x = music_bed("bright-pluck", 3.0) * 3.0
    y, lufs, tp = normalize(x, -16.0, -1.0)
    assert abs(pyloudnorm.Meter(RATE).integrated_loudness(y) + 16.0) < 0.5
    assert true_peak(y) <= -1.0


def test_duck_envelope_lowers_music_only_while_the_voice_speaks():
    g = duck_envelope([(1.0, 2.0, "hi")], 4 * RATE)
    assert g[int(1.5 * RATE)] < 0.3 and g[int(3.5 * RATE)] > 0.99 and g[int(0.2 * RATE)] > 0.99


def test_speak_times_every_sentence_inside_the_duration():
    s = speak("One sentence. Another one here!", "en", 10.0, SilentVoice())
    assert [seg[2] for seg in s.segments] == ["One sentence.", "Another one here!"]
    assert all(0 <= a < b <= 10.0 for a, b, _ in s.segments)
    assert s.segments[0][1] <= s.segments[1][0]


@pytest.mark.skipif(not shutil.which("espeak-ng"), reason="espeak-ng is installed by deploy/system-deps.sh")
def test_espeak_voice_with_music_is_normalised():
    mix = make_soundtrack("Hallo. Das ist ein Test.", "de", 3.0, music="calm-pad", target_lufs=-14.0)
    assert mix.voice == "espeak-ng" and len(mix.segments) == 2
    assert mix.samples.shape == (3 * RATE, 2)
    assert abs(mix.lufs + 14.0) < 0.5 and mix.true_peak <= -1.0
