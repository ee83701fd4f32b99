//! wsspec (in progress).
fn main() {}
