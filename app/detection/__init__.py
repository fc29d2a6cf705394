"""Detection algorithms: plain arrays and dataclasses in, plain results out."""
