"""`cachewatch demo`: local servers, a realistic workload, and the UIs watching them."""
