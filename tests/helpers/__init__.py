"""What several test modules share: synthetic datasets, running the CLI, composing configs."""
