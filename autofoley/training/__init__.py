"""Building an audio encoder: curate pairs, train, evaluate retrieval.

curate.py (library + stock -> pairs folder; stock.py, splits.py, llm.py,
pairs.py), train.py (the training run; config.py, data.py, loss.py,
checkpoint.py), retrieval.py (``evaluate``; metrics.py), ablation.py.
"""
