"""jaxsci.ssm (under construction)."""
