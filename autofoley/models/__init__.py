"""Models: the registry, the CLIP encoder, audio encoders and their backbones."""
