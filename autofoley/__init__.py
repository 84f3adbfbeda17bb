"""autofoley: score a whole video with sound effects from your own SFX library."""

__version__ = "0.1.0"
