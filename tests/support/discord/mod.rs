//! A local Discord for tests (being written).
