"""Method table of the position_auction problem (being written)."""
