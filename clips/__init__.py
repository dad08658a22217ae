"""Clips: storyboard -> MP4 with the compose renderer (and the diffusion generator on GPUs).

    storyboard.py   build_storyboard(): scenes, motion, overlays, timing for an ad or a tutorial
    compose.py      render(): the compose renderer (frames streamed into libx264, sidecars, metadata)
    layout.py       where the card and every text box go, and how each overlay looks (brand style)
    planes.py       Y'CbCr 4:2:0 frames, sub-pixel resampling, overlay blending (the hot path)
    audio.py        voice backends (espeak-ng, local MMS/VITS), music beds, ducking, loudness
    encode.py       FFmpeg commands (encode, mux) and the probe of a finished file (PyAV)
    profiles.py     brand kits (brands/*.yaml) and destination profiles (destinations.yaml)
    text.py         overlay text through localization.textdraw
    captions.py     SRT/WebVTT sidecars through localization.subtitles
    diffusion*.py   generated shots on GPUs (diffusers)
"""
