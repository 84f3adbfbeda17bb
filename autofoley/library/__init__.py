"""The SFX library: scanning, metadata, takes, and the vectors that stand for each sound."""
