"""From frames to placed sounds: scenes, frame embeddings, ranking, sync, beds."""
