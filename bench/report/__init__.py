"""The HTML + PNG report over a results directory (it reads only the store's files)."""
