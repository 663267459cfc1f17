"""Local cluster tooling: launcher, chaos harness, load generation, demos and benchmarks."""
