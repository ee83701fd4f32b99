//! wsspec-runner (in progress).
