"""Auction events: administrators add the DVLA auction events whose results the scraper fetches."""
