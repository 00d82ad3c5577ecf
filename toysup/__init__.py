"""toysup: train toy models of superposition (torch; CUDA when present, CPU otherwise)."""
