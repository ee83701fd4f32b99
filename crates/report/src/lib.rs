//! wsspec-report (in progress).
