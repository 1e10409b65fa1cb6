"""Matplotlib figures of how the network reads, and their export from TensorBoard to PNG."""
