"""Streaming rows (plain Python): the stream's settings, its messages, the rolling output parts and the stats.

The AWS side (receiving, answering, the ledger) is ``aws/stream_worker.py``; the DAG is ``batch_stream``.
"""
