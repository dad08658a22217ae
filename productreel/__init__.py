"""productreel: product catalogs into localized, compliance-checked product videos."""

__version__ = "0.1.0"
