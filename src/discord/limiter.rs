//! Discord rate limits (being written).
