//! Discord REST client for channel messages (being written).
