"""From the composed Hydra config to objects: its resolvers, its checks, and building from it."""
