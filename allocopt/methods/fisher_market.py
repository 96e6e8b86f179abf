"""Method table of the fisher_market problem (being written)."""
