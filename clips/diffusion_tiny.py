"""Tiny random pipelines of each diffusion family (LTX-Video, Wan, LTX-2, HunyuanVideo-1.5, SkyReels-V2, SANA-Video), for smoke tests without weights.

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

# Tiny pipelines by name: the families of clips/diffusion_families.yaml, and wan22 (a Wan 2.2 TI2V-style
# checkpoint of the wan family: one model for both tasks).
FAMILIES = ("ltx", "wan", "wan22", "ltx2", "hunyuanvideo15", "skyreels_v2", "sana_video")
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


def _wan22_pipeline(seed: int):
    """Wan 2.2 TI2V-style: one 16-channel model for both tasks, the photo as the first latent frame (expand_timesteps)."""
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
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=16, out_channels=16,
        text_dim=32, freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32,
    )
    scheduler = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=5.0)
    return WanImageToVideoPipeline(
        tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, scheduler=scheduler, transformer=transformer,
        image_encoder=None, image_processor=None, transformer_2=None, expand_timesteps=True,
    )


def _ltx2_pipeline(seed: int):
    import torch
    from diffusers import (
        AutoencoderKLLTX2Audio,
        AutoencoderKLLTX2Video,
        FlowMatchEulerDiscreteScheduler,
        LTX2ImageToVideoPipeline,
        LTX2VideoTransformer3DModel,
    )
    from diffusers.pipelines.ltx2 import LTX2TextConnectors
    from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    tokenizer = build_tokenizer()
    hidden, layers = 32, 2
    torch.manual_seed(seed)
    # The pipeline reads only the hidden states of every layer: a text-only Gemma 3 stands in for the
    # real Gemma 3 (conditional generation) encoder, with no vision tower to build.
    text_encoder = Gemma3ForCausalLM(Gemma3TextConfig(
        vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=32, num_hidden_layers=layers,
        num_attention_heads=4, num_key_value_heads=1, head_dim=8, max_position_embeddings=256, sliding_window=64,
        pad_token_id=0, eos_token_id=1, bos_token_id=1,
    ))
    torch.manual_seed(seed)
    transformer = LTX2VideoTransformer3DModel(
        in_channels=4, out_channels=4, patch_size=1, patch_size_t=1, num_attention_heads=2, attention_head_dim=8,
        cross_attention_dim=16, audio_in_channels=4, audio_out_channels=4, audio_num_attention_heads=2,
        audio_attention_head_dim=4, audio_cross_attention_dim=8, num_layers=2, qk_norm="rms_norm_across_heads",
        caption_channels=hidden, rope_double_precision=False, rope_type="split",
    )
    torch.manual_seed(seed)
    connectors = LTX2TextConnectors(
        caption_channels=hidden, text_proj_in_factor=layers + 1,
        video_connector_num_attention_heads=4, video_connector_attention_head_dim=8, video_connector_num_layers=1,
        video_connector_num_learnable_registers=None, audio_connector_num_attention_heads=4,
        audio_connector_attention_head_dim=8, audio_connector_num_layers=1, audio_connector_num_learnable_registers=None,
        connector_rope_base_seq_len=32, rope_theta=10000.0, rope_double_precision=False,
        causal_temporal_positioning=False, rope_type="split",
    )
    torch.manual_seed(seed)
    vae = AutoencoderKLLTX2Video(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8,), decoder_block_out_channels=(8,),
        layers_per_block=(1,), decoder_layers_per_block=(1, 1), spatio_temporal_scaling=(True,),
        decoder_spatio_temporal_scaling=(True,), decoder_inject_noise=(False, False), downsample_type=("spatial",),
        upsample_residual=(False,), upsample_factor=(1,), timestep_conditioning=False, patch_size=1, patch_size_t=1,
        encoder_causal=True, decoder_causal=False,
    )
    torch.manual_seed(seed)
    audio_vae = AutoencoderKLLTX2Audio(
        base_channels=4, output_channels=2, ch_mult=(1,), num_res_blocks=1, attn_resolutions=None, in_channels=2,
        resolution=32, latent_channels=2, norm_type="pixel", causality_axis="height", dropout=0.0,
        mid_block_add_attention=False, sample_rate=16000, mel_hop_length=160, is_causal=True, mel_bins=8,
    )
    torch.manual_seed(seed)
    vocoder = LTX2Vocoder(
        in_channels=2 * 8, hidden_channels=32, out_channels=2, upsample_kernel_sizes=[4, 4], upsample_factors=[2, 2],
        resnet_kernel_sizes=[3], resnet_dilations=[[1, 3, 5]], leaky_relu_negative_slope=0.1, output_sampling_rate=16000,
    )
    return LTX2ImageToVideoPipeline(
        transformer=transformer, vae=vae, audio_vae=audio_vae, scheduler=FlowMatchEulerDiscreteScheduler(),
        text_encoder=text_encoder, tokenizer=tokenizer, connectors=connectors, vocoder=vocoder,
    )


# The Qwen2.5-VL chat template reduced to what HunyuanVideo-1.5's prompt encoder asks of it.
_CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)


def _hunyuanvideo15_pipeline(seed: int):
    import torch
    from diffusers import (
        AutoencoderKLHunyuanVideo15,
        FlowMatchEulerDiscreteScheduler,
        HunyuanVideo15ImageToVideoPipeline,
        HunyuanVideo15Transformer3DModel,
    )
    from diffusers.guiders import ClassifierFreeGuidance
    from transformers import (
        ByT5Tokenizer,
        Qwen2_5_VLTextConfig,
        Qwen2_5_VLTextModel,
        SiglipImageProcessor,
        SiglipVisionConfig,
        SiglipVisionModel,
        T5Config,
        T5EncoderModel,
    )

    # The prompt is padded to 1000 tokens after a 108-token system prompt, as the real encoder's is.
    tokenizer = build_tokenizer(model_max_length=2048)
    tokenizer.chat_template = _CHAT_TEMPLATE
    torch.manual_seed(seed)
    text_encoder = Qwen2_5_VLTextModel(Qwen2_5_VLTextConfig(
        vocab_size=len(tokenizer), hidden_size=16, intermediate_size=16, num_hidden_layers=3, num_attention_heads=2,
        num_key_value_heads=2, rope_scaling={"mrope_section": [1, 1, 2], "rope_type": "default", "type": "default"},
        rope_theta=1e6, pad_token_id=0, bos_token_id=1, eos_token_id=1,
    ))
    torch.manual_seed(seed)
    # ByT5 reads quoted text in the prompt (glyphs); its tokenizer is bytes, so it needs no vocabulary file.
    text_encoder_2 = T5EncoderModel(T5Config(
        vocab_size=384, d_model=32, d_kv=8, d_ff=37, num_layers=1, num_heads=4, relative_attention_num_buckets=8,
        is_encoder_decoder=False,
    ))
    torch.manual_seed(seed)
    image_encoder = SiglipVisionModel(SiglipVisionConfig(
        hidden_size=12, intermediate_size=16, num_hidden_layers=1, num_attention_heads=2, image_size=28, patch_size=14,
    ))
    torch.manual_seed(seed)
    transformer = HunyuanVideo15Transformer3DModel(
        in_channels=9, out_channels=4, num_attention_heads=2, attention_head_dim=8, num_layers=2, num_refiner_layers=1,
        mlp_ratio=2.0, patch_size=1, patch_size_t=1, text_embed_dim=16, text_embed_2_dim=32, image_embed_dim=12,
        rope_axes_dim=(2, 2, 4), target_size=64, task_type="i2v",
    )
    torch.manual_seed(seed)
    vae = AutoencoderKLHunyuanVideo15(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(16, 16), layers_per_block=1,
        spatial_compression_ratio=4, temporal_compression_ratio=4, downsample_match_channel=False,
        upsample_match_channel=False,
    )
    return HunyuanVideo15ImageToVideoPipeline(
        text_encoder=text_encoder, tokenizer=tokenizer, transformer=transformer, vae=vae,
        scheduler=FlowMatchEulerDiscreteScheduler(shift=7.0), text_encoder_2=text_encoder_2, tokenizer_2=ByT5Tokenizer(),
        guider=ClassifierFreeGuidance(guidance_scale=6.0), image_encoder=image_encoder,
        feature_extractor=SiglipImageProcessor(size={"height": 28, "width": 28}),
    )


def _sana_video_pipeline(seed: int):
    import torch
    from diffusers import AutoencoderKLWan, FlowMatchEulerDiscreteScheduler, SanaImageToVideoPipeline, SanaVideoTransformer3DModel
    from transformers import Gemma2Config, Gemma2Model

    tokenizer = build_tokenizer(model_max_length=512)
    torch.manual_seed(seed)
    text_encoder = Gemma2Model(Gemma2Config(
        head_dim=16, hidden_size=8, intermediate_size=64, max_position_embeddings=8192, num_attention_heads=2,
        num_hidden_layers=1, num_key_value_heads=2, vocab_size=len(tokenizer), pad_token_id=0, eos_token_id=1,
        bos_token_id=1,
    ))
    torch.manual_seed(seed)
    vae = AutoencoderKLWan(
        base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1, temperal_downsample=[False, True, True]
    )
    torch.manual_seed(seed)
    transformer = SanaVideoTransformer3DModel(
        in_channels=16, out_channels=16, num_attention_heads=2, attention_head_dim=12, num_layers=2,
        num_cross_attention_heads=2, cross_attention_head_dim=12, cross_attention_dim=24, caption_channels=8,
        mlp_ratio=2.5, dropout=0.0, attention_bias=False, sample_size=8, patch_size=(1, 2, 2),
        norm_elementwise_affine=False, norm_eps=1e-6, qk_norm="rms_norm_across_heads", rope_max_seq_len=32,
    )
    return SanaImageToVideoPipeline(
        tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, transformer=transformer,
        scheduler=FlowMatchEulerDiscreteScheduler(),
    )


def _skyreels_v2_pipeline(seed: int):
    import torch
    from diffusers import (
        AutoencoderKLWan,
        SkyReelsV2ImageToVideoPipeline,
        SkyReelsV2Transformer3DModel,
        UniPCMultistepScheduler,
    )
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection, UMT5Config, UMT5EncoderModel

    tokenizer = build_tokenizer()
    torch.manual_seed(seed)
    text_encoder = UMT5EncoderModel(_encoder_config(UMT5Config, len(tokenizer)))
    torch.manual_seed(seed)
    vae = AutoencoderKLWan(
        base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1, temperal_downsample=[False, True, True]
    )
    torch.manual_seed(seed)
    image_encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=4, projection_dim=4, num_hidden_layers=2, num_attention_heads=2, image_size=32,
        intermediate_size=16, patch_size=1,
    ))
    torch.manual_seed(seed)
    # 16 noise + 4 mask + 16 condition channels, and the photo's CLIP embedding in cross-attention.
    transformer = SkyReelsV2Transformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=36, out_channels=16,
        text_dim=32, freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32, image_dim=4,
    )
    scheduler = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=5.0)
    # The pipeline only calls the processor on images: the image half of a CLIPProcessor is enough.
    return SkyReelsV2ImageToVideoPipeline(
        tokenizer=tokenizer, text_encoder=text_encoder, image_encoder=image_encoder,
        image_processor=CLIPImageProcessor(crop_size=32, size=32), transformer=transformer, vae=vae,
        scheduler=scheduler,
    )


_BUILDERS = {"ltx": _ltx_pipeline, "wan": _wan_pipeline, "wan22": _wan22_pipeline, "ltx2": _ltx2_pipeline,
             "hunyuanvideo15": _hunyuanvideo15_pipeline, "skyreels_v2": _skyreels_v2_pipeline,
             "sana_video": _sana_video_pipeline}
# Guidance of each tiny card: LTX-2 without classifier-free guidance keeps a CPU step to one pass.
_GUIDANCE = {"ltx": 3.0, "wan": 5.0, "wan22": 5.0, "ltx2": 1.0, "hunyuanvideo15": 6.0, "skyreels_v2": 5.0, "sana_video": 6.0}


def build_tiny_pipeline(directory: Path, family: str = "ltx", seed: int = 0) -> Path:
    """Write a tiny seeded random image-to-video pipeline of ``family`` (one of FAMILIES) to ``directory``."""
    if family not in FAMILIES:
        raise InputError(f"unknown model family {family!r}: choose one of {', '.join(FAMILIES)}")
    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()) and not (directory / "model_index.json").is_file():
        raise InputError(f"{directory} is not empty and holds no pipeline: choose a new folder", where=str(directory))
    pipe = _BUILDERS[family](seed)
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
            "guidance": _GUIDANCE[family],
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
