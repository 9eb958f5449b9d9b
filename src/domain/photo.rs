//! Photos as uploaded: decoded, turned upright, resized and re-encoded by the `photo` crate.

pub use photo::*;
