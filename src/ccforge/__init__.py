"""ccforge: Common Crawl WARC files to clean, deduplicated, tokenized pretraining data."""

__version__ = "0.1.0"
