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


def _tiny_vits(folder):
    """A seeded, randomly initialised VITS model and tokenizer saved locally (nothing downloaded)."""
    import json

    import torch
    from transformers import VitsConfig, VitsModel, VitsTokenizer

    vocab = {c: i for i, c in enumerate(" abcdefghijklmnopqrstuvwxyz.,!?'-")}
    (folder / "vocab.json").write_text(json.dumps(vocab))
    VitsTokenizer(vocab_file=str(folder / "vocab.json"), language=None, add_blank=True, normalize=True,
                  phonemize=False).save_pretrained(folder)
    cfg = VitsConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2, ffn_dim=32,
                     flow_size=16, spectrogram_bins=17, upsample_initial_channel=16, upsample_rates=[4, 4],
                     upsample_kernel_sizes=[8, 8], resblock_kernel_sizes=[3], resblock_dilation_sizes=[[1, 3]],
                     prior_encoder_num_flows=1, prior_encoder_num_wavenet_layers=1, posterior_encoder_num_wavenet_layers=1,
                     duration_predictor_filter_channels=16, depth_separable_num_layers=1, sampling_rate=16000)
    torch.manual_seed(0)
    VitsModel(cfg).eval().save_pretrained(folder)


@pytest.mark.slow
def test_mms_voice_from_a_local_model_directory(tmp_path, monkeypatch):
    from clips.audio import MmsVoice
    from clips.voices import voice_backend

    _tiny_vits(tmp_path)
    monkeypatch.setenv("PRODUCTREEL_VOICE_MODEL", str(tmp_path))
    monkeypatch.delenv("PRODUCTREEL_VOICE", raising=False)
    backend = voice_backend()
    assert isinstance(backend, MmsVoice)
    s = speak("Hello there. Good bye.", "en", 5.0, backend)  # a lower-case word after "." continues a sentence (UAX #29)
    assert s.backend == "mms" and len(s.segments) == 2
    assert np.abs(s.samples).max() > 0  # the model made sound, resampled to 48 kHz
