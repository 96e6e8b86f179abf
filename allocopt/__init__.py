"""allocopt: solver-backed allocation formulations."""
