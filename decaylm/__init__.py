"""decaylm: learn how an mRNA's sequence sets its rate of degradation from MPRA time courses."""

__version__ = "0.1.0"
