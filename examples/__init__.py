"""Small real samples (CSV catalogs, taxonomies) used by `labrun demo`, the docs and the tests."""
