"""The cache and fan-out core: pure, synchronous where it mutates, no network imports."""
