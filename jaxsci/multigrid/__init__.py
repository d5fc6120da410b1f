"""jaxsci.multigrid (under construction)."""
