"""Reading media: probing films, sampling frames, decoding audio."""
