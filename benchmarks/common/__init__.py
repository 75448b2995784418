"""The harness the benchmark scripts share; each script keeps only what it measures.

- ``paths``: where data, evaluation sets and results live;
- ``machine``: the machine, the date and the command of a measurement;
- ``timing``: percentiles, cold searches, alternatives timed in turn;
- ``tables``: markdown tables and their cells;
- ``results``: RESULTS.md sections and results files;
- ``corpora``: XQuAD-de as article files, its English questions, the seed questions;
- ``metrics``: gold ranks, hit@k, MRR@10, answer in highlight, recall;
- ``args``: command-line pieces;
- ``derived``: generated passages and their derived vectors, and a timing embedder;
- ``tiers``: the generated corpora the performance benchmarks share (pool, tiers, real
  vectors);
- ``pages``: generated news articles in HTML, Markdown, text and PDF (parsing).

The scripts run as ``python benchmarks/X.py``, so ``benchmarks/`` is on the path and
this package imports as ``common``; a script imports from its modules, e.g.
``from common.timing import interleaved``.
"""
