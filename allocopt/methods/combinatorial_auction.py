"""Method table of the combinatorial_auction problem (being written)."""
