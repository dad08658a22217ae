"""Clips: storyboard -> MP4 with the compose renderer (and the diffusion generator on GPUs)."""
