"""DVLA auction results import: the auctioneer's Excel export and the shared CSV layout into ``sales``."""
