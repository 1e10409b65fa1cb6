"""A run around its Trainer: process settings, the checkpoints it reads, the records it writes."""
