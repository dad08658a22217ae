"""Tiny random pipelines of the LTX-Video and Wan families, for smoke tests without weights.

They are saved with ``save_pretrained`` like a real checkpoint, so they load through exactly the
same code (model_index.json, subfolders, safetensors); only their size and their random weights
differ. A ``productreel.json`` card beside model_index.json says they are tiny and gives the
small generation defaults (area, frame rate, steps) that keep a CPU run to seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from clips.diffusion_card import CARD_FILE, tiny_card
from productreel.errors import InputError

FAMILIES = ("ltx", "wan")
CARD = "productreel.json"

# Words that prompt templates use, so the tiny tokenizer splits real prompts into real pieces.
_WORDS = (
    "a an the of in on at with and or for to from by product photo photograph studio light lighting soft "
    "warm cool daylight sunlight shadow table wooden marble linen kitchen desk shelf window background "
    "bottle mug cup box bag shoe watch glass cream jar pack bowl plate white black red blue green gold "
    "silver close up slow slowly turn turning rotate pour pouring unbox unboxing hand hands person people "
    "no text logo water coffee tea blurry low quality distorted watermark deformed cinematic camera "
    "motion smooth gentle macro detail details shot scene"
).split()
_CHARS = list("abcdefghijklmnopqrstuvwxyz0123456789.,!?-'\"()&%$€£¥:;/+*#@")


def build_tokenizer(model_max_length: int = 64):
    """A small T5-style Unigram tokenizer built with ``tokenizers`` (pad=0, eos=1, unk=2)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    vocab += [(f"▁{w}", -3.0) for w in _WORDS]
    vocab += [(c, -5.0) for c in _CHARS] + [(f"▁{c}", -5.5) for c in _CHARS]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=2))
    tokenizer.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.decoder = decoders.Metaspace()
    # T5 appends </s> to every sequence; the pipelines' attention masks rely on it.
    tokenizer.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", 1)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token="<pad>",
        eos_token="</s>",
        unk_token="<unk>",
        model_max_length=model_max_length,
    )


def _encoder_config(config_cls, vocab_size: int):
    return config_cls(
        vocab_size=vocab_size,
        d_model=32,
        d_kv=8,
        d_ff=37,
        num_layers=2,
        num_heads=4,
        relative_attention_num_buckets=8,
        is_encoder_decoder=False,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
    )


def _ltx_pipeline(seed: int):
    import torch
    from diffusers import (
        AutoencoderKLLTXVideo,
        FlowMatchEulerDiscreteScheduler,
        LTXImageToVideoPipeline,
        LTXVideoTransformer3DModel,
    )
    from transformers import T5Config, T5EncoderModel

    tokenizer = build_tokenizer()
    torch.manual_seed(seed)
    text_encoder = T5EncoderModel(_encoder_config(T5Config, len(tokenizer)))
    torch.manual_seed(seed)
    transformer = LTXVideoTransformer3DModel(
        in_channels=8,
        out_channels=8,
        patch_size=1,
        patch_size_t=1,
        num_attention_heads=4,
        attention_head_dim=8,
        cross_attention_dim=32,
        num_layers=2,  # diffusers' block caches need a first and a last block
        caption_channels=32,
    )
    torch.manual_seed(seed)
    vae = AutoencoderKLLTXVideo(
        in_channels=3,
        out_channels=3,
        latent_channels=8,
        block_out_channels=(8, 8, 8, 8),
        decoder_block_out_channels=(8, 8, 8, 8),
        layers_per_block=(1, 1, 1, 1, 1),
        decoder_layers_per_block=(1, 1, 1, 1, 1),
        spatio_temporal_scaling=(True, True, False, False),
        decoder_spatio_temporal_scaling=(True, True, False, False),
        decoder_inject_noise=(False, False, False, False, False),
        upsample_residual=(False, False, False, False),
        upsample_factor=(1, 1, 1, 1),
        timestep_conditioning=False,
        patch_size=1,
        patch_size_t=1,
        encoder_causal=True,
        decoder_causal=False,
    )
    return LTXImageToVideoPipeline(
        transformer=transformer,
        vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(),
        text_encoder=text_encoder,
        tokenizer=tokenizer,
    )


def _wan_pipeline(seed: int):
    import torch
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanImageToVideoPipeline, WanTransformer3DModel
    from transformers import UMT5Config, UMT5EncoderModel

    tokenizer = build_tokenizer()
    torch.manual_seed(seed)
    text_encoder = UMT5EncoderModel(_encoder_config(UMT5Config, len(tokenizer)))
    torch.manual_seed(seed)
    vae = AutoencoderKLWan(
        base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1, temperal_downsample=[False, True, True]
    )
    torch.manual_seed(seed)
    # Wan 2.2 A14B-style image-to-video (no CLIP image encoder): 16 noise + 4 mask + 16 condition channels.
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=12,
        in_channels=36,
        out_channels=16,
        text_dim=32,
        freq_dim=256,
        ffn_dim=32,
        num_layers=2,
        cross_attn_norm=True,
        qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32,
    )
    scheduler = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0)
    return WanImageToVideoPipeline(
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        vae=vae,
        scheduler=scheduler,
        transformer=transformer,
        image_encoder=None,
        image_processor=None,
        transformer_2=None,
    )


def build_tiny_pipeline(directory: Path, family: str = "ltx", seed: int = 0) -> Path:
    """Write a tiny seeded random image-to-video pipeline of ``family`` ("ltx" | "wan") to ``directory``."""
    if family not in FAMILIES:
        raise InputError(f"unknown model family {family!r}: choose one of {', '.join(FAMILIES)}")
    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()) and not (directory / "model_index.json").is_file():
        raise InputError(f"{directory} is not empty and holds no pipeline: choose a new folder", where=str(directory))
    pipe = _ltx_pipeline(seed) if family == "ltx" else _wan_pipeline(seed)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    try:
        pipe.save_pretrained(tmp, safe_serialization=True)
        card = {
            "tiny": True,
            "family": family,
            "seed": seed,
            "note": "random weights for smoke tests: pictures are noise and fidelity is not meaningful",
            # Small enough that a 2 s shot takes seconds on a CPU.
            "max_area": 64 * 64,
            "fps": 8,
            "max_frames": 17,
            "steps": 2,
            "guidance": 3.0 if family == "ltx" else 5.0,
            "max_sequence_length": 32,
            "fidelity_threshold": 0.0,
        }
        (tmp / CARD).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
        # A model card like a Hub checkpoint's: LIC-1 reads the licence of the weights from it.
        (tmp / CARD_FILE).write_text(tiny_card(family), encoding="utf-8")
        if directory.exists():
            shutil.rmtree(directory)
        os.replace(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return directory
