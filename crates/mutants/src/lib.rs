//! wsspec-mutants (in progress).
