"""Building an audio encoder: curate pairs, train, evaluate retrieval."""
