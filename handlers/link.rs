//! Build script of every handler: link the Lambda binary as a fixed-address executable
//! rather than a position-independent one (as Go links its Lambda functions by default).
//! A PIE must be relocated each time it starts: the 24 MB worker has 55 k relative
//! relocations, and applying them writes to — and so copies — every page of its 760 KB of
//! read-only-after-relocation data. That was 188 of the worker's 673 start-up page faults,
//! and the loader's relocation pass (about 0.12 ms) besides (BENCHMARKS.md, issue 16). The
//! cost is that the executable's own image is not randomised (libraries, heap and stacks
//! still are).
fn main() {
    println!("cargo:rustc-link-arg-bins=-no-pie");
}
