"""Camera-side library: calibration to the ground, detection and rules (no Flask in its core)."""
