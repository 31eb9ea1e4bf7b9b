"""revlib: shared data, metric and model code for the revenue research notebooks."""

__version__ = "0.1.0"
