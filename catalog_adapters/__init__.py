"""Catalog adapters: read a source (file, API, feed) into `Product`s, one module per source."""
